package heed_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heedhq/heed"
)

// These tests run in synctest bubbles over a handler standing in for the
// network (handlerTransport), so that freshness lifetimes pass exactly;
// cache_integration_test.go runs the same rules over loopback against heed
// mock.

// etagServer is a resource whose body names the token that asked and its
// version, with an ETag, a max-age and Vary: Authorization.
type etagServer struct {
	mu       sync.Mutex
	version  int
	maxAge   int
	requests []*http.Request
}

func (s *etagServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	version, maxAge := s.version, s.maxAge
	s.mu.Unlock()
	if r.Method == http.MethodPost {
		s.mu.Lock()
		s.version++
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	who := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	etag := fmt.Sprintf("%q", fmt.Sprintf("%s-%s-%d", r.URL.Path, who, version))
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", fmt.Sprintf("private, max-age=%d", maxAge))
	w.Header().Set("Vary", "Accept, Authorization")
	w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = fmt.Fprintf(w, "%s for %s, version %d", r.URL.Path, who, version)
}

// sent returns the requests the server saw, and forgets them.
func (s *etagServer) sent() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.requests
	s.requests = nil
	return out
}

// handlerTransport serves requests with a handler, in memory.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	if req.Method == http.MethodHead {
		resp.Body, resp.ContentLength = http.NoBody, 0
	}
	return resp, nil
}

// cacheGet sends a request of path with token through rt and returns the status, the
// body and Heed-Cache.
func cacheGet(t *testing.T, rt http.RoundTripper, method, path, token string, header ...string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "https://api.test"+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp.StatusCode, string(b), resp.Header.Get(heed.CacheHeader)
}

func TestCacheServesRevalidatesAndKeepsCredentialsApart(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := &etagServer{maxAge: 60}
		tr := transport(t, handlerTransport{srv}, heed.Upstream{Cache: heed.CachePolicy{Enabled: true}}, nil)
		type step struct {
			wait         time.Duration
			method, path string
			token        string
			header       []string
			status       int
			body, cache  string
			sent         int
			conditional  bool
		}
		for i, s := range []step{
			{method: "GET", path: "/r", token: "alice", status: 200, body: "/r for alice, version 0", cache: heed.CacheMiss, sent: 1},
			{method: "GET", path: "/r", token: "alice", status: 200, body: "/r for alice, version 0", cache: heed.CacheHit},
			// Another credential never sees alice's entry.
			{method: "GET", path: "/r", token: "bob", status: 200, body: "/r for bob, version 0", cache: heed.CacheMiss, sent: 1},
			{method: "GET", path: "/r", token: "bob", status: 200, body: "/r for bob, version 0", cache: heed.CacheHit},
			// The caller's own condition on a fresh entry: heed answers 304.
			{method: "GET", path: "/r", token: "alice", header: []string{"If-None-Match", `"/r-alice-0"`}, status: 304, cache: heed.CacheHit},
			// Stale: revalidated, the stored body served as a 200.
			{wait: 61 * time.Second, method: "GET", path: "/r", token: "alice", status: 200, body: "/r for alice, version 0", cache: heed.CacheRevalidated, sent: 1, conditional: true},
			{method: "GET", path: "/r", token: "alice", status: 200, body: "/r for alice, version 0", cache: heed.CacheHit},
			// HEAD is its own entry.
			{method: "HEAD", path: "/r", token: "alice", status: 200, cache: heed.CacheMiss, sent: 1},
			{method: "HEAD", path: "/r", token: "alice", status: 200, cache: heed.CacheHit},
			// A part is neither served nor stored.
			{method: "GET", path: "/r", token: "alice", header: []string{"Range", "bytes=0-1"}, status: 200, body: "/r for alice, version 0", sent: 1},
			// no-cache in the request: validated first.
			{method: "GET", path: "/r", token: "alice", header: []string{"Cache-Control", "no-cache"}, status: 200, body: "/r for alice, version 0", cache: heed.CacheRevalidated, sent: 1, conditional: true},
			// A POST that succeeds drops the URL's entries: the next GET asks in full.
			{method: "POST", path: "/r", token: "alice", status: 204, sent: 1},
			{method: "GET", path: "/r", token: "alice", status: 200, body: "/r for alice, version 1", cache: heed.CacheMiss, sent: 1},
			// Accept is varied on: another Accept is another entry.
			{method: "GET", path: "/r", token: "alice", header: []string{"Accept", "text/plain"}, status: 200, body: "/r for alice, version 1", cache: heed.CacheMiss, sent: 1},
		} {
			time.Sleep(s.wait)
			status, body, cache := cacheGet(t, tr, s.method, s.path, s.token, s.header...)
			sent := srv.sent()
			if status != s.status || body != s.body || cache != s.cache || len(sent) != s.sent {
				t.Errorf("step %d (%s %s as %s %v): got %d %q, Heed-Cache %q, %d sent; want %d %q, %q, %d sent",
					i, s.method, s.path, s.token, s.header, status, body, cache, len(sent), s.status, s.body, s.cache, s.sent)
				continue
			}
			if len(sent) == 1 && (sent[0].Header.Get("If-None-Match") != "") != s.conditional {
				t.Errorf("step %d: sent If-None-Match %q, want conditional %v", i, sent[0].Header.Get("If-None-Match"), s.conditional)
			}
		}
	})
}

// TestFree304GivesTheChargeBack: polling an unchanged resource with
// free_304 spends one unit of a request limit (the first, full answer):
// every 304 gives its unit back, so a limit of 2 an hour still has room for
// exactly one more request after 50 polls.
func TestFree304GivesTheChargeBack(t *testing.T) {
	t.Parallel()
	for _, free := range []bool{true, false} {
		t.Run(fmt.Sprintf("free_304=%v", free), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				srv := &etagServer{maxAge: 0}
				tr := transport(t, handlerTransport{srv}, heed.Upstream{
					Limits:  []heed.Limit{{Requests: 2, Per: time.Hour, Burst: 2}},
					OnLimit: heed.OnLimitFail, MaxWait: time.Second,
					Cache: heed.CachePolicy{Enabled: true, Free304: &free},
				}, nil)
				polls := 0
				for ; polls < 50; polls++ {
					status, body, _ := cacheGet(t, tr, "GET", "/r", "alice")
					if status != 200 || body != "/r for alice, version 0" {
						break
					}
				}
				status, _, _ := cacheGet(t, tr, "GET", "/other", "alice")
				refused, _, _ := cacheGet(t, tr, "GET", "/third", "alice")
				switch {
				case free && (polls != 50 || status != 200 || refused != 429):
					t.Errorf("free 304: %d polls answered, then %d and %d; want 50, then 200 and 429 (one unit left after the polls)", polls, status, refused)
				case !free && polls != 2:
					t.Errorf("charged 304: %d polls answered; want 2 (the limit)", polls)
				}
			})
		})
	}
}

func TestCacheConfig(t *testing.T) {
	t.Parallel()
	up := heed.Upstream{Name: "api", BaseURL: "https://api.test", Cache: heed.CachePolicy{Enabled: true, Shared: true}}
	err := heed.Config{Upstreams: []heed.Upstream{up}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "cache: shared: a shared cache needs a shared store") {
		t.Errorf("shared on memory: got %v, want the shared-store error", err)
	}
	up.Cache = heed.CachePolicy{Enabled: true, MaxBytes: 1 << 20, MaxEntryBytes: 2 << 20}
	err = heed.Config{Upstreams: []heed.Upstream{up}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "cache: max_entry_bytes 2MiB is more than max_bytes 1MiB") {
		t.Errorf("entry over the cache: got %v, want the max_entry_bytes error", err)
	}
	up.Cache = heed.CachePolicy{Enabled: true, Heuristic: 1.5}
	err = heed.Config{Upstreams: []heed.Upstream{up}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "cache: heuristic 1.5 out of range [0, 1]") {
		t.Errorf("heuristic 1.5: got %v, want the range error", err)
	}
	d := heed.Config{Upstreams: []heed.Upstream{{Name: "gh", BaseURL: "https://api.github.com"}, {Name: "x", BaseURL: "https://x.test"}}}.WithDefaults()
	if c := d.Upstreams[0].Cache; c.MaxBytes != 64<<20 || c.MaxEntryBytes != 1<<20 || !*c.Free304 {
		t.Errorf("github's defaults: %+v, free %v; want 64MiB, 1MiB, free 304", c, *c.Free304)
	}
	if c := d.Upstreams[1].Cache; *c.Free304 {
		t.Errorf("another host's free_304 defaults to true, want false")
	}
}

// TestCacheUnusedWithoutCacheAndCoalesce: an upstream with neither says
// nothing of them.
func TestCacheUnusedWithoutCacheAndCoalesce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := &etagServer{maxAge: 60}
		tr := transport(t, handlerTransport{srv}, heed.Upstream{}, nil)
		for range 2 {
			if _, _, cache := cacheGet(t, tr, "GET", "/r", "alice"); cache != "" {
				t.Errorf("Heed-Cache %q without a cache, want none", cache)
			}
		}
		if n := len(srv.sent()); n != 2 {
			t.Errorf("%d sent, want 2", n)
		}
	})
}

// TestCacheHeuristic: a response that states no lifetime but a
// Last-Modified is fresh for a share of its age only when heuristic is set.
func TestCacheHeuristic(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		heuristic float64
		second    string
	}{{0, heed.CacheRevalidated}, {0.1, heed.CacheHit}} {
		synctest.Test(t, func(t *testing.T) {
			modified := time.Now().Add(-100 * time.Hour).UTC().Format(http.TimeFormat)
			srv := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Last-Modified", modified)
				w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
				if r.Header.Get("If-Modified-Since") == modified {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				_, _ = w.Write([]byte("unchanged for 100 hours"))
			})
			tr := transport(t, handlerTransport{srv}, heed.Upstream{Cache: heed.CachePolicy{Enabled: true, Heuristic: c.heuristic}}, nil)
			cacheGet(t, tr, "GET", "/r", "alice")
			time.Sleep(30 * time.Minute) // within a tenth of 100 hours, and within the hour a stale entry is kept
			status, body, cache := cacheGet(t, tr, "GET", "/r", "alice")
			if status != 200 || body != "unchanged for 100 hours" || cache != c.second {
				t.Errorf("heuristic %v, 30 min later: %d %q, Heed-Cache %q; want 200, the body, %q", c.heuristic, status, body, cache, c.second)
			}
		})
	}
}

// TestCacheKeepsCookiesApart: requests without a credential heed knows but
// with different cookies (a session is a credential too) never share an
// entry, even when the API does not say Vary: Cookie.
func TestCacheKeepsCookiesApart(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "private, max-age=60")
			w.Header().Set("ETag", `"x"`)
			_, _ = fmt.Fprintf(w, "page of %s", r.Header.Get("Cookie"))
		})
		tr := transport(t, handlerTransport{srv}, heed.Upstream{Cache: heed.CachePolicy{Enabled: true}}, nil)
		get := func(cookie string) (string, string) {
			req, _ := http.NewRequest(http.MethodGet, "https://api.test/me", nil)
			req.Header.Set("Cookie", cookie)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b), resp.Header.Get(heed.CacheHeader)
		}
		for i, c := range []struct{ cookie, body, cache string }{
			{"session=alice", "page of session=alice", heed.CacheMiss},
			{"session=bob", "page of session=bob", heed.CacheMiss},
			{"session=alice", "page of session=alice", heed.CacheHit},
		} {
			if body, cache := get(c.cookie); body != c.body || cache != c.cache {
				t.Errorf("request %d with %s: %q, Heed-Cache %q; want %q, %q", i, c.cookie, body, cache, c.body, c.cache)
			}
		}
	})
}

// TestStaleIfError: when the API fails, a stale entry stands in for the
// failure only as far as a stale-if-error (the response's or the
// request's) allows, and never past must-revalidate.
func TestStaleIfError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, cacheControl string
		request            []string
		wait               time.Duration
		status             int
		cache              string
	}{
		{"within the response's window", "max-age=1, stale-if-error=60", nil, 30 * time.Second, 200, heed.CacheStale},
		{"past it", "max-age=1, stale-if-error=60", nil, 2 * time.Minute, 503, heed.CacheMiss},
		{"none said", "max-age=1", nil, 30 * time.Second, 503, heed.CacheMiss},
		{"the request's window", "max-age=1", []string{"Cache-Control", "stale-if-error=3600"}, 30 * time.Second, 200, heed.CacheStale},
		{"must-revalidate", "max-age=1, must-revalidate, stale-if-error=60", nil, 30 * time.Second, 503, heed.CacheMiss},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var down sync.Mutex
				failing := false
				srv := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					down.Lock()
					defer down.Unlock()
					if failing {
						w.WriteHeader(http.StatusServiceUnavailable)
						return
					}
					w.Header().Set("Cache-Control", c.cacheControl)
					w.Header().Set("ETag", `"v1"`)
					w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
					_, _ = w.Write([]byte("the last good answer"))
				})
				tr := transport(t, handlerTransport{srv}, heed.Upstream{Retry: heed.RetryPolicy{Attempts: 1}, Cache: heed.CachePolicy{Enabled: true}}, nil)
				cacheGet(t, tr, "GET", "/r", "alice")
				down.Lock()
				failing = true
				down.Unlock()
				time.Sleep(c.wait)
				status, body, cache := cacheGet(t, tr, "GET", "/r", "alice", c.request...)
				want := ""
				if c.status == 200 {
					want = "the last good answer"
				}
				if status != c.status || body != want || cache != c.cache {
					t.Errorf("%d %q, Heed-Cache %q; want %d %q, %q", status, body, cache, c.status, want, c.cache)
				}
			})
		})
	}
}
