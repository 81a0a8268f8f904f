package httpcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCacheVary(t *testing.T) {
	t.Parallel()
	f := newFixture(Options{})
	vary := header("Cache-Control", "max-age=60", "Vary", "accept-encoding")
	f.store(t, request("GET", target, header("Accept-Encoding", "gzip")), 200, vary, "gzipped")
	tests := []struct {
		name string
		h    http.Header
		want State
	}{
		{"SameValue", header("Accept-Encoding", "gzip"), Fresh},
		{"SameValueSpaces", header("Accept-Encoding", " gzip "), Fresh},
		{"OtherValue", header("Accept-Encoding", "br"), Miss},
		{"Absent", nil, Miss},
		{"Empty", header("Accept-Encoding", ""), Miss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if l := f.lookup(t, request("GET", target, tt.h)); l.State != tt.want {
				t.Errorf("state %v, want %v", l.State, tt.want)
			}
		})
	}
	t.Run("NewVaryReplacesIndex", func(t *testing.T) {
		f.store(t, request("GET", target, header("Accept", "text/csv")), 200, header("Cache-Control", "max-age=60", "Vary", "Accept"), "csv")
		if l := f.lookup(t, request("GET", target, header("Accept-Encoding", "gzip"))); l.State != Miss {
			t.Errorf("old variant: state %v, want miss", l.State)
		}
		l := f.lookup(t, request("GET", target, header("Accept", "text/csv")))
		if l.State != Fresh || string(l.Entry.Body) != "csv" {
			t.Errorf("new variant: state %v, want fresh csv", l.State)
		}
	})
}

// TestCacheVaryAuthorization: a response varying on Authorization is kept
// per credential value, and one value never gets another's response.
func TestCacheVaryAuthorization(t *testing.T) {
	t.Parallel()
	f := newFixture(Options{})
	h := func() http.Header { return header("Cache-Control", "max-age=60", "Vary", "Authorization") }
	f.store(t, request("GET", target, header("Authorization", "Bearer A")), 200, h(), "for A")
	if l := f.lookup(t, request("GET", target, header("Authorization", "Bearer B"))); l.State != Miss || l.Entry != nil {
		t.Fatalf("B got A's entry: state %v", l.State)
	}
	f.store(t, request("GET", target, header("Authorization", "Bearer B")), 200, h(), "for B")
	for _, who := range []string{"A", "B"} {
		l := f.lookup(t, request("GET", target, header("Authorization", "Bearer "+who)))
		if l.State != Fresh || string(l.Entry.Body) != "for "+who {
			t.Errorf("%s: state %v, body %q; want fresh %q", who, l.State, l.Entry.Body, "for "+who)
		}
	}
}

func TestCacheRefresh(t *testing.T) {
	t.Parallel()
	f := newFixture(Options{})
	ctx := context.Background()
	f.store(t, request("GET", target, nil), 200,
		header("Cache-Control", "max-age=60", "Etag", `"v1"`, "X-Rev", "1", "Content-Type", "text/plain", "Age", "5"), "hello")
	f.clk.Advance(2 * time.Minute)
	req := request("GET", target, nil)
	l := f.lookup(t, req)
	if l.State != Stale {
		t.Fatalf("state %v, want stale", l.State)
	}
	cond := make(http.Header)
	l.Conditional(cond)
	if cond.Get("If-None-Match") != `"v1"` || cond.Get("If-Modified-Since") != "" {
		t.Fatalf("conditionals %v, want If-None-Match \"v1\" only", cond)
	}
	sent, received := f.clk.Now(), f.clk.Now().Add(time.Second)
	nm := &http.Response{StatusCode: 304, Header: header("Cache-Control", "max-age=120", "Etag", `"v1"`, "X-Rev", "2",
		"Content-Length", "0", "Set-Cookie", "s=1", "Date", httpDate(received))}
	e, err := f.c.Refresh(ctx, "p", l, req, nm, sent, received)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	want := map[string]string{"X-Rev": "2", "Cache-Control": "max-age=120", "Content-Length": "5", "Content-Type": "text/plain",
		"Set-Cookie": "", "Age": "", "Date": httpDate(received)}
	for name, v := range want {
		if got := e.Header.Get(name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	if string(e.Body) != "hello" || !e.ResponseTime.Equal(received) || !e.RequestTime.Equal(sent) {
		t.Errorf("body %q, times %v %v; want the old body and the new times", e.Body, e.RequestTime, e.ResponseTime)
	}
	if l.Entry.Header.Get("X-Rev") != "1" {
		t.Error("Refresh modified the looked-up entry")
	}
	f.clk.Advance(100 * time.Second)
	l = f.lookup(t, req)
	if l.State != Fresh || l.Entry.Header.Get("X-Rev") != "2" {
		t.Errorf("after refresh: state %v, X-Rev %q; want fresh 2", l.State, l.Entry.Header.Get("X-Rev"))
	}

	t.Run("Mismatch", func(t *testing.T) {
		nm := &http.Response{StatusCode: 304, Header: header("Etag", `"v2"`)}
		if _, err := f.c.Refresh(ctx, "p", l, req, nm, f.clk.Now(), f.clk.Now()); !errors.Is(err, ErrMismatch) {
			t.Fatalf("Refresh: %v, want ErrMismatch", err)
		}
		if l := f.lookup(t, req); l.Entry != nil {
			t.Error("mismatched entry kept")
		}
	})
}

func TestCacheResponse(t *testing.T) {
	t.Parallel()
	f := newFixture(Options{})
	for _, method := range []string{"GET", "HEAD"} {
		f.store(t, request(method, target, nil), 200, header("Cache-Control", "max-age=60", "Age", "10", "Content-Length", "5"), "hello")
	}
	f.clk.Advance(5*time.Second + 900*time.Millisecond)
	get := request("GET", target, nil)
	resp := f.c.Response(f.lookup(t, get).Entry, get)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Status != "200 OK" || resp.Proto != "HTTP/1.1" || resp.Request != get ||
		string(body) != "hello" || resp.ContentLength != 5 || resp.Header.Get("Age") != "15" {
		t.Errorf("GET response %+v, body %q; want 200, hello, Age 15", resp, body)
	}
	head := request("HEAD", target, nil)
	resp = f.c.Response(f.lookup(t, head).Entry, head)
	if resp.Body != http.NoBody || resp.ContentLength != 5 {
		t.Errorf("HEAD response body %v, ContentLength %d; want NoBody, 5", resp.Body, resp.ContentLength)
	}
}

func TestLookupNotModified(t *testing.T) {
	t.Parallel()
	lm := httpDate(t0.Add(-time.Hour))
	l := Lookup{State: Fresh, Entry: &Entry{Status: 200, Header: header("Etag", `W/"a"`, "Last-Modified", lm)}}
	tests := []struct {
		name string
		h    http.Header
		want bool
	}{
		{"None", nil, false},
		{"WeakMatch", header("If-None-Match", `"a"`), true},
		{"InList", header("If-None-Match", `"x", W/"a"`), true},
		{"CommaInTag", header("If-None-Match", `"x,a", "y"`), false},
		{"Star", header("If-None-Match", "*"), true},
		{"NoMatch", header("If-None-Match", `"b"`), false},
		{"NoneMatchBeatsModifiedSince", header("If-None-Match", `"b"`, "If-Modified-Since", httpDate(t0)), false},
		{"ModifiedSinceLater", header("If-Modified-Since", httpDate(t0)), true},
		{"ModifiedSinceSame", header("If-Modified-Since", lm), true},
		{"ModifiedSinceEarlier", header("If-Modified-Since", httpDate(t0.Add(-2*time.Hour))), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := l.NotModified(request("GET", target, tt.h)); got != tt.want {
				t.Errorf("NotModified = %v, want %v", got, tt.want)
			}
		})
	}
	stale := l
	stale.State = Stale
	if stale.NotModified(request("GET", target, header("If-None-Match", "*"))) {
		t.Error("NotModified for a stale entry")
	}
}

func TestCacheInvalidate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const other = "https://api.example.com/v1/other"
	const foreign = "https://elsewhere.example.com/v1/items"
	tests := []struct {
		name      string
		method    string
		status    int
		location  string
		wantGone  []string
		wantStays []string
	}{
		{"PostDropsTarget", "POST", 201, "", []string{target}, []string{other}},
		{"DeleteDropsLocation", "DELETE", 204, "/v1/other", []string{target, other}, nil},
		{"ForeignLocationKept", "PUT", 200, foreign, []string{target}, []string{foreign}},
		{"ErrorKeepsAll", "POST", 500, "", nil, []string{target, other}},
		{"SafeMethodKeepsAll", "OPTIONS", 200, "", nil, []string{target, other}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(Options{})
			for _, u := range []string{target, other, foreign} {
				f.store(t, request("GET", u, nil), 200, header("Cache-Control", "max-age=60"), "x")
			}
			resp := &http.Response{StatusCode: tt.status, Header: header("Location", tt.location)}
			if err := f.c.Invalidate(ctx, "p", request(tt.method, target, nil), resp); err != nil {
				t.Fatal(err)
			}
			for _, u := range tt.wantGone {
				if l := f.lookup(t, request("GET", u, nil)); l.Entry != nil {
					t.Errorf("%s kept", u)
				}
			}
			for _, u := range tt.wantStays {
				if l := f.lookup(t, request("GET", u, nil)); l.State != Fresh {
					t.Errorf("%s dropped", u)
				}
			}
		})
	}
}

func TestFlightKey(t *testing.T) {
	t.Parallel()
	base := FlightKey("p", request("GET", target, header("Accept", "application/json", "Traceparent", "00-a-b-01")))
	if len(base) != 64 {
		t.Fatalf("key %q, want 64 hex digits", base)
	}
	same := map[string]*http.Request{
		"OtherNoise": request("GET", target, header("Accept", "application/json", "X-Request-Id", "7", "X-B3-Traceid", "1",
			"Heed-Tenant", "t", "X-Stainless-Retry-Count", "2")),
		"NormalizedURL": request("GET", "https://api.example.com/v1/items?api_key=SECRET&b=2#f", header("Accept", "application/json")),
	}
	for name, req := range same {
		if got := FlightKey("p", req); got != base {
			t.Errorf("%s: key differs", name)
		}
	}
	different := map[string]*http.Request{
		"Header":        request("GET", target, header("Accept", "text/csv")),
		"Authorization": request("GET", target, header("Accept", "application/json", "Authorization", "Bearer x")),
		"Method":        request("HEAD", target, header("Accept", "application/json")),
		"ValueOrder":    request("GET", target, header("Accept", "application/json", "Accept", "text/csv")),
	}
	for name, req := range different {
		if got := FlightKey("p", req); got == base || got == "" {
			t.Errorf("%s: key %q, want another", name, got)
		}
	}
	if FlightKey("q", request("GET", target, header("Accept", "application/json"))) == base {
		t.Error("partition ignored")
	}
	never := map[string]*http.Request{
		"Post":  request("POST", target, nil),
		"Range": request("GET", target, header("Range", "bytes=0-1")),
	}
	withBody, _ := http.NewRequest("GET", target, http.NoBody)
	withBody.ContentLength = 3
	never["Body"] = withBody
	for name, req := range never {
		if got := FlightKey("p", req); got != "" {
			t.Errorf("%s: key %q, want none", name, got)
		}
	}
}

// TestCacheKeysRevealNothing: over a byte store, every key is a hex
// digest; neither the URL, its api_key, nor a varied header value shows.
func TestCacheKeysRevealNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blobs := &blobMap{m: make(map[string][]byte)}
	c := New(Encoded(blobs), Options{Now: func() time.Time { return t0 }})
	req := request("GET", target, header("Authorization", "Bearer TOKEN"))
	resp := &http.Response{StatusCode: 200, Header: header("Cache-Control", "max-age=60", "Vary", "Authorization", "Date", httpDate(t0))}
	if ok, err := c.Store(ctx, "p", req, resp, []byte("x"), t0, t0); !ok || err != nil {
		t.Fatalf("Store = %v, %v", ok, err)
	}
	if len(blobs.m) != 2 {
		t.Fatalf("%d keys, want an index and a variant", len(blobs.m))
	}
	for k := range blobs.m {
		if len(k) != 64 || strings.Trim(k, "0123456789abcdef") != "" {
			t.Errorf("key %q is not a hex SHA-256", k)
		}
	}
	if l, err := c.Lookup(ctx, "p", req); err != nil || l.State != Fresh {
		t.Errorf("Lookup over Encoded = %v, %v; want fresh", l.State, err)
	}
}

func TestCacheConcurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				u := fmt.Sprintf("%s&n=%d", target, (g+i)%10)
				req := request("GET", u, header("Accept", "a"))
				resp := &http.Response{StatusCode: 200, Header: header("Cache-Control", "max-age=60", "Etag", `"e"`, "Vary", "Accept")}
				if _, err := f.c.Store(ctx, "p", req, resp, []byte("body"), t0, t0); err != nil {
					t.Error(err)
					return
				}
				l, err := f.c.Lookup(ctx, "p", req)
				if err != nil {
					t.Error(err)
					return
				}
				if l.Entry != nil {
					_ = f.c.Response(l.Entry, req)
					nm := &http.Response{StatusCode: 304, Header: header("Etag", `"e"`)}
					if _, err := f.c.Refresh(ctx, "p", l, req, nm, t0, t0); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestFactsFromBytes: an entry decoded from a byte store (whose facts are
// worked out at lookup) is judged exactly as the same entry kept in memory
// (whose facts were worked out once, at Store).
func TestFactsFromBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var now time.Time
	clock := func() time.Time { return now }
	mem := New(NewMemory(1<<20, clock), Options{Now: clock})
	enc := New(Encoded(&blobMap{m: make(map[string][]byte)}), Options{Now: clock})
	req := request("GET", target, nil)
	resp := &http.Response{StatusCode: 200, Header: header("Cache-Control", "max-age=60", "Age", "10", "Etag", `"v1"`, "Date", httpDate(t0))}
	for _, c := range []*Cache{mem, enc} {
		now = t0
		if ok, err := c.Store(ctx, "p", req, resp, []byte("x"), t0, t0); !ok || err != nil {
			t.Fatalf("Store = %v, %v", ok, err)
		}
	}
	for _, after := range []time.Duration{0, 49 * time.Second, 50 * time.Second, 2 * time.Minute} {
		now = t0.Add(after)
		lm, err1 := mem.Lookup(ctx, "p", req)
		le, err2 := enc.Lookup(ctx, "p", req)
		if err1 != nil || err2 != nil || lm.State != le.State || CurrentAge(lm.Entry, now) != CurrentAge(le.Entry, now) {
			t.Errorf("after %v: memory %v (age %v), bytes %v (age %v); want the same", after, lm.State, CurrentAge(lm.Entry, now), le.State, CurrentAge(le.Entry, now))
		}
		if want := Fresh; after >= 50*time.Second {
			if lm.State != Stale {
				t.Errorf("after %v: %v, want stale (Age 10 + 50 s of max-age 60)", after, lm.State)
			}
		} else if lm.State != want {
			t.Errorf("after %v: %v, want fresh", after, lm.State)
		}
	}
}
