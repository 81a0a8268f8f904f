package mockapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newLoopback serves a Server for cfg, on a fake clock at t0, over
// loopback until the test ends.
func newLoopback(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	s := newTestServer(t, cfg, newFakeClock(t0))
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// send sends method url with the credential ("" for none) and header,
// and returns the response with its body read.
func send(t *testing.T, method, url, credential string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if credential != "" {
		req.Header.Set("Authorization", "Bearer "+credential)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp, readBody(t, resp)
}

// statsAfter returns s's Stats once n requests were answered and logged:
// over loopback, a client may read a whole answer before the mock counted
// it. This polls in real time, with a generous bound.
func statsAfter(t *testing.T, s *Server, n int) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.Log()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d answers logged after 10s, want %d", len(s.Log()), n)
		}
		time.Sleep(time.Millisecond)
	}
	return s.Stats()
}

// decodeResource decodes a resource's body.
func decodeResource(t *testing.T, body string) resourceBody {
	t.Helper()
	var b resourceBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("the body %q is not a resource: %v", body, err)
	}
	return b
}

func TestResourceAnswer(t *testing.T) {
	t.Parallel()
	_, url := newLoopback(t, Config{})
	resp, body := send(t, "GET", url+"/resources/repo", "sk-1", map[string]string{"Accept": "application/vnd.github+json"})
	want := map[string]string{
		"Cache-Control": "private, max-age=60, s-maxage=60",
		"Vary":          "Accept, Authorization, X-Api-Key",
		"Last-Modified": t0.Format(http.TimeFormat),
		"Content-Type":  "application/json; charset=utf-8",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("got %s %q, want %q", k, got, v)
		}
	}
	if etag := resp.Header.Get("Etag"); len(etag) != 18 || etag[0] != '"' || etag[17] != '"' {
		t.Errorf("got ETag %q, want a strong tag of 16 hex digits", etag)
	}
	got := decodeResource(t, body)
	wantBody := resourceBody{Name: "repo", Version: 1, Modified: t0, CredID: CredID("sk-1"), Accept: "application/vnd.github+json"}
	if resp.StatusCode != 200 || got != wantBody {
		t.Errorf("got %d %+v, want 200 %+v", resp.StatusCode, got, wantBody)
	}
	if strings.Contains(body, "sk-1") {
		t.Errorf("the body %q shows the credential", body)
	}
}

func TestResourceConditional(t *testing.T) {
	t.Parallel()
	s, url := newLoopback(t, Config{Dialect: DialectGitHub,
		Limit: Limit{Algorithm: AlgorithmFixed, Requests: 100, Per: time.Hour}})
	first, _ := send(t, "GET", url+"/resources/r", "sk-1", nil)
	etag, modified := first.Header.Get("Etag"), first.Header.Get("Last-Modified")
	tests := []struct {
		name   string
		method string
		header map[string]string
		want   int
	}{
		{"ETagMatches", "GET", map[string]string{"If-None-Match": etag}, 304},
		{"ETagDiffers", "GET", map[string]string{"If-None-Match": `"other"`}, 200},
		{"WeakComparison", "GET", map[string]string{"If-None-Match": "W/" + etag}, 304},
		{"List", "GET", map[string]string{"If-None-Match": `"other", ` + etag}, 304},
		{"Star", "GET", map[string]string{"If-None-Match": "*"}, 304},
		{"ModifiedSince", "GET", map[string]string{"If-Modified-Since": modified}, 304},
		{"ModifiedBefore", "GET", map[string]string{"If-Modified-Since": t0.Add(-time.Second).Format(http.TimeFormat)}, 200},
		{"NoneMatchWins", "GET", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": modified}, 200},
		{"OtherAccept", "GET", map[string]string{"If-None-Match": etag, "Accept": "text/html"}, 200},
		{"Head", "HEAD", nil, 200},
		{"HeadMatches", "HEAD", map[string]string{"If-None-Match": etag}, 304},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := send(t, tt.method, url+"/resources/r", "sk-1", tt.header)
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d, want %d", resp.StatusCode, tt.want)
			}
			for _, k := range []string{"Etag", "Cache-Control", "Vary", "Last-Modified", "X-Ratelimit-Remaining"} {
				if resp.Header.Get(k) == "" {
					t.Errorf("no %s header", k)
				}
			}
			if (tt.want == 304 || tt.method == "HEAD") && body != "" {
				t.Errorf("got body %q, want none", body)
			}
			if tt.want == 200 && tt.method == "GET" && decodeResource(t, body).Version != 1 {
				t.Errorf("got body %q, want version 1", body)
			}
		})
	}
	res := statsAfter(t, s, 12).Resources["r"]
	want := ResourceCounts{OK: 6, NotModified: 6, Head: 2} // the first GET included
	if res.ResourceCounts != want || res.Credentials[CredID("sk-1")] != want {
		t.Errorf("got counts %+v, want %+v in total and for sk-1", res, want)
	}
}

func TestFree304(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	tests := []struct {
		name    string
		dialect string
		free    *bool
		charged bool
		refusal int
	}{
		{"GitHubFree", DialectGitHub, nil, false, 403},
		{"GitHubCharged", DialectGitHub, &no, true, 403},
		{"IETFCharged", DialectIETF, nil, true, 429},
		{"IETFFree", DialectIETF, &yes, false, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, url := newLoopback(t, Config{Dialect: tt.dialect, Cache: Cache{Free304: tt.free},
				Limit: Limit{Algorithm: AlgorithmFixed, Requests: 10, Per: time.Hour}})
			first, _ := send(t, "GET", url+"/resources/r", "sk-1", nil)
			cond := map[string]string{"If-None-Match": first.Header.Get("Etag")}
			for i := range 100 {
				resp, _ := send(t, "GET", url+"/resources/r", "sk-1", cond)
				want, remaining := 304, "9"
				if tt.charged {
					remaining = strconv.Itoa(max(8-i, 0))
					if i >= 9 {
						want = tt.refusal
					}
				}
				if resp.StatusCode != want || remaining != remainingOf(resp) {
					t.Fatalf("conditional request %d: got %d remaining %q, want %d %q",
						i+1, resp.StatusCode, remainingOf(resp), want, remaining)
				}
			}
			if n := statsAfter(t, s, 101).Resources["r"].NotModified; tt.charged && n != 9 || !tt.charged && n != 100 {
				t.Errorf("got %d 304s", n)
			}
		})
	}
}

// remainingOf returns what a response of the github or ietf dialect says
// remains.
func remainingOf(resp *http.Response) string {
	if v := resp.Header.Get("X-Ratelimit-Remaining"); v != "" {
		return v
	}
	_, r, _ := strings.Cut(resp.Header.Get("Ratelimit"), ";r=")
	r, _, _ = strings.Cut(r, ";")
	return r
}

func TestRefusedBeforeConditional(t *testing.T) {
	t.Parallel()
	_, url := newLoopback(t, Config{Dialect: DialectGitHub, Limit: Limit{Algorithm: AlgorithmFixed, Requests: 1, Per: time.Hour}})
	first, _ := send(t, "GET", url+"/resources/r", "sk-1", nil)
	send(t, "GET", url+"/other", "sk-1", nil)
	resp, _ := send(t, "GET", url+"/resources/r", "sk-1", map[string]string{"If-None-Match": first.Header.Get("Etag")})
	if resp.StatusCode != 403 || resp.Header.Get("Etag") != "" {
		t.Errorf("got %d with ETag %q, want 403 without", resp.StatusCode, resp.Header.Get("Etag"))
	}
}

func TestResourcePerCredential(t *testing.T) {
	t.Parallel()
	s, url := newLoopback(t, Config{})
	a, bodyA := send(t, "GET", url+"/resources/r", "sk-a", nil)
	b, bodyB := send(t, "GET", url+"/resources/r", "sk-b", nil)
	if a.Header.Get("Etag") == b.Header.Get("Etag") || bodyA == bodyB {
		t.Errorf("two credentials got the same ETag %q or body %q", a.Header.Get("Etag"), bodyA)
	}
	if got := decodeResource(t, bodyB).CredID; got != CredID("sk-b") {
		t.Errorf("got cred_id %q for sk-b, want %q", got, CredID("sk-b"))
	}
	resp, _ := send(t, "GET", url+"/resources/r", "sk-b", map[string]string{"If-None-Match": a.Header.Get("Etag")})
	if resp.StatusCode != 200 {
		t.Errorf("sk-b with sk-a's ETag got %d, want 200", resp.StatusCode)
	}
	creds := statsAfter(t, s, 3).Resources["r"].Credentials
	if creds[CredID("sk-a")].OK != 1 || creds[CredID("sk-b")].OK != 2 {
		t.Errorf("got per-credential counts %+v", creds)
	}
}

func TestResourceChange(t *testing.T) {
	t.Parallel()
	s, url := newLoopback(t, Config{})
	first, _ := send(t, "GET", url+"/resources/r", "sk-1", nil)
	resp, body := send(t, "POST", url+"/_mock/resources/r?size=5000", "", nil)
	var res Resource
	if err := json.Unmarshal([]byte(body), &res); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /_mock/resources/r: %d %q", resp.StatusCode, body)
	}
	if want := (Resource{Name: "r", Version: 2, Modified: t0.Add(time.Second), Size: 5000}); res != want {
		t.Errorf("got %+v, want %+v", res, want)
	}
	for _, cond := range []map[string]string{
		{"If-None-Match": first.Header.Get("Etag")},
		{"If-Modified-Since": first.Header.Get("Last-Modified")},
	} {
		resp, body := send(t, "GET", url+"/resources/r", "sk-1", cond)
		if resp.StatusCode != 200 || len(body) != 5000 || decodeResource(t, body).Version != 2 {
			t.Errorf("%v after the change: got %d, %d bytes, want 200 with version 2 in 5000 bytes", cond, resp.StatusCode, len(body))
		}
	}
	if v := s.Stats().Resources["r"].Version; v != 2 {
		t.Errorf("got version %d in Stats, want 2", v)
	}
	for _, bad := range []string{"?size=-1", "?size=9000000", "?size=x"} {
		if resp, _ := send(t, "POST", url+"/_mock/resources/r"+bad, "", nil); resp.StatusCode != 400 {
			t.Errorf("POST %s: got %d, want 400", bad, resp.StatusCode)
		}
	}
}

func TestCacheConfig(t *testing.T) {
	t.Parallel()
	zero, ten := time.Duration(0), 10*time.Second
	tests := []struct {
		name         string
		cache        Cache
		cacheControl string
		etag         string // "strong", "weak" or "" for none
		lastModified bool
	}{
		{"Default", Cache{}, "private, max-age=60, s-maxage=60", "strong", true},
		{"MaxAgeZero", Cache{MaxAge: &zero}, "private, max-age=0, s-maxage=0", "strong", true},
		{"MaxAgeTen", Cache{MaxAge: &ten}, "private, max-age=10, s-maxage=10", "strong", true},
		{"NoMaxAge", Cache{NoMaxAge: true}, "private", "strong", true},
		{"Public", Cache{Public: true}, "public, max-age=60, s-maxage=60", "strong", true},
		{"NoCache", Cache{NoCache: true, MustRevalidate: true}, "private, max-age=60, s-maxage=60, no-cache, must-revalidate", "strong", true},
		{"NoStore", Cache{NoStore: true, NoMaxAge: true}, "private, no-store", "strong", true},
		{"WeakETag", Cache{WeakETag: true}, "private, max-age=60, s-maxage=60", "weak", true},
		{"NoETag", Cache{NoETag: true}, "private, max-age=60, s-maxage=60", "", true},
		{"NoValidators", Cache{NoETag: true, NoLastModified: true}, "private, max-age=60, s-maxage=60", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, url := newLoopback(t, Config{Cache: tt.cache})
			resp, _ := send(t, "GET", url+"/resources/r", "sk-1", nil)
			etag := resp.Header.Get("Etag")
			kind := map[bool]string{true: "weak", false: "strong"}[strings.HasPrefix(etag, `W/"`)]
			if etag == "" {
				kind = ""
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.cacheControl || kind != tt.etag ||
				(resp.Header.Get("Last-Modified") != "") != tt.lastModified {
				t.Errorf("got Cache-Control %q ETag %q Last-Modified %q, want %q, %s ETag, Last-Modified %v",
					got, etag, resp.Header.Get("Last-Modified"), tt.cacheControl, tt.etag, tt.lastModified)
			}
			// Revalidating with whatever validators came back: 304 when there were any.
			cond := map[string]string{"If-Modified-Since": resp.Header.Get("Last-Modified")}
			if etag != "" {
				cond = map[string]string{"If-None-Match": strings.TrimPrefix(etag, "W/")}
			}
			want := 200
			if etag != "" || tt.lastModified {
				want = 304
			}
			if resp, _ := send(t, "GET", url+"/resources/r", "sk-1", cond); resp.StatusCode != want {
				t.Errorf("revalidating: got %d, want %d", resp.StatusCode, want)
			}
		})
	}
}

func TestCacheConfigErrors(t *testing.T) {
	t.Parallel()
	neg, frac, ten := -time.Second, 1500*time.Millisecond, 10*time.Second
	tests := []struct {
		name  string
		cache Cache
		want  string
	}{
		{"Negative", Cache{MaxAge: &neg}, "negative"},
		{"Fraction", Cache{MaxAge: &frac}, "whole seconds"},
		{"MaxAgeAndNone", Cache{MaxAge: &ten, NoMaxAge: true}, "both set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(Config{Cache: tt.cache}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one saying %q", err, tt.want)
			}
		})
	}
}
