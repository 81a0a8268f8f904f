package httpcache

import (
	"context"
	"net/http"
	"testing"
	"time"
)

const target = "https://API.example.com:443/v1/items?api_key=SECRET&b=2"

// fixture is a Cache over a Memory on a fake clock.
type fixture struct {
	clk *clock
	mem *Memory
	c   *Cache
}

func newFixture(o Options) *fixture {
	clk := newClock()
	o.Now = clk.Now
	mem := NewMemory(1<<20, clk.Now)
	return &fixture{clk: clk, mem: mem, c: New(mem, o)}
}

func request(method, url string, h http.Header) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	return req
}

// store stores a response with status, header h and body for req, at the
// fake clock's now, and reports whether it was stored.
func (f *fixture) store(t *testing.T, req *http.Request, status int, h http.Header, body string) bool {
	t.Helper()
	if h.Get("Date") == "" {
		h.Set("Date", httpDate(f.clk.Now()))
	}
	resp := &http.Response{StatusCode: status, Header: h, ContentLength: int64(len(body))}
	ok, err := f.c.Store(context.Background(), "p", req, resp, []byte(body), f.clk.Now(), f.clk.Now())
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	return ok
}

func (f *fixture) lookup(t *testing.T, req *http.Request) Lookup {
	t.Helper()
	l, err := f.c.Lookup(context.Background(), "p", req)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if l.State != Miss && l.Entry == nil {
		t.Fatalf("state %v with entry %v", l.State, l.Entry)
	}
	return l
}

func TestCacheRules(t *testing.T) {
	t.Parallel()
	etag := `"v1"`
	rfcDate := "Tue, 15 Nov 1994 08:12:31 GMT" // t0
	tests := []struct {
		name       string
		o          Options
		method     string      // of both requests; "" is GET
		storeReq   http.Header // the request that fetched the response
		status     int         // "" is 200
		resp       http.Header
		wantStored bool
		advance    time.Duration
		lookupReq  http.Header
		want       State
	}{
		{name: "MaxAgeFresh", resp: header("Cache-Control", "max-age=60"), wantStored: true, advance: 59 * time.Second, want: Fresh},
		{name: "MaxAgeStaleValidator", resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true, advance: 60 * time.Second, want: Stale},
		{name: "StaleDroppedAfterKeepStale", resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true, advance: 61 * time.Minute, want: Miss},
		{name: "OwnKeepStale", o: Options{KeepStale: 10 * time.Minute}, resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true,
			advance: 11 * time.Minute, want: Miss},
		{name: "MaxAgeStaleNoValidator", resp: header("Cache-Control", "max-age=60"), wantStored: true, advance: 61 * time.Second, want: Miss},
		{name: "AgeTenFreshAt49", resp: header("Cache-Control", "max-age=60", "Age", "10", "Etag", etag), wantStored: true, advance: 49 * time.Second, want: Fresh},
		{name: "AgeTenStaleAt50", resp: header("Cache-Control", "max-age=60", "Age", "10", "Etag", etag), wantStored: true, advance: 50 * time.Second, want: Stale},
		{name: "AgeBeyondMaxAgeNotStored", resp: header("Cache-Control", "max-age=60", "Age", "60"), wantStored: false, want: Miss},
		{name: "RFCExpiresFresh", resp: header("Date", rfcDate, "Expires", "Thu, 01 Dec 1994 16:00:00 GMT", "Etag", etag),
			wantStored: true, advance: 16*24*time.Hour + 7*time.Hour + 47*time.Minute + 28*time.Second, want: Fresh},
		{name: "RFCExpiresStale", resp: header("Date", rfcDate, "Expires", "Thu, 01 Dec 1994 16:00:00 GMT", "Etag", etag),
			wantStored: true, advance: 16*24*time.Hour + 8*time.Hour, want: Stale}, // 12 min 31 s past, within KeepStale
		{name: "InvalidExpiresStale", resp: header("Expires", "0", "Etag", etag), wantStored: true, want: Stale},
		{name: "InvalidMaxAgeStale", resp: header("Cache-Control", "max-age=x", "Expires", httpDate(t0.Add(time.Hour)), "Etag", etag), wantStored: true, want: Stale},
		{name: "HeuristicOff", resp: header("Last-Modified", httpDate(t0.Add(-10*time.Hour))), wantStored: true, want: Stale},
		{name: "HeuristicOn", o: Options{Heuristic: 0.1}, resp: header("Last-Modified", httpDate(t0.Add(-10*time.Hour))),
			wantStored: true, advance: 59 * time.Minute, want: Fresh},
		{name: "HeuristicOnWithoutValidatorNotStored", o: Options{Heuristic: 0.1}, resp: header(), wantStored: false, want: Miss},
		{name: "NothingToGoOnNotStored", resp: header("Content-Type", "text/plain"), wantStored: false, want: Miss},
		{name: "ResponseNoStore", resp: header("Cache-Control", "no-store, max-age=60"), wantStored: false, want: Miss},
		{name: "RequestNoStore", storeReq: header("Cache-Control", "no-store"), resp: header("Cache-Control", "max-age=60"), wantStored: false, want: Miss},
		{name: "PrivateStored", resp: header("Cache-Control", "private, max-age=60"), wantStored: true, want: Fresh},
		{name: "AuthorizationStored", storeReq: header("Authorization", "Bearer k"), resp: header("Cache-Control", "max-age=60"),
			wantStored: true, lookupReq: header("Authorization", "Bearer k"), want: Fresh},
		{name: "ResponseNoCacheValidates", resp: header("Cache-Control", "no-cache, max-age=60", "Etag", etag), wantStored: true, want: Stale},
		{name: "ResponseNoCacheWithoutValidatorNotStored", resp: header("Cache-Control", "no-cache, max-age=60"), wantStored: false, want: Miss},
		{name: "ResponseNoCacheBeatsMaxStale", resp: header("Cache-Control", "no-cache, max-age=60", "Etag", etag), wantStored: true,
			lookupReq: header("Cache-Control", "max-stale"), want: Stale},
		{name: "QualifiedNoCacheServes", resp: header("Cache-Control", `no-cache="X-Secret", max-age=60`), wantStored: true, want: Fresh},
		{name: "RequestNoCache", resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true,
			lookupReq: header("Cache-Control", "no-cache"), want: Stale},
		{name: "RequestNoCacheWithoutValidator", resp: header("Cache-Control", "max-age=60"), wantStored: true,
			lookupReq: header("Cache-Control", "no-cache"), want: Miss},
		{name: "PragmaNoCache", resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true,
			lookupReq: header("Pragma", "no-cache"), want: Stale},
		{name: "PragmaIgnoredWithCacheControl", resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true,
			lookupReq: header("Pragma", "no-cache", "Cache-Control", "max-stale=1"), want: Fresh},
		{name: "RequestMaxAge", resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true, advance: 20 * time.Second,
			lookupReq: header("Cache-Control", "max-age=10"), want: Stale},
		{name: "RequestMaxAgeMet", resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true, advance: 5 * time.Second,
			lookupReq: header("Cache-Control", "max-age=10"), want: Fresh},
		{name: "RequestMinFresh", resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true, advance: 20 * time.Second,
			lookupReq: header("Cache-Control", "min-fresh=50"), want: Stale},
		{name: "RequestMinFreshMet", resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true, advance: 20 * time.Second,
			lookupReq: header("Cache-Control", "min-fresh=40"), want: Fresh},
		{name: "MaxStaleServes", resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true, advance: 90 * time.Second,
			lookupReq: header("Cache-Control", "max-stale=30"), want: Fresh},
		{name: "MaxStaleTooLittle", resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true, advance: 90 * time.Second,
			lookupReq: header("Cache-Control", "max-stale=29"), want: Stale},
		{name: "MaxStaleAny", resp: header("Cache-Control", "max-age=60", "Etag", etag), wantStored: true, advance: 50 * time.Minute,
			lookupReq: header("Cache-Control", "max-stale"), want: Fresh},
		{name: "MustRevalidateBeatsMaxStale", resp: header("Cache-Control", "max-age=60, must-revalidate", "Etag", etag), wantStored: true,
			advance: 90 * time.Second, lookupReq: header("Cache-Control", "max-stale"), want: Stale},
		{name: "PartialNotStored", status: 206, resp: header("Cache-Control", "max-age=60"), wantStored: false, want: Miss},
		{name: "NotModifiedNotStored", status: 304, resp: header("Cache-Control", "max-age=60"), wantStored: false, want: Miss},
		{name: "NotFoundStored", status: 404, resp: header("Cache-Control", "max-age=60"), wantStored: true, want: Fresh},
		{name: "HeadStored", method: http.MethodHead, resp: header("Cache-Control", "max-age=60"), wantStored: true, want: Fresh},
		{name: "PostNeither", method: http.MethodPost, resp: header("Cache-Control", "max-age=60"), wantStored: false, want: Miss},
		{name: "VaryStarNotStored", resp: header("Cache-Control", "max-age=60", "Vary", "*"), wantStored: false, want: Miss},
		{name: "TooLongNotStored", o: Options{MaxEntryBytes: 3}, resp: header("Cache-Control", "max-age=60"), wantStored: false, want: Miss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(tt.o)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			status := tt.status
			if status == 0 {
				status = 200
			}
			if got := f.store(t, request(method, target, tt.storeReq), status, tt.resp, "body"); got != tt.wantStored {
				t.Fatalf("stored = %v, want %v", got, tt.wantStored)
			}
			f.clk.Advance(tt.advance)
			l := f.lookup(t, request(method, target, tt.lookupReq))
			if l.State != tt.want {
				t.Errorf("state %v, want %v", l.State, tt.want)
			}
		})
	}
}

func TestCacheStoredHeader(t *testing.T) {
	t.Parallel()
	f := newFixture(Options{})
	resp := header("Cache-Control", `max-age=60, no-cache="X-Secret", private="X-User"`, "Set-Cookie", "s=1",
		"Connection", "X-Conn", "X-Conn", "1", "Keep-Alive", "timeout=5", "X-Secret", "s", "X-User", "u", "X-Kept", "k")
	delete(resp, "Date")
	if !f.store(t, request("GET", target, nil), 200, resp, "body") {
		t.Fatal("not stored")
	}
	l := f.lookup(t, request("GET", target, nil))
	if l.State != Fresh {
		t.Fatalf("state %v, want fresh", l.State)
	}
	for _, name := range []string{"Set-Cookie", "Connection", "X-Conn", "Keep-Alive", "X-Secret", "X-User"} {
		if v, ok := l.Entry.Header[name]; ok {
			t.Errorf("%s stored (%q)", name, v)
		}
	}
	if l.Entry.Header.Get("X-Kept") != "k" || l.Entry.Header.Get("Date") != httpDate(t0) || l.Entry.Header.Get("Content-Length") != "4" {
		t.Errorf("stored header %v: want X-Kept, a Date of now and Content-Length 4", l.Entry.Header)
	}
}

func TestCacheKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(Options{})
	f.store(t, request("GET", target+"#frag", nil), 200, header("Cache-Control", "max-age=60"), "body")
	same := []string{
		"https://api.example.com/v1/items?api_key=SECRET&b=2",
		"HTTPS://api.EXAMPLE.com:443/v1/items?api_key=SECRET&b=2#other",
	}
	for _, u := range same {
		if l := f.lookup(t, request("GET", u, nil)); l.State != Fresh {
			t.Errorf("%s: state %v, want fresh", u, l.State)
		}
	}
	different := []string{
		"https://api.example.com/v1/items?b=2&api_key=SECRET", // query byte for byte
		"https://api.example.com:8443/v1/items?api_key=SECRET&b=2",
		"http://api.example.com/v1/items?api_key=SECRET&b=2",
		"https://api.example.com/v1/Items?api_key=SECRET&b=2",
	}
	for _, u := range different {
		if l := f.lookup(t, request("GET", u, nil)); l.State != Miss || l.Entry != nil {
			t.Errorf("%s: state %v, want miss", u, l.State)
		}
	}
	l, _ := f.c.Lookup(context.Background(), "other", request("GET", target, nil))
	if l.Entry != nil {
		t.Error("found in another partition")
	}
}
