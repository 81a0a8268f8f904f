package serve_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/serve"
)

const (
	adminToken = "admin-token-0123456789"
	apiToken   = "api-token-0123456789ab"
	apiToken2  = "api-token-two-0123456789"
)

// seenHeaders is an upstream that keeps the headers of every request.
type seenHeaders struct {
	mu  sync.Mutex // guards got
	got []http.Header
}

func newSeenHeaders(t *testing.T) (*seenHeaders, string) {
	t.Helper()
	s := &seenHeaders{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.got = append(s.got, r.Header.Clone())
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *seenHeaders) all() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.got...)
}

// send sends method url with the header name-value pairs and body (with
// Content-Type application/json when not ""), and returns the answer, its
// body read.
func send(t *testing.T, client *http.Client, method, url, body string, header ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// wantError checks that an answer is heed serve's JSON error with status
// and code, and that it quotes no token.
func wantError(t *testing.T, what string, resp *http.Response, body string, status int, code string) {
	t.Helper()
	var e struct{ Error, Message string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || resp.Header.Get("Content-Type") != "application/json" || e.Message == "" {
		t.Errorf("%s: body %q (%s), want a JSON error", what, body, resp.Header.Get("Content-Type"))
	}
	if resp.StatusCode != status || e.Error != code {
		t.Errorf("%s: got %d %q, want %d %q (%s)", what, resp.StatusCode, e.Error, status, code, body)
	}
	for _, tok := range []string{adminToken, apiToken, apiToken2} {
		if strings.Contains(body, tok) || strings.Contains(fmt.Sprint(resp.Header), tok) {
			t.Errorf("%s: the answer quotes a token: %s %v", what, body, resp.Header)
		}
	}
}

// jobsDB returns a fresh SQLite job database URL.
func jobsDB(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "jobs.db") }

// TestJobAPINeedsAToken: with tokens configured, every job API request
// needs an API token or the admin token, as a bearer token or Heed-Token.
func TestJobAPINeedsAToken(t *testing.T) {
	t.Parallel()
	_, up := newSeenHeaders(t)
	_, base := newServer(t, serve.Config{AdminToken: adminToken, APITokens: []string{apiToken, apiToken2},
		Config: heed.Config{Upstreams: []heed.Upstream{{Name: "up", BaseURL: up}}}, Jobs: &jobs.Config{Database: jobsDB(t)}})
	const job = `{"upstream":"up","path":"/x"}`
	refusedTests := []struct {
		name   string
		header []string
	}{
		{"NoToken", nil},
		{"WrongBearer", []string{"Authorization", "Bearer not-a-token-0123456789"}},
		{"WrongHeedToken", []string{"Heed-Token", "not-a-token-0123456789"}},
		{"TokenPrefix", []string{"Authorization", "Bearer " + apiToken[:len(apiToken)-1]}},
		{"TokenLonger", []string{"Authorization", "Bearer " + apiToken + "x"}},
		{"NotBearer", []string{"Authorization", "Basic " + apiToken}},
		{"Cookie", []string{"Cookie", "heed_admin=" + adminToken}},
	}
	for _, tt := range refusedTests {
		for _, req := range []struct{ method, path, body string }{
			{"POST", "/v1/jobs", job}, {"POST", "/v1/jobs:batch", `{"jobs":[` + job + `]}`}, {"GET", "/v1/jobs", ""},
			{"GET", "/v1/jobs/1", ""}, {"DELETE", "/v1/jobs/1", ""},
		} {
			resp, body := send(t, nil, req.method, base+req.path, req.body, tt.header...)
			wantError(t, tt.name+" "+req.method+" "+req.path, resp, body, 401, serve.CodeUnauthorized)
			if resp.Header.Get("WWW-Authenticate") != `Bearer realm="heed"` {
				t.Errorf("%s: WWW-Authenticate %q", tt.name, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
	for _, header := range [][]string{
		{"Authorization", "Bearer " + apiToken}, {"Authorization", "bearer " + apiToken2},
		{"Heed-Token", apiToken}, {"Authorization", "Bearer " + adminToken},
	} {
		if resp, body := send(t, nil, "POST", base+"/v1/jobs", job, header...); resp.StatusCode != 202 {
			t.Errorf("%s: got %d %s, want 202", header[0], resp.StatusCode, body)
		}
	}
	resp, body := send(t, nil, "GET", base+"/v1/jobs", "", "Heed-Token", apiToken)
	var list struct{ Jobs []jobs.Job }
	if err := json.Unmarshal([]byte(body), &list); err != nil || resp.StatusCode != 200 || len(list.Jobs) != 4 {
		t.Errorf("list: got %d %s, want the 4 jobs", resp.StatusCode, body)
	}
}

// TestJobAPIAdminTokenOnly: the admin token alone protects the job API.
func TestJobAPIAdminTokenOnly(t *testing.T) {
	t.Parallel()
	_, up := newSeenHeaders(t)
	_, base := newServer(t, serve.Config{AdminToken: adminToken,
		Config: heed.Config{Upstreams: []heed.Upstream{{Name: "up", BaseURL: up}}}, Jobs: &jobs.Config{Database: jobsDB(t)}})
	resp, body := send(t, nil, "GET", base+"/v1/jobs", "")
	wantError(t, "no token", resp, body, 401, serve.CodeUnauthorized)
	if resp, body := send(t, nil, "GET", base+"/v1/jobs", "", "Authorization", "Bearer "+adminToken); resp.StatusCode != 200 {
		t.Errorf("the admin token: got %d %s, want 200", resp.StatusCode, body)
	}
	if resp, body := send(t, nil, "GET", base+"/up/x", ""); resp.StatusCode != 200 {
		t.Errorf("route mode without api_tokens: got %d %s, want 200, open on loopback", resp.StatusCode, body)
	}
}

// TestRouteModeNeedsHeedToken: with api_tokens, route mode needs an API
// token or the admin token in Heed-Token; Authorization is the upstream's
// and passes untouched; Heed-Token never reaches the upstream.
func TestRouteModeNeedsHeedToken(t *testing.T) {
	t.Parallel()
	seen, up := newSeenHeaders(t)
	_, base := newServer(t, serve.Config{AdminToken: adminToken, APITokens: []string{apiToken, apiToken2},
		Config: heed.Config{Upstreams: []heed.Upstream{{Name: "up", BaseURL: up}}}})
	for _, tt := range []struct {
		name   string
		header []string
	}{
		{"NoToken", nil},
		{"BearerIsTheUpstreams", []string{"Authorization", "Bearer " + apiToken}},
		{"WrongToken", []string{"Heed-Token", "not-a-token-0123456789"}},
	} {
		resp, body := send(t, nil, "GET", base+"/up/x", "", tt.header...)
		wantError(t, tt.name, resp, body, 401, serve.CodeUnauthorized)
		if resp.Header.Get("WWW-Authenticate") != `Heed-Token realm="heed"` {
			t.Errorf("%s: WWW-Authenticate %q", tt.name, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if n := len(seen.all()); n != 0 {
		t.Fatalf("the upstream saw %d refused requests", n)
	}
	for _, tok := range []string{apiToken, apiToken2, adminToken} {
		if resp, body := send(t, nil, "POST", base+"/up/x", `{}`, "Heed-Token", tok, "Authorization", "Bearer upstream-key"); resp.StatusCode != 200 {
			t.Errorf("with a token: got %d %s, want 200", resp.StatusCode, body)
		}
	}
	for i, h := range seen.all() {
		if h.Get("Heed-Token") != "" || h.Get("Authorization") != "Bearer upstream-key" {
			t.Errorf("request %d at the upstream: Heed-Token %q, Authorization %q; want none, and the client's", i, h.Get("Heed-Token"), h.Get("Authorization"))
		}
	}
}

// TestRouteModeOpenWithoutAPITokens: on loopback without api_tokens route
// mode needs no token, and still drops a Heed-Token a client sends.
func TestRouteModeOpenWithoutAPITokens(t *testing.T) {
	t.Parallel()
	seen, up := newSeenHeaders(t)
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "up", BaseURL: up}}}})
	if resp, body := send(t, nil, "GET", base+"/up/x", "", "Heed-Token", "whatever-0123456789"); resp.StatusCode != 200 {
		t.Fatalf("got %d %s, want 200", resp.StatusCode, body)
	}
	if h := seen.all(); len(h) != 1 || h[0].Get("Heed-Token") != "" {
		t.Errorf("the upstream saw %v, want one request without Heed-Token", h)
	}
}

// TestForwardProxyNeedsAToken: with api_tokens the forward proxy needs a
// token, in Heed-Token or as the proxy URL's password, and answers 407
// without; neither header reaches the upstream.
func TestForwardProxyNeedsAToken(t *testing.T) {
	t.Parallel()
	seen, up := newSeenHeaders(t)
	_, base := newServer(t, serve.Config{AdminToken: adminToken, APITokens: []string{apiToken},
		Config: heed.Config{Upstreams: []heed.Upstream{{Name: "up", BaseURL: up}}}})
	through := func(userinfo *url.Userinfo) *http.Client {
		p, _ := url.Parse(base)
		p.User = userinfo
		tr := &http.Transport{Proxy: http.ProxyURL(p)}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	resp, body := send(t, through(nil), "GET", up+"/x", "")
	wantError(t, "no token", resp, body, 407, serve.CodeUnauthorized)
	if resp.Header.Get("Proxy-Authenticate") != `Basic realm="heed"` {
		t.Errorf("Proxy-Authenticate %q", resp.Header.Get("Proxy-Authenticate"))
	}
	resp, body = send(t, through(url.UserPassword("heed", "wrong-token-0123456789")), "GET", up+"/x", "")
	wantError(t, "wrong password", resp, body, 407, serve.CodeUnauthorized)
	for name, c := range map[string]*http.Client{"Password": through(url.UserPassword("heed", apiToken))} {
		if resp, body := send(t, c, "GET", up+"/x", ""); resp.StatusCode != 200 {
			t.Errorf("%s: got %d %s, want 200", name, resp.StatusCode, body)
		}
	}
	if resp, body := send(t, through(nil), "GET", up+"/x", "", "Heed-Token", apiToken); resp.StatusCode != 200 {
		t.Errorf("Heed-Token: got %d %s, want 200", resp.StatusCode, body)
	}
	for i, h := range seen.all() {
		if h.Get("Heed-Token") != "" || h.Get("Proxy-Authorization") != "" {
			t.Errorf("request %d at the upstream carries heed's token: %v", i, h)
		}
	}
	if n := len(seen.all()); n != 2 {
		t.Errorf("the upstream saw %d requests, want the 2 with a token", n)
	}
}

// TestAPITokensDoNotOpenTheAdminSurface: only the admin token does.
func TestAPITokensDoNotOpenTheAdminSurface(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, serve.Config{AdminToken: adminToken, APITokens: []string{apiToken},
		Config: heed.Config{Upstreams: []heed.Upstream{{Name: "up", BaseURL: "http://127.0.0.1:1"}}}})
	for _, header := range [][]string{{"Authorization", "Bearer " + apiToken}, {"Heed-Token", apiToken}, {"Cookie", "heed_admin=" + apiToken}} {
		resp, body := send(t, nil, "GET", base+"/-/state", "", header...)
		wantError(t, header[0], resp, body, 401, serve.CodeUnauthorized)
	}
	if resp, _ := send(t, nil, "GET", base+"/-/?token="+apiToken, ""); resp.StatusCode != 401 {
		t.Errorf("/-/?token=<api token>: got %d, want 401", resp.StatusCode)
	}
}

// TestOpenPartsAnswerOnlyLoopbackHosts: a part of heed serve that needs no
// token answers only requests addressed to a loopback host (no DNS
// rebinding); healthz answers any.
func TestOpenPartsAnswerOnlyLoopbackHosts(t *testing.T) {
	t.Parallel()
	_, up := newSeenHeaders(t)
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "up", BaseURL: up}}}, Jobs: &jobs.Config{Database: jobsDB(t)}})
	addr := strings.TrimPrefix(base, "http://")
	for _, path := range []string{"/up/x", "/v1/jobs", "/-/state"} {
		for _, host := range []string{"evil.example", "evil.example:" + strings.Split(addr, ":")[1], "127.0.0.1.evil.example", "10.0.0.1"} {
			r := rawRequest(t, addr, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
			wantRawError(t, path+" Host "+host, r, 403, serve.CodeForbiddenHost)
		}
		for _, host := range []string{addr, "localhost:8700", "localhost", "[::1]:8700", "127.1.2.3", "app.localhost:8700", "LOCALHOST."} {
			if r := rawRequest(t, addr, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n"); r.status != 200 {
				t.Errorf("%s Host %s: got %d %s, want 200", path, host, r.status, r.body)
			}
		}
	}
	if r := rawRequest(t, addr, "GET /-/healthz HTTP/1.1\r\nHost: lb.internal\r\nConnection: close\r\n\r\n"); r.status != 200 {
		t.Errorf("healthz from a load balancer: got %d, want 200", r.status)
	}
}

// TestReloadKeepsTokensBeyondLoopback: a Server listening beyond loopback
// refuses a reload that drops its tokens; new tokens take effect.
func TestReloadKeepsTokensBeyondLoopback(t *testing.T) {
	t.Parallel()
	_, up := newSeenHeaders(t)
	cfg := serve.Config{Listen: "0.0.0.0:0", AdminToken: adminToken, APITokens: []string{apiToken},
		Config: heed.Config{Upstreams: []heed.Upstream{{Name: "up", BaseURL: up}}}}
	s, base := newServer(t, cfg)
	open := cfg
	open.APITokens = nil
	open.Listen = "127.0.0.1:0" // the file's listen takes effect at a restart only
	if err := s.Reload(open); !errors.Is(err, serve.ErrAPITokensRequired) {
		t.Fatalf("a reload without api_tokens: got %v, want ErrAPITokensRequired", err)
	}
	if resp, _ := send(t, nil, "GET", base+"/up/x", ""); resp.StatusCode != 401 {
		t.Errorf("after the refused reload: got %d, want 401", resp.StatusCode)
	}
	rotated := cfg
	rotated.APITokens = []string{apiToken2}
	if err := s.Reload(rotated); err != nil {
		t.Fatal(err)
	}
	if resp, _ := send(t, nil, "GET", base+"/up/x", "", "Heed-Token", apiToken); resp.StatusCode != 401 {
		t.Errorf("the replaced token: got %d, want 401", resp.StatusCode)
	}
	if resp, _ := send(t, nil, "GET", base+"/up/x", "", "Heed-Token", apiToken2); resp.StatusCode != 200 {
		t.Errorf("the new token: got %d, want 200", resp.StatusCode)
	}
}

func TestNewRefusesBeyondLoopbackWithoutTokens(t *testing.T) {
	t.Parallel()
	_, err := serve.New(serve.Config{Listen: "0.0.0.0:8700", AdminToken: adminToken,
		Config: heed.Config{Upstreams: []heed.Upstream{{Name: "up", BaseURL: "http://127.0.0.1:1"}}}}, serve.Options{})
	if !errors.Is(err, serve.ErrAPITokensRequired) {
		t.Errorf("got %v, want ErrAPITokensRequired", err)
	}
}
