package httpcache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrMismatch is Refresh's answer to a 304 whose validator is not the
// stored entry's: the 304 selects no stored response (RFC 9111 4.3.4), the
// entry is dropped and the request should be repeated without conditionals.
var ErrMismatch = errors.New("httpcache: 304 does not match the stored entry")

// Refresh applies the 304 notModified to l's entry (RFC 9111 4.3.4): the
// 304's fields replace the stored ones (except Content-Length,
// Content-Encoding and those never stored), the body is kept, request and
// response times become requestTime and responseTime. It stores the result
// again, for as long as [Cache.Store] would, and returns it (a new Entry;
// l's is not modified). When the updated response may not be kept (no-store
// now, say) it is returned but dropped from the cache. A 304 with an ETag
// other than the entry's is ErrMismatch.
func (c *Cache) Refresh(ctx context.Context, partition string, l Lookup, req *http.Request, notModified *http.Response, requestTime, responseTime time.Time) (*Entry, error) {
	if l.Entry == nil || l.primary == "" {
		return nil, errors.New("httpcache: Refresh without a looked-up entry")
	}
	if etag := notModified.Header.Get("Etag"); etag != "" && !etagSelects(etag, l.Entry.Header.Get("Etag")) {
		return nil, errors.Join(ErrMismatch, c.drop(ctx, l))
	}
	e := &Entry{
		Status:       l.Entry.Status,
		Header:       updatedHeader(l.Entry.Header, notModified.Header, responseTime),
		Body:         l.Entry.Body,
		RequestTime:  requestTime,
		ResponseTime: responseTime,
		Vary:         l.Entry.Vary,
	}
	c.prepare(e)
	ttl := c.ttl(e)
	if e.facts.cc.NoStore || ttl <= 0 || e.checkLimits() != nil {
		return e, c.drop(ctx, l)
	}
	if err := c.put(ctx, l.primary, req, e, ttl); err != nil {
		return e, err
	}
	return e, nil
}

// etagSelects reports whether a 304's ETag selects the stored one, by weak
// comparison (RFC 9110 8.8.3.2): the stored response is the only candidate
// this cache holds for the request, and a weak match selects it (RFC 9111
// 4.3.4).
func etagSelects(got, stored string) bool {
	g, ok1 := opaqueTag(got)
	s, ok2 := opaqueTag(stored)
	return ok1 && ok2 && g == s
}

// drop deletes l's entry and index.
func (c *Cache) drop(ctx context.Context, l Lookup) error {
	var errs []error
	if l.variant != "" {
		errs = append(errs, c.backend.Delete(ctx, l.variant))
	}
	errs = append(errs, c.backend.Delete(ctx, l.primary))
	return errors.Join(errs...)
}

// Response is a new response to req from e: a clone of the stored header
// with Age set to e's [CurrentAge] in whole seconds, the stored body (none
// for HEAD), ContentLength, Request req and protocol HTTP/1.1.
func (c *Cache) Response(e *Entry, req *http.Request) *http.Response {
	h := e.Header.Clone()
	if h == nil {
		h = make(http.Header)
	}
	age := max(CurrentAge(e, c.o.Now()), 0) / time.Second
	h.Set("Age", strconv.FormatInt(int64(age), 10))
	resp := &http.Response{
		Status:     strconv.Itoa(e.Status) + " " + http.StatusText(e.Status),
		StatusCode: e.Status,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        h,
		Body:          http.NoBody,
		ContentLength: int64(len(e.Body)),
		Request:       req,
	}
	if methodOf(req) == http.MethodHead {
		resp.ContentLength = -1
		if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
			resp.ContentLength = n
		}
	} else if len(e.Body) > 0 {
		resp.Body = io.NopCloser(bytes.NewReader(e.Body))
	}
	return resp
}

// Invalidate drops, in partition, the entries of req's target URI and of
// resp's Location and Content-Location when they have its origin, after an
// unsafe method (any but GET, HEAD, OPTIONS and TRACE) answered with a
// non-error status, 2xx or 3xx (RFC 9111 4.4). Otherwise it does nothing.
func (c *Cache) Invalidate(ctx context.Context, partition string, req *http.Request, resp *http.Response) error {
	switch methodOf(req) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return nil
	}
	targets := []*url.URL{req.URL}
	for _, name := range []string{"Location", "Content-Location"} {
		if v := resp.Header.Get(name); v != "" {
			if u, err := req.URL.Parse(v); err == nil && sameOrigin(u, req.URL) {
				targets = append(targets, u)
			}
		}
	}
	var errs []error
	for _, u := range targets {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			errs = append(errs, c.backend.Delete(ctx, primaryKey(partition, method, u, hostOverride(req))))
		}
	}
	return errors.Join(errs...)
}

// sameOrigin compares scheme, host and port, default ports dropped.
func sameOrigin(a, b *url.URL) bool {
	as, bs := strings.ToLower(a.Scheme), strings.ToLower(b.Scheme)
	return as == bs && strings.EqualFold(dropDefaultPort(as, a.Host), dropDefaultPort(bs, b.Host))
}
