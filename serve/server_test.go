package serve_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
	"github.com/heedhq/heed/serve"
)

// echo is an upstream that answers with what it received.
type echoed struct {
	Method, Path, RawPath, RawQuery, Body, XFF, Conn, Custom string
}

func newEcho(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, string(b),
			r.Header.Get("X-Forwarded-For"), r.Header.Get("Connection") + r.Header.Get("X-Hop"), r.Header.Get("X-Custom")})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newServer returns a heed serve handler for cfg in an httptest server.
func newServer(t *testing.T, cfg serve.Config) (*serve.Server, string) {
	t.Helper()
	s, err := serve.New(cfg, serve.Options{RetireAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() { hs.Close(); _ = s.Close() })
	return s, hs.URL
}

// getDrained sends a GET of url with the header name-value pairs and
// returns its response, body read to the end and closed.
func getDrained(t *testing.T, url string, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// apiErr reads a JSON error body.
func apiErr(t *testing.T, resp *http.Response) (code string, upstreams []string) {
	t.Helper()
	defer resp.Body.Close()
	var e struct {
		Error     string   `json:"error"`
		Message   string   `json:"message"`
		Upstreams []string `json:"upstreams"`
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error content type %q, want application/json", ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Message == "" {
		t.Fatalf("error body: %+v %v", e, err)
	}
	return e.Error, e.Upstreams
}

func TestRouteMode(t *testing.T) {
	t.Parallel()
	up := newEcho(t)
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "api", BaseURL: up.URL + "/v1"}}}})
	tests := []struct {
		method, path, body string
		want               echoed
	}{
		{"GET", "/api/items?q=a%20b&q=c&x=%2F", "", echoed{Method: "GET", Path: "/v1/items", RawQuery: "q=a%20b&q=c&x=%2F"}},
		{"POST", "/api/jobs", `{"n":1}`, echoed{Method: "POST", Path: "/v1/jobs", Body: `{"n":1}`}},
		{"GET", "/api/a%2Fb/c", "", echoed{Method: "GET", Path: "/v1/a/b/c", RawPath: "/v1/a%2Fb/c"}},
		{"DELETE", "/api/", "", echoed{Method: "DELETE", Path: "/v1/"}},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
		req.Header.Set("X-Custom", "kept")
		req.Header.Set("Connection", "X-Hop")
		req.Header.Set("X-Hop", "dropped")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got echoed
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if got.Method != tt.want.Method || got.Path != tt.want.Path || got.RawPath != tt.want.RawPath ||
			got.RawQuery != tt.want.RawQuery || got.Body != tt.want.Body {
			t.Errorf("%s %s: upstream got %+v, want %+v", tt.method, tt.path, got, tt.want)
		}
		if got.Custom != "kept" || got.Conn != "" || got.XFF != "127.0.0.1" {
			t.Errorf("%s %s: headers: custom %q, hop-by-hop %q, X-Forwarded-For %q", tt.method, tt.path, got.Custom, got.Conn, got.XFF)
		}
	}
}

func TestBadRequestsGetJSONErrors(t *testing.T) {
	t.Parallel()
	up := newEcho(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{
		{Name: "api", BaseURL: up.URL},
		{Name: "gone", BaseURL: closed.URL, Retry: heed.RetryPolicy{Attempts: 1}},
	}}})
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/nope/items", 404, serve.CodeUnknownUpstream},
		{"GET", "/", 404, serve.CodeUnknownUpstream},
		{"GET", "/gone/items", 502, serve.CodeUpstreamUnreachable},
		{"GET", "/-/nothing", 404, serve.CodeNotFound},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, base+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
		code, ups := apiErr(t, resp)
		if code != tt.code {
			t.Errorf("%s %s: error %q, want %q", tt.method, tt.path, code, tt.code)
		}
		if tt.code == serve.CodeUnknownUpstream && strings.Join(ups, ",") != "api,gone" {
			t.Errorf("%s: upstreams listed %v, want api,gone", tt.path, ups)
		}
	}
	// CONNECT, sent raw: net/http's client would tunnel.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "CONNECT api.github.com:443 HTTP/1.1\r\nHost: api.github.com:443\r\n\r\n")
	buf := make([]byte, 4096)
	n, _ := conn.Read(buf)
	if head := string(buf[:n]); !strings.HasPrefix(head, "HTTP/1.1 405") || !strings.Contains(head, serve.CodeConnectNotSupported) {
		t.Errorf("CONNECT: got %q, want 405 connect_not_supported", head)
	}
}

func TestForwardProxyOnlyForUpstreams(t *testing.T) {
	t.Parallel()
	up := newEcho(t)
	other := newEcho(t)
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "api", BaseURL: up.URL}}}})
	proxy, _ := url.Parse(base)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	resp, err := client.Get(up.URL + "/items?x=1")
	if err != nil {
		t.Fatal(err)
	}
	var got echoed
	_ = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != 200 || got.Path != "/items" || got.RawQuery != "x=1" {
		t.Fatalf("through the proxy: %d %+v", resp.StatusCode, got)
	}
	resp, err = client.Get(other.URL + "/items")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := apiErr(t, resp); resp.StatusCode != 403 || code != serve.CodeNotAnUpstream {
		t.Fatalf("another host: %d %s, want 403 not_an_upstream", resp.StatusCode, code)
	}
}

// TestSyntheticCooldownReachesTheClient: a 429 through heed serve cools the
// credential down; the next request gets heed's synthetic answer, as a
// library caller would.
func TestSyntheticCooldownReachesTheClient(t *testing.T) {
	t.Parallel()
	m, err := mockapi.New(mockapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(m)
	t.Cleanup(up.Close)
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "mock", BaseURL: up.URL, OnLimit: heed.OnLimitFail, Retry: heed.RetryPolicy{Attempts: 1}}}}})
	if err := m.Force(mockapi.Force{Credential: "tok", Status: 429, RetryAfter: 20 * time.Second}); err != nil {
		t.Fatal(err)
	}
	get := func() *http.Response { return getDrained(t, base+"/mock/items", "Authorization", "Bearer tok") }
	if resp := get(); resp.StatusCode != 429 || resp.Header.Get(heed.SyntheticHeader) != "" {
		t.Fatalf("first: %d %v, want the real 429", resp.StatusCode, resp.Header)
	}
	resp := get()
	if resp.StatusCode != 429 || resp.Header.Get(heed.SyntheticHeader) != heed.SyntheticCooldown || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second: %d %v, want heed's synthetic cooldown with Retry-After", resp.StatusCode, resp.Header)
	}
	if st := m.Stats().Total; st.Requests != 1 || st.DuringWait != 0 {
		t.Fatalf("the mock: %+v, want one request", st)
	}
}

func TestAdminTokenAndPages(t *testing.T) {
	t.Parallel()
	up := newEcho(t)
	const token = "a-token-of-sixteen-bytes-or-more"
	_, base := newServer(t, serve.Config{AdminToken: token, Config: heed.Config{Upstreams: []heed.Upstream{{Name: "api", BaseURL: up.URL}}}})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, bearer string, cookie *http.Cookie) *http.Response {
		req, _ := http.NewRequest("GET", base+path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if resp := get("/-/healthz", "", nil); resp.StatusCode != 200 {
		t.Errorf("healthz without a token: %d, want 200 (load balancers)", resp.StatusCode)
	}
	for _, p := range []string{"/-/state", "/-/history", "/-/metrics", "/-/"} {
		if resp := get(p, "", nil); resp.StatusCode != 401 {
			t.Errorf("%s without a token: %d, want 401", p, resp.StatusCode)
		} else if code, _ := apiErr(t, resp); code != serve.CodeUnauthorized {
			t.Errorf("%s: error %q", p, code)
		}
		if resp := get(p, "wrong-token-of-sixteen-bytes", nil); resp.StatusCode != 401 {
			t.Errorf("%s with a wrong token: %d, want 401", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/-/state", "/-/history", "/-/metrics"} {
		if resp := get(p, token, nil); resp.StatusCode != 200 {
			t.Errorf("%s with the token: %d, want 200", p, resp.StatusCode)
		}
	}
	resp := get("/-/?token="+token, "", nil)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "heed_admin" {
			cookie = c
		}
	}
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/-/" || cookie == nil || !cookie.HttpOnly {
		t.Fatalf("/-/?token=: %d %v, want a redirect to /-/ setting an HttpOnly cookie", resp.StatusCode, resp.Header)
	}
	if resp := get("/-/state", "", cookie); resp.StatusCode != 200 {
		t.Errorf("state with the cookie: %d, want 200", resp.StatusCode)
	}
}

func TestStateHistoryAndMetrics(t *testing.T) {
	t.Parallel()
	up := newEcho(t)
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "api", BaseURL: up.URL, Limits: []heed.Limit{{Requests: 100, Per: time.Second}}}}}})
	for range 3 {
		req, _ := http.NewRequest("GET", base+"/api/x", nil)
		req.Header.Set("Authorization", "Bearer secret-token-value")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	read := func(path string) string {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		if strings.Contains(string(b), "secret-token-value") {
			t.Fatalf("%s quotes the credential", path)
		}
		return string(b)
	}
	var st heed.Snapshot
	if err := json.Unmarshal([]byte(read("/-/state")), &st); err != nil || len(st.Upstreams) != 1 || len(st.Upstreams[0].Scopes) != 1 {
		t.Fatalf("state: %+v %v", st, err)
	}
	var h struct {
		StepSeconds int `json:"step_seconds"`
		Upstreams   map[string]struct {
			Requests []int64 `json:"requests"`
		} `json:"upstreams"`
	}
	if err := json.Unmarshal([]byte(read("/-/history")), &h); err != nil || h.StepSeconds != 1 || len(h.Upstreams["api"].Requests) != 300 {
		t.Fatalf("history: %+v %v", h, err)
	}
	var n int64
	for _, v := range h.Upstreams["api"].Requests {
		n += v
	}
	if n != 3 {
		t.Errorf("history counts %d requests, want 3", n)
	}
	if m := read("/-/metrics"); !strings.Contains(m, `heed_requests_total{outcome="ok",upstream="api"} 3`) || !strings.Contains(m, "go_goroutines") {
		t.Errorf("metrics lack the request count or the Go collector:\n%s", m)
	}
}

func TestReload(t *testing.T) {
	t.Parallel()
	up := newEcho(t)
	s, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "api", BaseURL: up.URL}}}})
	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("/two/x"); got != 404 {
		t.Fatalf("before reload: %d, want 404", got)
	}
	old := s.Transport()
	if err := s.Reload(serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "api", BaseURL: up.URL}, {Name: "two", BaseURL: up.URL + "/two"}}}}); err != nil {
		t.Fatal(err)
	}
	if got := status("/two/x"); got != 200 {
		t.Fatalf("after reload: %d, want 200", got)
	}
	bad := serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "Bad Name", BaseURL: "nope"}}}}
	if err := s.Reload(bad); err == nil {
		t.Fatal("an invalid config was accepted")
	}
	if got := status("/two/x"); got != 200 {
		t.Fatalf("after a refused reload: %d, want the config in force kept", got)
	}
	if s.Transport() == old {
		t.Fatal("the Transport was not replaced")
	}
}

func TestCheckListen(t *testing.T) {
	t.Parallel()
	const admin, api = "a-token-of-sixteen-bytes", "an-api-token-of-sixteen-bytes"
	tests := []struct {
		listen, admin string
		api           []string
		want          string
		errs          []error // every error wanted; none for success
	}{
		{"", "", nil, serve.DefaultListen, nil},
		{"127.0.0.1:9000", "", nil, "127.0.0.1:9000", nil},
		{"localhost:9000", "", nil, "localhost:9000", nil},
		{"[::1]:9000", "", nil, "[::1]:9000", nil},
		{"0.0.0.0:9000", "", nil, "", []error{serve.ErrAdminTokenRequired, serve.ErrAPITokensRequired}},
		{":9000", "", nil, "", []error{serve.ErrAdminTokenRequired, serve.ErrAPITokensRequired}},
		{"10.0.0.5:9000", "", nil, "", []error{serve.ErrAdminTokenRequired, serve.ErrAPITokensRequired}},
		{"0.0.0.0:9000", admin, nil, "", []error{serve.ErrAPITokensRequired}},
		{"0.0.0.0:9000", "", []string{api}, "", []error{serve.ErrAdminTokenRequired}},
		{"0.0.0.0:9000", admin, []string{api}, "0.0.0.0:9000", nil},
	}
	for _, tt := range tests {
		got, err := serve.CheckListen(serve.Config{Listen: tt.listen, AdminToken: tt.admin, APITokens: tt.api})
		if tt.errs == nil {
			if err != nil || got != tt.want {
				t.Errorf("%q: %q %v, want %q", tt.listen, got, err, tt.want)
			}
			continue
		}
		for _, want := range tt.errs {
			if !errors.Is(err, want) {
				t.Errorf("%q (admin %t, api %d): got %v, want %v", tt.listen, tt.admin != "", len(tt.api), err, want)
			}
		}
		if err != nil && (strings.Contains(err.Error(), admin) || strings.Contains(err.Error(), api)) {
			t.Errorf("%q: the error quotes a token: %v", tt.listen, err)
		}
	}
}

// TestRouteModePicksTheNamedUpstream: two upstreams on one host, one of
// them under the other's prefix, as "openai" and "openai-fail" often are.
// /{upstream}/ picks the policy named in the path, not the longest base
// URL: the upstream named "fail" answers a second 429 itself (on_limit
// fail), the one named "wait" does not see "fail"'s cooldown.
func TestRouteModePicksTheNamedUpstream(t *testing.T) {
	t.Parallel()
	m, err := mockapi.New(mockapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(m)
	t.Cleanup(up.Close)
	s, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{
		{Name: "fail", BaseURL: up.URL, OnLimit: heed.OnLimitFail, Retry: heed.RetryPolicy{Attempts: 1}},
		{Name: "wait", BaseURL: up.URL + "/v1", MaxWait: time.Millisecond, Retry: heed.RetryPolicy{Attempts: 1}},
	}}})
	get := func(path string) *http.Response { return getDrained(t, base+path, "Authorization", "Bearer tok") }
	if err := m.Force(mockapi.Force{Credential: "tok", Status: 429, RetryAfter: 20 * time.Second}); err != nil {
		t.Fatal(err)
	}
	// /fail/v1/x is under both base URLs; "fail" governs it.
	if resp := get("/fail/v1/x"); resp.StatusCode != 429 || resp.Header.Get(heed.SyntheticHeader) != "" {
		t.Fatalf("first: %d %q, want the real 429", resp.StatusCode, resp.Header.Get(heed.SyntheticHeader))
	}
	if resp := get("/fail/v1/x"); resp.Header.Get(heed.SyntheticHeader) != heed.SyntheticCooldown || resp.Header.Get(heed.UpstreamHeader) != "fail" {
		t.Fatalf("second: %q of %q, want fail's synthetic cooldown", resp.Header.Get(heed.SyntheticHeader), resp.Header.Get(heed.UpstreamHeader))
	}
	if resp := get("/wait/x"); resp.StatusCode != 200 {
		t.Fatalf("wait: %d, want 200: its scope is its own", resp.StatusCode)
	}
	scopes := map[string]int{}
	for _, u := range s.Transport().Snapshot(t.Context()).Upstreams {
		scopes[u.Name] = len(u.Scopes)
	}
	if scopes["fail"] != 1 || scopes["wait"] != 1 {
		t.Fatalf("scopes by upstream %v, want one each", scopes)
	}
}

// TestTenantHeader: with tenant_header set, the header names each
// request's tenant (per-tenant limits count apart), never reaches the
// upstream, and a malformed one is a JSON 400.
func TestTenantHeader(t *testing.T) {
	t.Parallel()
	var seen []string
	var mu sync.Mutex
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Tenant"))
		mu.Unlock()
	}))
	t.Cleanup(up.Close)
	_, base := newServer(t, serve.Config{TenantHeader: "X-Tenant", Config: heed.Config{Upstreams: []heed.Upstream{
		{Name: "api", BaseURL: up.URL, MaxWait: time.Millisecond, Limits: []heed.Limit{{Requests: 1, Per: time.Minute, PerTenant: true}}},
	}}})
	for i, s := range []struct {
		tenant    string
		status    int
		synthetic string
	}{
		{"acme", 200, ""}, {"acme", 429, heed.SyntheticLimit}, {"globex", 200, ""},
	} {
		resp := getDrained(t, base+"/api/x", "Authorization", "Bearer tok", "X-Tenant", s.tenant)
		if resp.StatusCode != s.status || resp.Header.Get(heed.SyntheticHeader) != s.synthetic {
			t.Errorf("request %d (%s): %d %q, want %d %q", i, s.tenant, resp.StatusCode, resp.Header.Get(heed.SyntheticHeader), s.status, s.synthetic)
		}
	}
	req, _ := http.NewRequest("GET", base+"/api/x", nil)
	req.Header.Set("X-Tenant", "a/b")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := apiErr(t, resp); code != serve.CodeInvalidTenant {
		t.Errorf("a malformed tenant: %q, want %q", code, serve.CodeInvalidTenant)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != "" || seen[1] != "" {
		t.Errorf("the upstream saw X-Tenant %q, want two requests without it", seen)
	}
}
