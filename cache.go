package heed

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/heedhq/heed/coalesce"
	"github.com/heedhq/heed/httpcache"
)

// CacheHeader says, on a response to a GET or HEAD of an upstream with a
// cache or coalescing, what heed did: CacheHit, CacheRevalidated,
// CacheMiss, CacheCoalesced or CacheStale.
const CacheHeader = "Heed-Cache"

// The words of CacheHeader and of CacheEvent.Result.
const (
	// CacheHit: answered from the cache; nothing was sent.
	CacheHit = "hit"
	// CacheRevalidated: a stored response was confirmed by the API's 304
	// and served (or the 304 itself, to a request with its own
	// conditions).
	CacheRevalidated = "revalidated"
	// CacheMiss: the API answered in full.
	CacheMiss = "miss"
	// CacheCoalesced: the answer of an identical request in flight at the
	// same time was shared; nothing more was sent.
	CacheCoalesced = "coalesced"
	// CacheStale: the API failed (a transport error, 500, 502, 503, 504,
	// or an open circuit) and a stale entry was served instead, as its
	// stale-if-error (or the request's) allowed (RFC 5861).
	CacheStale = "stale"
)

// CacheEvent is what the cache and coalescing did for one request, for
// Metrics.Cache.
type CacheEvent struct {
	// Result is CacheHit, CacheRevalidated, CacheMiss, CacheCoalesced or
	// CacheStale.
	Result string
	// Bytes is the length of the body served from the cache (hit,
	// revalidated); 0 otherwise.
	Bytes int64
	// Sent reports whether a request reached the API for it.
	Sent bool
	// NotModified reports whether the API answered 304.
	NotModified bool
	// Charged reports whether it spent a unit of the request limits: false
	// for a hit, a shared answer, and a 304 when Free304 holds.
	Charged bool
}

// layerCache is the cache's and coalescing's layer, above retry.
const layerCache = "cache"

// responseCache is an upstream's cache and coalescing: what cacheLayer
// works with.
type responseCache struct {
	u       *upstream
	cache   *httpcache.Cache // nil when only coalescing
	opts    httpcache.Options
	shared  bool            // cache's backend is the fleet's store
	flights *coalesce.Group // nil when not coalescing
	free304 bool
	// storing counts stores of the shared backend still under way, for
	// Close.
	storing sync.WaitGroup
	warned  warnGate
}

// newResponseCache returns u's cache and coalescing, or nil when it has
// neither.
func newResponseCache(u *upstream, shared httpcache.Blobs) *responseCache {
	p := u.cfg.Cache
	if !p.Enabled && !u.cfg.Coalesce {
		return nil
	}
	rc := &responseCache{u: u, free304: p.Free304 != nil && *p.Free304}
	if p.Enabled {
		opts := httpcache.Options{MaxEntryBytes: int64(p.MaxEntryBytes), Heuristic: p.Heuristic, Now: u.t.clock.Now}
		var b httpcache.Backend = httpcache.NewMemory(int64(p.MaxBytes), u.t.clock.Now)
		if p.Shared && shared != nil {
			b, rc.shared = httpcache.Encoded(shared), true
		}
		rc.cache, rc.opts = httpcache.New(b, opts), opts
	}
	if u.cfg.Coalesce {
		rc.flights = coalesce.New(coalesce.Options{})
	}
	return rc
}

// layer is the cache's layer: a fresh entry answers at once; a stale one
// is revalidated; identical requests in flight share one; what comes back
// is stored; an unsafe method's success drops the entries of its URL.
func (rc *responseCache) layer(next handler) handler {
	return func(c *call) outcome {
		switch {
		case c.req.Method != http.MethodGet && c.req.Method != http.MethodHead:
			out := next(c)
			rc.invalidate(c, out)
			return out
		case c.req.Header.Get("Range") != "": // a part: neither served from nor stored
			return next(c)
		}
		part := c.partition()
		lk := rc.lookup(c, part)
		if lk.State == httpcache.Fresh {
			return rc.hit(c, lk)
		}
		key := ""
		if rc.flights != nil {
			key = httpcache.FlightKey(part, c.req)
		}
		if key == "" {
			return rc.fetch(c, next, part, lk)
		}
		return rc.share(c, key, func(lc *call) outcome { return rc.fetch(lc, next, part, lk) })
	}
}

// partition is what separates the call's cache entries from others': the
// scope (upstream and keyed fingerprint of the credential), the tenant,
// and a keyed digest of the request's cookies when it has any (a session
// cookie is a credential the scope does not count, and an API need not
// say Vary: Cookie).
func (c *call) partition() string {
	p := c.sc.key + "\x00" + c.tenant
	cookies := c.req.Header["Cookie"]
	if len(cookies) == 0 {
		return p
	}
	mac := hmac.New(sha256.New, c.u.t.secret)
	for _, v := range cookies {
		_, _ = mac.Write([]byte(v))
		_, _ = mac.Write([]byte{0})
	}
	return p + "\x00" + hex.EncodeToString(mac.Sum(nil))
}

// lookup returns what the cache holds for the call's request; a miss when
// there is no cache or the shared store fails.
func (rc *responseCache) lookup(c *call, part string) httpcache.Lookup {
	if rc.cache == nil {
		return httpcache.Lookup{}
	}
	lk, err := rc.cache.Lookup(c.ctx, part, c.req)
	if err != nil {
		rc.warn(c.ctx, "reading", err)
		return httpcache.Lookup{}
	}
	return lk
}

// hit answers from a fresh entry: the stored response, or 304 when the
// request's own conditions match it.
func (rc *responseCache) hit(c *call, lk httpcache.Lookup) outcome {
	resp := rc.cache.Response(lk.Entry, c.req)
	if lk.NotModified(c.req) {
		resp = notModified(resp)
	}
	resp.Header.Set(CacheHeader, CacheHit)
	ev := CacheEvent{Result: CacheHit, Bytes: max(resp.ContentLength, 0)}
	c.u.t.metrics.Cache(c.u.cfg.Name, ev)
	return outcome{req: c.req, resp: resp}
}

// fetch sends the call's request down the pipeline, conditional on the
// entry lk holds when it is stale, and makes what comes back the answer:
// the stored response refreshed by a 304, or the response, stored as its
// body passes.
func (rc *responseCache) fetch(c *call, next handler, part string, lk httpcache.Lookup) outcome {
	orig := c.req
	own := hasConditions(orig.Header)
	revalidating := lk.State == httpcache.Stale && !own
	if revalidating {
		r := orig.Clone(c.ctx)
		lk.Conditional(r.Header)
		c.req = r
	}
	sent := c.u.t.clock.Now()
	out := next(c)
	c.req = orig
	if rc.cache == nil {
		if out.resp != nil {
			out.resp.Header.Set(CacheHeader, CacheMiss)
		}
		rc.report(c, out, CacheMiss, 0)
		return out
	}
	got := c.u.t.clock.Now()
	if lk.Entry != nil && failed(out) && rc.staleIfError(lk.Entry, orig, got) {
		discard(out.resp)
		served := rc.cache.Response(lk.Entry, orig)
		served.Header.Set(CacheHeader, CacheStale)
		c.u.t.metrics.Cache(c.u.cfg.Name, CacheEvent{Result: CacheStale, Bytes: max(served.ContentLength, 0), Sent: !out.unsent && out.syn == nil, Charged: !out.unsent && out.syn == nil})
		return outcome{req: orig, resp: served}
	}
	if out.resp == nil {
		rc.report(c, out, CacheMiss, 0)
		return out
	}
	resp := out.resp
	switch {
	case resp.StatusCode == http.StatusNotModified && lk.Entry != nil && (revalidating || sameValidator(resp.Header, lk.Entry.Header)):
		e, err := rc.cache.Refresh(context.WithoutCancel(c.ctx), part, lk, orig, resp, sent, got)
		switch {
		case errors.Is(err, httpcache.ErrMismatch) && revalidating: // the 304 names another response: ask in full
			discard(resp)
			return rc.fetch(c, next, part, httpcache.Lookup{})
		case err != nil && !errors.Is(err, httpcache.ErrMismatch):
			rc.warn(c.ctx, "refreshing", err)
		}
		if !revalidating { // the caller's own 304 is its answer
			resp.Header.Set(CacheHeader, CacheRevalidated)
			rc.report(c, out, CacheRevalidated, 0)
			return out
		}
		discard(resp)
		if e == nil {
			e = lk.Entry
		}
		served := rc.cache.Response(e, orig)
		served.Header.Set(CacheHeader, CacheRevalidated)
		rc.report(c, out, CacheRevalidated, max(served.ContentLength, 0))
		out.resp, out.req = served, orig
		return out
	case rc.cache.Storable(orig, resp):
		rc.keepBody(c, part, orig, resp, sent, got)
	}
	resp.Header.Set(CacheHeader, CacheMiss)
	rc.report(c, out, CacheMiss, 0)
	return out
}

// failed reports whether an attempt's outcome is a failure a stale entry
// may stand in for (RFC 5861's errors: 500, 502, 503, 504, and a request
// that could not be sent, or that an open circuit kept from going).
func failed(out outcome) bool {
	switch {
	case out.syn != nil:
		return out.syn.refusal.Kind == SyntheticCircuitOpen
	case out.resp == nil:
		return out.err != nil && !errors.Is(out.err, context.Canceled) && !errors.Is(out.err, context.DeadlineExceeded)
	}
	switch out.resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// staleIfError reports whether e, stale, may answer req at now in place
// of a failure: the response's or the request's stale-if-error covers how
// stale it is, and the response does not forbid stale use
// (must-revalidate, no-cache). Off unless a stale-if-error says so.
func (rc *responseCache) staleIfError(e *httpcache.Entry, req *http.Request, now time.Time) bool {
	resp := httpcache.ParseCacheControl(e.Header["Cache-Control"])
	if resp.MustRevalidate || resp.NoCache {
		return false
	}
	allowed := time.Duration(-1)
	if resp.HasStaleIfError {
		allowed = resp.StaleIfError
	}
	if r := httpcache.ParseCacheControl(req.Header["Cache-Control"]); r.HasStaleIfError {
		allowed = max(allowed, r.StaleIfError)
	}
	staleness := httpcache.CurrentAge(e, now) - httpcache.FreshnessLifetime(e.Status, e.Header, rc.opts)
	return allowed >= 0 && staleness <= allowed
}

// keepBody stores resp once its body has been read to the end within
// MaxEntryBytes.
func (rc *responseCache) keepBody(c *call, part string, req *http.Request, resp *http.Response, sent, got time.Time) {
	ctx := context.WithoutCancel(c.ctx)
	if req.Method == http.MethodHead {
		if _, err := rc.cache.Store(ctx, part, req, resp, nil, sent, got); err != nil {
			rc.warn(ctx, "storing", err)
		}
		return
	}
	limit := int64(c.u.cfg.Cache.MaxEntryBytes)
	capture := &captured{limit: limit}
	if resp.ContentLength > 0 && resp.ContentLength <= limit {
		capture.buf = make([]byte, 0, resp.ContentLength)
	}
	b := bodyOf(resp)
	b.addTap(capture)
	header := resp.Header.Clone()
	kept := *resp
	kept.Header = header
	kept.Body = nil
	b.done = append(b.done, func() {
		if !b.eof || capture.over {
			return
		}
		store := func() {
			if _, err := rc.cache.Store(ctx, part, req, &kept, capture.buf, sent, got); err != nil {
				rc.warn(ctx, "storing", err)
			}
		}
		if !rc.shared {
			store()
			return
		}
		rc.storing.Add(1)
		go func() {
			defer rc.storing.Done()
			store()
		}()
	})
}

// captured keeps what passes, up to limit bytes; past it, it keeps
// nothing and says so.
type captured struct {
	buf   []byte
	limit int64
	over  bool
}

func (w *captured) Write(p []byte) (int, error) {
	if !w.over && int64(len(w.buf)+len(p)) > w.limit {
		w.over, w.buf = true, nil
	}
	if !w.over {
		w.buf = append(w.buf, p...)
	}
	return len(p), nil
}

// share takes the call's request to the flight of key: the first call of
// a key sends it (fetch, with a call of its own that ends only when every
// caller of the flight has gone), the others share its answer.
func (rc *responseCache) share(c *call, key string, fetch func(lc *call) outcome) outcome {
	// fetch may outlive c (its caller may leave first, and c be recycled):
	// it takes what it needs of c now.
	u, req, opts, started, deadline := c.u, c.req, c.opts, c.started, c.waitDeadline()
	resp, shared, err := rc.flights.Do(c.ctx, key, func(ctx context.Context) (*http.Response, error) {
		lc := u.newCall(req.WithContext(ctx), opts)
		lc.started, lc.deadline = started, deadline
		out := fetch(lc)
		lc.flushWaits()
		resp := out.resp
		if out.syn != nil {
			resp = lc.answer(out.syn)
		}
		if resp == nil {
			return nil, out.err
		}
		// The outcome rides with the response to every caller, in its
		// request (which each caller then replaces with its own).
		meta := &flightMeta{out: out}
		if resp.Request == nil {
			resp.Request = lc.req
		}
		resp.Request = resp.Request.WithContext(context.WithValue(resp.Request.Context(), flightMetaKey{}, meta))
		return resp, nil
	})
	if err != nil {
		if c.ctx.Err() != nil {
			return abandon(err) // this caller gave up waiting
		}
		return outcome{req: c.req, err: err}
	}
	meta, _ := resp.Request.Context().Value(flightMetaKey{}).(*flightMeta)
	resp.Request = c.req
	out := meta.out
	if out.syn != nil { // heed answered: each caller makes its own answer
		discard(resp)
		return outcome{syn: out.syn}
	}
	out.resp, out.req = resp, c.req
	if shared {
		resp.Header.Set(CacheHeader, CacheCoalesced)
		c.u.t.metrics.Cache(c.u.cfg.Name, CacheEvent{Result: CacheCoalesced})
	}
	return out
}

// flightMeta is what a shared flight's callers learn besides the
// response: the outcome it came with.
type flightMeta struct{ out outcome }

// flightMetaKey carries a flight's flightMeta in its response's request's
// context.
type flightMetaKey struct{}

// report tells the metrics what a fetch did.
func (rc *responseCache) report(c *call, out outcome, result string, bytes int64) {
	sent := out.syn == nil && (out.resp != nil || (out.err != nil && !out.unsent))
	ev := CacheEvent{Result: result, Bytes: bytes, Sent: sent, Charged: sent}
	if out.resp != nil && out.resp.StatusCode == http.StatusNotModified {
		ev.NotModified, ev.Charged = true, !rc.free304
	}
	c.u.t.metrics.Cache(c.u.cfg.Name, ev)
}

// invalidate drops the entries of the URL an unsafe method changed.
func (rc *responseCache) invalidate(c *call, out outcome) {
	if rc.cache == nil || out.resp == nil || safeMethod(c.req.Method) {
		return
	}
	if err := rc.cache.Invalidate(context.WithoutCancel(c.ctx), c.partition(), c.req, out.resp); err != nil {
		rc.warn(c.ctx, "invalidating", err)
	}
}

// close waits for the stores under way.
func (rc *responseCache) close() { rc.storing.Wait() }

// warn logs a failure of the shared cache's store, at most every 10 s.
func (rc *responseCache) warn(ctx context.Context, doing string, err error) {
	if errors.Is(err, context.Canceled) || !rc.warned.due(rc.u.t.clock.Now(), storeWarnEvery) {
		return
	}
	rc.u.t.log.LogAttrs(ctx, slogWarn, "heed: the response cache failed "+doing+" an entry; answering without it",
		attr("upstream", rc.u.cfg.Name), attr("error", err.Error()))
}

// notModified turns a stored response into the 304 that answers a request
// whose own conditions it matches.
func notModified(resp *http.Response) *http.Response {
	resp.StatusCode, resp.Status = http.StatusNotModified, "304 Not Modified"
	resp.Body, resp.ContentLength = http.NoBody, 0
	for _, h := range []string{"Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding"} {
		resp.Header.Del(h)
	}
	return resp
}

// hasConditions reports whether a request carries conditions of its own.
func hasConditions(h http.Header) bool {
	for _, k := range []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"} {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// sameValidator reports whether a 304's validator names the stored
// response: the same ETag, or, without ETags, the same Last-Modified.
func sameValidator(got, stored http.Header) bool {
	if e := got.Get("ETag"); e != "" {
		return weakTag(e) == weakTag(stored.Get("ETag"))
	}
	lm := got.Get("Last-Modified")
	return lm != "" && lm == stored.Get("Last-Modified")
}

// weakTag is an entity tag without its weakness mark, for the weak
// comparison of RFC 9110 8.8.3.2.
func weakTag(t string) string {
	if len(t) > 2 && t[:2] == "W/" {
		return t[2:]
	}
	return t
}

// safeMethod reports whether a method changes nothing (RFC 9110 9.2.1).
func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}
