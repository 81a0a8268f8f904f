package mockapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// resourcePrefix starts the paths of the cacheable resources.
const resourcePrefix = "/resources/"

// MaxResourceSize is the largest Size a resource's body may be padded to:
// 8 MiB.
const MaxResourceSize = 8 << 20

// resourceVary is the Vary of every resource answer: the body and the
// ETag depend on Accept and on the credential, which comes from
// Authorization or X-Api-Key (the api_key parameter is in the URL).
const resourceVary = "Accept, Authorization, X-Api-Key"

// Resource is one resource under /resources/ as the mock serves it now.
// A resource exists from its first request or change, at version 1.
type Resource struct {
	// Name is the path after /resources/.
	Name string `json:"name"`
	// Version counts the resource's versions, from 1; each change makes
	// a new one.
	Version int `json:"version"`
	// Modified is when the version was made, in UTC and whole seconds:
	// its Last-Modified. It is always at least a second after the
	// previous version's, so that If-Modified-Since tells every version
	// apart.
	Modified time.Time `json:"modified"`
	// Size is the length in bytes the body is padded to; 0 (or a size
	// below the bare body's) means the bare body.
	Size int `json:"size"`
}

// ResourceCounts count the answers of GET and HEAD /resources/{name} that
// the limit accepted. Refused, forced and random error answers count only
// in Counts; an answer 400 for a bad parameter counts nowhere here.
type ResourceCounts struct {
	// OK counts the 200s, HEAD included.
	OK int `json:"ok"`
	// NotModified counts the 304s, HEAD included.
	NotModified int `json:"not_modified"`
	// Head counts the HEAD requests, which count in OK or NotModified
	// too.
	Head int `json:"head"`
	// Cancelled counts the requests whose client left before the answer
	// ended (their request context was cancelled): during Config.Latency
	// or mid-stream. They are logged with status 499.
	Cancelled int `json:"cancelled"`
}

// ResourceStats are one resource's current version and counters, in
// total and per cred id.
type ResourceStats struct {
	Resource
	ResourceCounts
	// Credentials counts each credential's answers, by cred id.
	Credentials map[string]ResourceCounts `json:"credentials"`
}

// resourceState is a resource and its counters. The Server guards it.
type resourceState struct {
	Resource
	counts ResourceCounts
	creds  map[string]ResourceCounts
}

// resourceView is one version of a resource as one request sees it: what
// its body and validators are made of.
type resourceView struct {
	Resource
	credID, accept string
	// etag is "" with Cache.NoETag; modified is zero with
	// Cache.NoLastModified.
	etag     string
	modified time.Time
}

// resourceName returns the name of the resource r asks for: a GET or HEAD
// of /resources/{name}.
func resourceName(r *http.Request) (string, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "", false
	}
	name, ok := strings.CutPrefix(r.URL.Path, resourcePrefix)
	return name, ok && name != ""
}

// resource returns the resource called name, creating it at version 1,
// modified at now, if need be. The caller holds mu.
func (s *Server) resource(name string, now time.Time) *resourceState {
	res, ok := s.resources[name]
	if !ok {
		res = &resourceState{Resource: Resource{Name: name, Version: 1, Modified: now.Truncate(time.Second)},
			creds: make(map[string]ResourceCounts)}
		s.resources[name] = res
	}
	return res
}

// viewResource prepares the accepted resource request a: its view of the
// resource, whether it is answered 304 and, when a 304 is free, the quota
// given back. The caller holds mu.
func (s *Server) viewResource(c *credState, a *admission, r *http.Request, name string) {
	res := s.resource(name, a.now)
	v := &resourceView{Resource: res.Resource, credID: a.credID, accept: strings.Join(r.Header.Values("Accept"), ", ")}
	if !s.cfg.Cache.NoETag {
		v.etag = v.entityTag(s.cfg.Cache.WeakETag)
	}
	if !s.cfg.Cache.NoLastModified {
		v.modified = v.Modified
	}
	a.resource = v
	a.notModified = notModified(r.Header, v.etag, v.modified)
	if a.notModified && a.limited && s.cfg.Cache.free304(s.cfg.Dialect) {
		a.decision = c.limiter.refund(a.now)
	}
}

// entityTag returns the view's ETag: a hash of everything its body is
// made of, so that it differs between versions, sizes, credentials and
// Accept headers.
func (v *resourceView) entityTag(weak bool) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d\x00%d\x00%s\x00%s",
		v.Name, v.Version, v.Modified.Unix(), v.Size, v.credID, v.accept))
	tag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if weak {
		return "W/" + tag
	}
	return tag
}

// resourceBody is the JSON body of a resource.
type resourceBody struct {
	Name     string    `json:"name"`
	Version  int       `json:"version"`
	Modified time.Time `json:"modified"`
	// CredID names who asked (see CredID), never the credential.
	CredID string `json:"cred_id"`
	Accept string `json:"accept"`
	// Padding pads the body to Resource.Size bytes.
	Padding string `json:"padding"`
}

// body returns the view's JSON body, padded to Size bytes.
func (v *resourceView) body() []byte {
	b := resourceBody{Name: v.Name, Version: v.Version, Modified: v.Modified, CredID: v.credID, Accept: v.accept}
	bare := mustJSON(b)
	if pad := v.Size - len(bare); pad > 0 {
		b.Padding = strings.Repeat(".", pad)
		return mustJSON(b)
	}
	return bare
}

// mustJSON returns v as JSON, for values that always encode.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("mockapi: " + err.Error())
	}
	return b
}

// cacheControl returns the Cache-Control that c describes.
func (c Cache) cacheControl() string {
	parts := []string{"private"}
	if c.Public {
		parts[0] = "public"
	}
	if !c.NoMaxAge {
		age := DefaultCacheMaxAge
		if c.MaxAge != nil {
			age = *c.MaxAge
		}
		secs := strconv.FormatInt(int64(age/time.Second), 10)
		parts = append(parts, "max-age="+secs, "s-maxage="+secs)
	}
	for _, d := range []struct {
		on   bool
		name string
	}{{c.NoCache, "no-cache"}, {c.NoStore, "no-store"}, {c.MustRevalidate, "must-revalidate"}} {
		if d.on {
			parts = append(parts, d.name)
		}
	}
	return strings.Join(parts, ", ")
}

// BumpResource makes a new version of the resource called name (version
// 1 if it did not exist) with the same Size, and returns it. The next
// request of it gets 200 and the new body, whatever validators it sends.
func (s *Server) BumpResource(name string) (Resource, error) {
	return s.changeResource(name, func(*Resource) {})
}

// SetResourceSize makes a new version of the resource called name whose
// body is padded to size bytes, from 0 to MaxResourceSize, and returns it.
func (s *Server) SetResourceSize(name string, size int) (Resource, error) {
	if size < 0 || size > MaxResourceSize {
		return Resource{}, fmt.Errorf("mockapi: resource size %d is not from 0 to %d", size, MaxResourceSize)
	}
	return s.changeResource(name, func(r *Resource) { r.Size = size })
}

// changeResource makes a new version of the resource called name, as set
// applies to it.
func (s *Server) changeResource(name string, set func(*Resource)) (Resource, error) {
	if name == "" {
		return Resource{}, fmt.Errorf("mockapi: a resource needs a name")
	}
	now := s.cfg.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	now = s.advance(now)
	res, existed := s.resources[name]
	if !existed {
		res = s.resource(name, now)
	} else {
		res.Version++
		res.Modified = later(now.Truncate(time.Second), res.Modified.Add(time.Second))
	}
	set(&res.Resource)
	return res.Resource, nil
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// countResource counts the answer of the resource request a. The caller
// holds mu, and a is of the current generation.
func (s *Server) countResource(a admission, method string, status int) {
	res := s.resources[a.resource.Name]
	cc := res.creds[a.credID]
	for _, n := range []*ResourceCounts{&res.counts, &cc} {
		n.count(method, status)
	}
	res.creds[a.credID] = cc
}

// count counts one answer.
func (n *ResourceCounts) count(method string, status int) {
	switch status {
	case http.StatusOK:
		n.OK++
	case http.StatusNotModified:
		n.NotModified++
	case statusClientGone:
		n.Cancelled++
	default:
		return
	}
	if method == http.MethodHead {
		n.Head++
	}
}

// copyResources returns a deep copy of the resources' stats.
func copyResources(resources map[string]*resourceState) map[string]ResourceStats {
	out := make(map[string]ResourceStats, len(resources))
	for name, res := range resources {
		st := ResourceStats{Resource: res.Resource, ResourceCounts: res.counts,
			Credentials: make(map[string]ResourceCounts, len(res.creds))}
		for id, n := range res.creds {
			st.Credentials[id] = n
		}
		out[name] = st
	}
	return out
}

// AwaitResource returns name's stats once the mock has counted at least
// answers of its 200s and 304s, or as they are when timeout has passed
// first. A client can read a whole answer over loopback before the mock
// has counted it: a test reading Stats just after its last response may
// find it one short, and waits here instead.
func (s *Server) AwaitResource(name string, answers int, timeout time.Duration) ResourceStats {
	deadline := time.Now().Add(timeout)
	for {
		st := s.Stats().Resources[name]
		if st.OK+st.NotModified >= answers || !time.Now().Before(deadline) {
			return st
		}
		time.Sleep(time.Millisecond)
	}
}
