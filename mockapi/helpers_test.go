package mockapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// t0 is the fake clock's start in unit tests: a whole second.
var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// fakeClock is a clock that tests move by hand. It is safe for concurrent
// use.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func newFakeClock(start time.Time) *fakeClock { return &fakeClock{now: start} }

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Sleep advances the clock by d instead of sleeping, unless ctx is done.
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return nil
}

// newTestServer returns a Server for cfg on clock, failing the test on a
// configuration error.
func newTestServer(t *testing.T, cfg Config, clock *fakeClock) *Server {
	t.Helper()
	cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// newRequest returns a request with the credential as a bearer token ("":
// none) and the body.
func newRequest(method, target, credential, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if credential != "" {
		r.Header.Set("Authorization", "Bearer "+credential)
	}
	return r
}

// serve sends r to s in-process and returns the response.
func serve(s *Server, r *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, r)
	return rec.Result()
}

// get sends GET target with the credential to s.
func get(s *Server, target, credential string) *http.Response {
	return serve(s, newRequest(http.MethodGet, target, credential, ""))
}

// readBody returns the response's body.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return string(b)
}
