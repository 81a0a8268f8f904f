package httpcache

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cache is a private HTTP cache over a [Backend]: it decides what may be
// stored and served (RFC 9111) and keeps entries under keys that reveal
// neither URLs nor header values. It holds no mutable state of its own and
// is safe for concurrent use when its Backend is.
type Cache struct {
	backend Backend
	o       Options
}

// New returns a Cache keeping its entries in b, o's zero values replaced by
// their defaults.
func New(b Backend, o Options) *Cache {
	return &Cache{backend: b, o: o.withDefaults()}
}

// State is what a [Lookup] found.
type State int

const (
	// Miss: no usable entry (none, or stale without a validator, or the
	// request forbids using it). The Lookup's Entry may still be set.
	Miss State = iota
	// Fresh: the entry may be served as it is.
	Fresh
	// Stale: the entry has a validator and must be validated before use
	// (see [Lookup.Conditional] and [Cache.Refresh]).
	Stale
)

func (s State) String() string {
	switch s {
	case Miss:
		return "miss"
	case Fresh:
		return "fresh"
	case Stale:
		return "stale"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Lookup is what the cache holds for a request.
type Lookup struct {
	// Entry is the stored response; nil on a Miss without entry. On a Miss
	// with an entry (stale without validator, say) it must not be served,
	// except as RFC 9111 allows (stale-if-error).
	Entry *Entry
	State State

	primary, variant string // keys of the index (or entry) and the variant
}

// Lookup finds req's entry in partition (an opaque, non-secret string that
// separates entries; "" is one). Only GET and HEAD are looked up. The
// request's directives apply (RFC 9111 5.2.1): no-cache (or Pragma:
// no-cache without Cache-Control) makes the entry Stale, or a Miss without
// validator; max-age and min-fresh narrow what is Fresh; max-stale widens
// it unless the response has must-revalidate or no-cache. A response with
// no-cache is always Stale. A request with its own conditionals or a Range
// is looked up too: see [Lookup.NotModified].
func (c *Cache) Lookup(ctx context.Context, partition string, req *http.Request) (Lookup, error) {
	method := methodOf(req)
	if method != http.MethodGet && method != http.MethodHead {
		return Lookup{}, nil
	}
	l := Lookup{primary: primaryKey(partition, method, req.URL, hostOverride(req))}
	e, err := c.backend.Get(ctx, l.primary)
	if err != nil || e == nil {
		return l, err
	}
	if e.IsIndex() {
		l.variant = variantKey(l.primary, e.Vary, req)
		v, err := c.backend.Get(ctx, l.variant)
		if err != nil || v == nil || v.IsIndex() || !slices.Equal(v.Vary, e.Vary) {
			return l, err
		}
		e = v
	}
	if !e.facts.ready { // read from bytes: work its facts out for this lookup
		ec := *e
		c.prepare(&ec)
		e = &ec
	}
	l.Entry = e
	l.State = c.state(e, req)
	return l, nil
}

// prepare works out e's facts, once, before e is shared.
func (c *Cache) prepare(e *Entry) {
	cc := ParseCacheControl(e.Header["Cache-Control"])
	e.facts = facts{ready: true, cc: cc, lifetime: freshnessLifetime(e.Status, e.Header, cc, c.o),
		initialAge: initialAge(e), validator: hasValidator(e.Header)}
}

// state decides whether e may answer req (RFC 9111 4.2 and 5.2).
func (c *Cache) state(e *Entry, req *http.Request) State {
	reqCC := requestDirectives(req.Header)
	respCC := e.facts.cc
	validate := Stale
	if !e.facts.validator {
		validate = Miss
	}
	if reqCC.NoCache || respCC.NoCache {
		return validate
	}
	age := CurrentAge(e, c.o.Now())
	lifetime := e.facts.lifetime
	if reqCC.HasMaxAge && age > reqCC.MaxAge {
		return validate
	}
	if age < lifetime && (!reqCC.HasMinFresh || lifetime-age >= reqCC.MinFresh) {
		return Fresh
	}
	if age >= lifetime && !respCC.MustRevalidate &&
		(reqCC.MaxStaleAny || reqCC.HasMaxStale && age-lifetime <= reqCC.MaxStale) {
		return Fresh
	}
	return validate
}

// requestDirectives parses a request's Cache-Control, reading Pragma:
// no-cache as no-cache when there is no Cache-Control (RFC 9111 5.4).
func requestDirectives(h http.Header) Directives {
	cc, ok := h["Cache-Control"]
	if ok {
		return ParseCacheControl(cc)
	}
	var d Directives
	for _, p := range h["Pragma"] {
		pp := ccParser{s: p}
		for {
			name, _, _, more := pp.next()
			if !more {
				break
			}
			if strings.EqualFold(name, "no-cache") {
				d.NoCache = true
			}
		}
	}
	return d
}

func hasValidator(h http.Header) bool {
	return h.Get("Etag") != "" || h.Get("Last-Modified") != ""
}

// Storable reports whether resp to req may be stored (RFC 9111 3): a GET or
// HEAD, a final status other than 206 and 304, no no-store in request or
// response, no Vary: *, a body not announced beyond MaxEntryBytes, and
// explicit freshness (max-age, Expires), a validator, or, with heuristics
// on, a heuristically cacheable status. A response with no-cache needs a
// validator (without one it could never be used). private is fine and so
// is a request with Authorization: this is a private cache, and the
// partition separates credentials.
func (c *Cache) Storable(req *http.Request, resp *http.Response) bool {
	method := methodOf(req)
	if method != http.MethodGet && method != http.MethodHead {
		return false
	}
	if resp.StatusCode < 200 || resp.StatusCode == http.StatusPartialContent ||
		resp.StatusCode == http.StatusNotModified || resp.StatusCode > 999 {
		return false
	}
	if resp.ContentLength > c.o.MaxEntryBytes {
		return false
	}
	reqCC := ParseCacheControl(req.Header["Cache-Control"])
	respCC := ParseCacheControl(resp.Header["Cache-Control"])
	if reqCC.NoStore || respCC.NoStore {
		return false
	}
	if _, star := ParseVary(resp.Header["Vary"]); star {
		return false
	}
	validator := hasValidator(resp.Header)
	if respCC.NoCache && !validator {
		return false
	}
	_, expires := resp.Header["Expires"]
	heuristic := c.o.Heuristic > 0 && (heuristicallyCacheable(resp.StatusCode) || respCC.Public)
	return respCC.HasMaxAge || expires || validator || heuristic
}

// Store keeps resp, whose whole body is body, for req in partition, for
// the remaining freshness plus KeepStale when it has a validator, else for
// the remaining freshness. It stores nothing, and reports false, when resp
// is not [Cache.Storable], body is longer than MaxEntryBytes, the header is
// too large to encode, or the time to keep it is not positive.
func (c *Cache) Store(ctx context.Context, partition string, req *http.Request, resp *http.Response, body []byte, requestTime, responseTime time.Time) (bool, error) {
	if !c.Storable(req, resp) || int64(len(body)) > c.o.MaxEntryBytes {
		return false, nil
	}
	e := &Entry{
		Status:       resp.StatusCode,
		Header:       storedHeader(resp.Header, responseTime),
		Body:         slices.Clone(body), // the backend may keep the entry itself
		RequestTime:  requestTime,
		ResponseTime: responseTime,
	}
	e.Vary, _ = ParseVary(resp.Header["Vary"])
	if methodOf(req) == http.MethodHead {
		e.Body = nil // the header's Content-Length is the GET's
	} else {
		e.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	c.prepare(e)
	ttl := c.ttl(e)
	if ttl <= 0 || e.checkLimits() != nil {
		return false, nil
	}
	primary := primaryKey(partition, methodOf(req), req.URL, hostOverride(req))
	if err := c.put(ctx, primary, req, e, ttl); err != nil {
		return false, err
	}
	return true, nil
}

// ttl is how long e is worth keeping from now: its remaining freshness,
// plus KeepStale when it has a validator.
func (c *Cache) ttl(e *Entry) time.Duration {
	remaining := e.facts.lifetime - CurrentAge(e, c.o.Now())
	if e.facts.validator {
		return max(remaining, 0) + c.o.KeepStale
	}
	return remaining
}

// put stores e under primary, or, when it varies, under its variant key
// with an index under primary. The index takes e's ttl: a longer-lived
// sibling variant is then unreachable (a Miss) once the index expires,
// and the variants of an older Vary are left to expire on their own.
func (c *Cache) put(ctx context.Context, primary string, req *http.Request, e *Entry, ttl time.Duration) error {
	if len(e.Vary) == 0 {
		return c.backend.Set(ctx, primary, e, ttl)
	}
	if err := c.backend.Set(ctx, variantKey(primary, e.Vary, req), e, ttl); err != nil {
		return err
	}
	return c.backend.Set(ctx, primary, &Entry{Vary: e.Vary}, ttl)
}
