package serve_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
	"github.com/heedhq/heed/serve"
)

// These tests run heed's response cache through heed serve's route mode,
// against heed mock's cacheable resources (GET /resources/{name}).

// resource is what the mock's resources say of themselves.
type resource struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	CredID  string `json:"cred_id"`
}

// cachedAnswer is one answer through the sidecar.
type cachedAnswer struct {
	status int
	cache  []string // every Heed-Cache value
	etag   string
	raw    []byte
	body   resource
}

// getResource GETs url with a bearer token and the header name-value
// pairs, and returns the answer, its body read to the end.
func getResource(t *testing.T, url, token string, header ...string) cachedAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := cachedAnswer{status: resp.StatusCode, cache: resp.Header.Values(heed.CacheHeader), etag: resp.Header.Get("ETag")}
	if a.raw, err = io.ReadAll(resp.Body); err != nil {
		t.Fatalf("GET %s: reading: %v", url, err)
	}
	if a.status == http.StatusOK {
		if err := json.Unmarshal(a.raw, &a.body); err != nil {
			t.Fatalf("GET %s: body %q: %v", url, a.raw, err)
		}
	}
	return a
}

// cachingServer returns the mock and a heed serve whose upstream gh, the
// mock under GitHub's dialect, has a cache.
func cachingServer(t *testing.T, cache mockapi.Cache) (*mockapi.Server, string) {
	t.Helper()
	m, err := mockapi.New(mockapi.Config{Dialect: mockapi.DialectGitHub, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	up := newMockServer(t, m)
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{
		{Name: "gh", BaseURL: up, Vendor: "github", Cache: heed.CachePolicy{Enabled: true}},
	}}})
	return m, base
}

// is reports whether an answer carries exactly one Heed-Cache, want.
func (a cachedAnswer) is(want string) bool { return len(a.cache) == 1 && a.cache[0] == want }

func TestRouteModeCache(t *testing.T) {
	t.Parallel()
	t.Run("HitAndCredentialsApart", func(t *testing.T) {
		t.Parallel()
		m, base := cachingServer(t, mockapi.Cache{})
		url := base + "/gh/resources/x"
		first := getResource(t, url, "alice")
		if first.status != 200 || !first.is(heed.CacheMiss) || first.body.CredID != mockapi.CredID("alice") {
			t.Fatalf("first: %d, Heed-Cache %q, cred %q; want 200, miss, %q", first.status, first.cache, first.body.CredID, mockapi.CredID("alice"))
		}
		second := getResource(t, url, "alice")
		if second.status != 200 || !second.is(heed.CacheHit) || string(second.raw) != string(first.raw) {
			t.Errorf("second: %d, Heed-Cache %q, body %q; want 200, hit, the first's %q", second.status, second.cache, second.raw, first.raw)
		}
		bob := getResource(t, url, "bob")
		if bob.status != 200 || !bob.is(heed.CacheMiss) || bob.body.CredID != mockapi.CredID("bob") || bob.body.CredID == first.body.CredID {
			t.Errorf("bob: %d, Heed-Cache %q, cred %q; want 200, miss, his own %q", bob.status, bob.cache, bob.body.CredID, mockapi.CredID("bob"))
		}
		if st := m.AwaitResource("x", 2, 5*time.Second); st.OK != 2 || st.NotModified != 0 || st.Credentials[mockapi.CredID("alice")].OK != 1 {
			t.Errorf("the mock answered %+v, want one 200 per credential", st.ResourceCounts)
		}
	})
	// A client's own If-None-Match, matching a fresh entry, is answered
	// 304 by the cache: nothing is sent.
	t.Run("OwnConditionsFresh", func(t *testing.T) {
		t.Parallel()
		m, base := cachingServer(t, mockapi.Cache{})
		url := base + "/gh/resources/x"
		first := getResource(t, url, "alice")
		if first.etag == "" {
			t.Fatalf("first: no ETag (%d, %q)", first.status, first.raw)
		}
		own := getResource(t, url, "alice", "If-None-Match", first.etag)
		if own.status != http.StatusNotModified || !own.is(heed.CacheHit) || len(own.raw) != 0 || own.etag != first.etag {
			t.Errorf("If-None-Match: %d, Heed-Cache %q, ETag %q, body %q; want 304, hit, %q, none", own.status, own.cache, own.etag, own.raw, first.etag)
		}
		if st := m.AwaitResource("x", 1, 5*time.Second); st.OK != 1 || st.NotModified != 0 {
			t.Errorf("the mock answered %+v, want one 200", st.ResourceCounts)
		}
	})
	t.Run("Revalidated", func(t *testing.T) {
		t.Parallel()
		zero := time.Duration(0)
		m, base := cachingServer(t, mockapi.Cache{MaxAge: &zero})
		url := base + "/gh/resources/x"
		first := getResource(t, url, "alice")
		second := getResource(t, url, "alice")
		if second.status != 200 || !second.is(heed.CacheRevalidated) || string(second.raw) != string(first.raw) || second.body != first.body {
			t.Errorf("second: %d, Heed-Cache %q, body %q; want 200, revalidated, the first's %q", second.status, second.cache, second.raw, first.raw)
		}
		// A stale entry and the client's own conditions: the API's 304 is
		// the client's answer.
		own := getResource(t, url, "alice", "If-None-Match", first.etag)
		if own.status != http.StatusNotModified || !own.is(heed.CacheRevalidated) || len(own.raw) != 0 {
			t.Errorf("If-None-Match: %d, Heed-Cache %q, body %q; want 304, revalidated, none", own.status, own.cache, own.raw)
		}
		if st := m.AwaitResource("x", 3, 5*time.Second); st.OK != 1 || st.NotModified != 2 {
			t.Errorf("the mock answered %+v, want one 200 and two 304s", st.ResourceCounts)
		}
	})
}

// TestRouteModeAndJobsShareTheCache: a job through heed serve's job API
// goes through the same Transport as route mode: a GET made in route mode
// answers the job from the cache.
func TestRouteModeAndJobsShareTheCache(t *testing.T) {
	t.Parallel()
	m, err := mockapi.New(mockapi.Config{Dialect: mockapi.DialectGitHub})
	if err != nil {
		t.Fatal(err)
	}
	up := newMockServer(t, m)
	_, base := newServer(t, serve.Config{
		Config: heed.Config{Upstreams: []heed.Upstream{{Name: "gh", BaseURL: up, Vendor: "github", Cache: heed.CachePolicy{Enabled: true}}}},
		Jobs: &jobs.Config{Database: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"),
			EncryptionKey: "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleTA="},
	})
	routed := getResource(t, base+"/gh/resources/x", "alice")
	if routed.status != 200 || !routed.is(heed.CacheMiss) {
		t.Fatalf("route mode: %d, Heed-Cache %q; want 200, miss", routed.status, routed.cache)
	}
	resp, err := http.Post(base+"/v1/jobs", "application/json",
		strings.NewReader(`{"upstream":"gh","path":"/resources/x","headers":{"Authorization":"Bearer alice"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		StatusURL string `json:"status_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&a)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d, want 202", resp.StatusCode)
	}
	j := awaitJob(t, a.StatusURL)
	if j.Response == nil || j.Response.Body == nil {
		t.Fatalf("job %+v, want a response with a body", j)
	}
	if got := j.Response.Headers[heed.CacheHeader]; j.Response.Status != 200 || len(got) != 1 || got[0] != heed.CacheHit || *j.Response.Body != string(routed.raw) {
		t.Errorf("the job: %d, Heed-Cache %q, body %q; want 200, hit, route mode's %q", j.Response.Status, got, *j.Response.Body, routed.raw)
	}
	if st := m.AwaitResource("x", 1, 5*time.Second); st.OK != 1 || st.NotModified != 0 {
		t.Errorf("the mock answered %+v, want one 200", st.ResourceCounts)
	}
}

// awaitJob polls a job's status URL until it succeeded, for up to ten
// seconds.
func awaitJob(t *testing.T, statusURL string) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var j jobs.Job
		r, err := http.Get(statusURL)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(r.Body).Decode(&j)
		r.Body.Close()
		if j.State == jobs.StateSucceeded {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %+v, want succeeded", j)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
