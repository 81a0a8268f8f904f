package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/mockapi"
)

// End-to-end tests of heed serve: the real binary, real signals, real
// sockets on loopback, a private Redis where state is shared.

// startMock runs an in-process mock API with no limit and returns it and
// its URL.
func startMock(t *testing.T) (*mockapi.Server, string) {
	t.Helper()
	m, err := mockapi.New(mockapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv.URL
}

// libraryClient returns an http.Client over a heed Transport made from the
// same YAML heed serve reads.
func libraryClient(t *testing.T, yaml string) *http.Client {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "heed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := heed.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// wantCooldown checks that r is heed's synthetic cooldown answer, telling
// the client to wait at most max.
func wantCooldown(t *testing.T, who string, r reply, max int) {
	t.Helper()
	if r.status != http.StatusTooManyRequests || r.header.Get(heed.SyntheticHeader) != heed.SyntheticCooldown {
		t.Errorf("%s: got status %d, %s %q, want 429 and %q (body %s)", who, r.status,
			heed.SyntheticHeader, r.header.Get(heed.SyntheticHeader), heed.SyntheticCooldown, r.body)
	}
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > max {
		t.Errorf("%s: Retry-After: got %q, want whole seconds from 1 to %d", who, r.header.Get("Retry-After"), max)
	}
}

// TestServeSharedCooldown: two heed serve processes and a Go program share
// one Redis; a 429 seen through one proxy cools the credential down for all
// three, and only for that credential.
func TestServeSharedCooldown(t *testing.T) {
	t.Parallel()
	redisAddr := testenv.Redis(t)
	mock, mockURL := startMock(t)
	cfg := fmt.Sprintf(`store: redis://%s/0
fingerprint_secret: e2e-fingerprint-secret-0123
upstreams:
  - name: mock
    base_url: %s
    on_limit: fail
    retry: {attempts: 1}
`, redisAddr, mockURL)
	a, b := startServe(t, cfg), startServe(t, cfg)
	lib := libraryClient(t, cfg)

	if err := mock.Force(mockapi.Force{Credential: "tok", Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	first := getWith(t, nil, a.url+"/mock/v1/chat", "tok")
	if first.status != http.StatusTooManyRequests || first.header.Get(heed.SyntheticHeader) != "" || first.header.Get("Retry-After") != "30" {
		t.Fatalf("proxy A: got status %d, %s %q, Retry-After %q, want the mock's own 429 with Retry-After 30",
			first.status, heed.SyntheticHeader, first.header.Get(heed.SyntheticHeader), first.header.Get("Retry-After"))
	}
	clients := []struct {
		name, url string
		client    *http.Client
	}{
		{"ProxyB", b.url + "/mock/v1/chat", nil},
		{"Library", mockURL + "/v1/chat", lib},
		{"ProxyA", a.url + "/mock/v1/chat", nil},
	}
	for _, c := range clients {
		wantCooldown(t, c.name, getWith(t, c.client, c.url, "tok"), 30)
		if r := getWith(t, c.client, c.url, "other"); r.status != http.StatusOK || r.header.Get(heed.SyntheticHeader) != "" {
			t.Errorf("%s, another credential: got status %d, %s %q, want a real 200", c.name, r.status,
				heed.SyntheticHeader, r.header.Get(heed.SyntheticHeader))
		}
	}

	st := mock.Stats()
	if got := st.Credentials[mockapi.CredID("tok")].Requests; got != 1 {
		t.Errorf("requests of the cooled-down credential at the mock: got %d, want 1", got)
	}
	if got := st.Credentials[mockapi.CredID("other")].Accepted; got != len(clients) {
		t.Errorf("requests of the other credential accepted: got %d, want %d", got, len(clients))
	}
	if st.Total.DuringWait != 0 {
		t.Errorf("requests during a told wait: got %d, want 0", st.Total.DuringWait)
	}
}

// echoed is what echoUpstream saw of a request.
type echoed struct {
	Method      string      `json:"method"`
	EscapedPath string      `json:"escaped_path"`
	RawQuery    string      `json:"raw_query"`
	Host        string      `json:"host"`
	Header      http.Header `json:"header"`
	Body        string      `json:"body"`
}

// echoUpstream starts an upstream that answers every request with an echoed
// JSON of it and the header X-Upstream: echo, and returns its URL.
func echoUpstream(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", "echo")
		_ = json.NewEncoder(w).Encode(echoed{Method: r.Method, EscapedPath: r.URL.EscapedPath(),
			RawQuery: r.URL.RawQuery, Host: r.Host, Header: r.Header, Body: string(body)})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// rawRequest writes raw to addr on a new connection and reads the answer.
func rawRequest(t *testing.T, addr, raw string) reply {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}
}

// TestServeRouteMode: /{upstream}/{path}?{query} reaches the upstream with
// the path, query, body and end-to-end headers intact, hop-by-hop headers
// dropped and X-Forwarded-* set; an event stream arrives as it is written.
func TestServeRouteMode(t *testing.T) {
	t.Parallel()
	echoURL := echoUpstream(t)
	_, mockURL := startMock(t)
	p := startServe(t, fmt.Sprintf(`upstreams:
  - name: echo
    base_url: %s/api
    retry: {attempts: 1}
  - name: mock
    base_url: %s
`, echoURL, mockURL))

	t.Run("Request", func(t *testing.T) {
		t.Parallel()
		const (
			path  = "/v1/items/a%2Fb/caf%C3%A9"
			query = "q=a%20b&q=c&sum=1%2B1&amp=%26&plus=x+y&empty=&flag"
			body  = `{"model":"m","input":"héllo"}`
		)
		r := rawRequest(t, p.addr, "POST /echo"+path+"?"+query+" HTTP/1.1\r\n"+
			"Host: "+p.addr+"\r\n"+
			"Authorization: Bearer route-tok\r\n"+
			"Content-Type: application/json\r\n"+
			"Content-Length: "+strconv.Itoa(len(body))+"\r\n"+
			"X-Custom: kept\r\n"+
			"Connection: keep-alive, X-Hop\r\n"+
			"Keep-Alive: timeout=5\r\n"+
			"X-Hop: must-not-pass\r\n"+
			"\r\n"+body)
		if r.status != http.StatusOK || r.header.Get("X-Upstream") != "echo" {
			t.Fatalf("got status %d, X-Upstream %q, want 200 from the upstream (body %s)", r.status, r.header.Get("X-Upstream"), r.body)
		}
		var got echoed
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatalf("body %q: %v", r.body, err)
		}
		upstreamHost := strings.TrimPrefix(echoURL, "http://")
		checks := []struct{ what, got, want string }{
			{"method", got.Method, http.MethodPost},
			{"path", got.EscapedPath, "/api" + path},
			{"query", got.RawQuery, query},
			{"body", got.Body, body},
			{"Host", got.Host, upstreamHost},
			{"Authorization", got.Header.Get("Authorization"), "Bearer route-tok"},
			{"Content-Type", got.Header.Get("Content-Type"), "application/json"},
			{"X-Custom", got.Header.Get("X-Custom"), "kept"},
			{"X-Forwarded-For", got.Header.Get("X-Forwarded-For"), "127.0.0.1"},
			{"X-Forwarded-Host", got.Header.Get("X-Forwarded-Host"), p.addr},
			{"X-Forwarded-Proto", got.Header.Get("X-Forwarded-Proto"), "http"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s at the upstream: got %q, want %q", c.what, c.got, c.want)
			}
		}
		for _, h := range []string{"Connection", "Keep-Alive", "X-Hop"} {
			if v, ok := got.Header[h]; ok {
				t.Errorf("hop-by-hop header %s reached the upstream: %q", h, v)
			}
		}
	})

	t.Run("EventStream", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(
			newRequest(t, http.MethodGet, p.url+"/mock/stream?events=2&interval=1s", "sse-tok", nil))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
			t.Fatalf("got status %d, Content-Type %q, want 200 and text/event-stream", resp.StatusCode, ct)
		}
		var events []time.Duration // when each data line arrived, since start
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data:") {
				events = append(events, time.Since(start))
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		total := time.Since(start)
		if len(events) != 2 {
			t.Fatalf("data events: got %d, want 2", len(events))
		}
		if events[0] > 500*time.Millisecond || total < time.Second {
			t.Errorf("first event after %v, stream over after %v: want the first within 500ms of a stream lasting at least 1s",
				events[0].Round(time.Millisecond), total.Round(time.Millisecond))
		}
	})
}

// TestServeForwardProxy: with heed serve as HTTP proxy, plain-HTTP requests
// to a configured upstream go through the Transport (a cooldown applies);
// other hosts and CONNECT are refused.
func TestServeForwardProxy(t *testing.T) {
	t.Parallel()
	mock, mockURL := startMock(t)
	p := startServe(t, fmt.Sprintf(`upstreams:
  - name: mock
    base_url: %s
    on_limit: fail
    retry: {attempts: 1}
`, mockURL))
	proxyURL, err := url.Parse(p.url)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL)}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	t.Run("Upstream", func(t *testing.T) {
		r := getWith(t, client, mockURL+"/v1/forwarded?x=1", "fwd-ok")
		var echo struct {
			Path string `json:"path"`
		}
		if err := json.Unmarshal(r.body, &echo); err != nil || r.status != http.StatusOK || echo.Path != "/v1/forwarded" {
			t.Errorf("got status %d, body %s, want 200 and the mock's echo of /v1/forwarded", r.status, r.body)
		}
		if err := mock.Force(mockapi.Force{Credential: "fwd-limited", Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second}); err != nil {
			t.Fatal(err)
		}
		if r := getWith(t, client, mockURL+"/v1/x", "fwd-limited"); r.status != http.StatusTooManyRequests || r.header.Get(heed.SyntheticHeader) != "" {
			t.Errorf("forced 429: got status %d, %s %q, want the mock's own 429", r.status, heed.SyntheticHeader, r.header.Get(heed.SyntheticHeader))
		}
		wantCooldown(t, "after the 429", getWith(t, client, mockURL+"/v1/x", "fwd-limited"), 30)
		if got := mock.Stats().Credentials[mockapi.CredID("fwd-limited")].Requests; got != 1 {
			t.Errorf("requests of the cooled-down credential at the mock: got %d, want 1", got)
		}
		metrics := string(getWith(t, nil, p.url+"/-/metrics", "").body)
		if !strings.Contains(metrics, `heed_requests_total{outcome="ok",upstream="mock"} 1`) {
			t.Errorf("/-/metrics does not count the forwarded request for upstream mock:\n%s", grepLines(metrics, "heed_requests_total"))
		}
	})

	t.Run("NotAnUpstream", func(t *testing.T) {
		r := getWith(t, client, "http://"+closedPort(t)+"/v1/x", "fwd-ok")
		e := wantServeError(t, r, http.StatusForbidden, "not_an_upstream")
		if len(e.Upstreams) != 1 || e.Upstreams[0] != "mock" {
			t.Errorf("upstreams: got %q, want [mock]", e.Upstreams)
		}
	})

	t.Run("Connect", func(t *testing.T) {
		r := rawRequest(t, p.addr, "CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n")
		wantServeError(t, r, http.StatusMethodNotAllowed, "connect_not_supported")
	})
}

// grepLines returns the lines of s that start with prefix.
func grepLines(s, prefix string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// TestServeDrainOnSIGTERM: SIGTERM closes the listener at once, lets the
// request in flight finish, then exits 0.
func TestServeDrainOnSIGTERM(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		_, _ = io.WriteString(w, "done")
	}))
	t.Cleanup(slow.Close)
	p := startServe(t, fmt.Sprintf("upstreams:\n  - name: slow\n    base_url: %s\n", slow.URL))

	type result struct {
		r   reply
		err error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(p.url + "/slow/work")
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		done <- result{reply{status: resp.StatusCode, body: body}, err}
	}()
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the upstream within 5s")
	}

	p.signal(t, syscall.SIGTERM)
	// A dial racing the listener's close may be reset rather than refused.
	refusedBy := time.Now().Add(2 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", p.addr, time.Second)
		if errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
		if conn != nil {
			conn.Close()
		}
		if time.Now().After(refusedBy) {
			t.Fatalf("new connections were not refused 2s after SIGTERM (last dial: %v)", err)
		}
		time.Sleep(pollEvery)
	}
	select {
	case res := <-done:
		t.Fatalf("the request in flight ended before the upstream answered: %+v", res)
	default:
	}

	close(release)
	select {
	case res := <-done:
		if res.err != nil || res.r.status != http.StatusOK || string(res.r.body) != "done" {
			t.Errorf("the request in flight: got %d %q, error %v, want 200 \"done\"", res.r.status, res.r.body, res.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request in flight did not finish within 10s")
	}
	if code := p.wait(t, serveStopTimeout); code != 0 {
		t.Errorf("exit status: got %d, want 0; stderr:\n%s", code, p.stderr.String())
	}
}

// TestServeReloadOnSIGHUP: SIGHUP puts a rewritten config in force; an
// invalid one is logged and the config in force kept.
func TestServeReloadOnSIGHUP(t *testing.T) {
	t.Parallel()
	one := fmt.Sprintf("upstreams:\n  - name: one\n    base_url: %s\n", echoUpstream(t))
	two := one + fmt.Sprintf("  - name: two\n    base_url: %s\n", echoUpstream(t))
	p := startServe(t, one)
	if r := getWith(t, nil, p.url+"/two/x", ""); r.status != http.StatusNotFound {
		t.Fatalf("upstream two before the reload: got status %d, want 404", r.status)
	}

	writeConfig(t, p.config, two)
	p.signal(t, syscall.SIGHUP)
	deadline := time.Now().Add(3 * time.Second)
	for getWith(t, nil, p.url+"/two/x", "").status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("upstream two did not route within 3s of SIGHUP; stderr:\n%s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.waitStderr(t, "config reloaded", time.Second)

	writeConfig(t, p.config, two+"bogus_key: 1\n")
	p.signal(t, syscall.SIGHUP)
	p.waitStderr(t, "the new config is invalid", 3*time.Second)
	if stderr := p.stderr.String(); !strings.Contains(stderr, "bogus_key") || !strings.Contains(stderr, p.config) {
		t.Errorf("stderr does not name the unknown key and the file:\n%s", stderr)
	}
	for _, name := range []string{"one", "two"} {
		if r := getWith(t, nil, p.url+"/"+name+"/x", ""); r.status != http.StatusOK {
			t.Errorf("upstream %s after an invalid reload: got status %d, want 200", name, r.status)
		}
	}
	if p.exited() {
		t.Errorf("heed serve exited with status %d; want it still running", p.code)
	}
}

// TestServeBadInput: heed serve's own answers and refusals.
func TestServeBadInput(t *testing.T) {
	t.Parallel()
	const token = "e2e-admin-token-0123456789"
	echoURL := echoUpstream(t)
	p := startServe(t, fmt.Sprintf(`admin_token: %s
upstreams:
  - name: echo
    base_url: %s
  - name: down
    base_url: http://%s
    retry: {attempts: 1}
`, token, echoURL, closedPort(t)))

	t.Run("UnknownUpstream", func(t *testing.T) {
		t.Parallel()
		e := wantServeError(t, getWith(t, nil, p.url+"/nope/v1/x", ""), http.StatusNotFound, "unknown_upstream")
		if strings.Join(e.Upstreams, ",") != "down,echo" {
			t.Errorf("upstreams: got %q, want [down echo]", e.Upstreams)
		}
	})
	t.Run("UpstreamUnreachable", func(t *testing.T) {
		t.Parallel()
		wantServeError(t, getWith(t, nil, p.url+"/down/v1/x", ""), http.StatusBadGateway, "upstream_unreachable")
	})
	t.Run("AdminToken", func(t *testing.T) {
		t.Parallel()
		wantServeError(t, getWith(t, nil, p.url+"/-/state", ""), http.StatusUnauthorized, "unauthorized")
		wantServeError(t, getWith(t, nil, p.url+"/-/state", "not-the-token-0123456"), http.StatusUnauthorized, "unauthorized")
		r := getWith(t, nil, p.url+"/-/state", token)
		var snap heed.Snapshot
		if err := json.Unmarshal(r.body, &snap); err != nil || r.status != http.StatusOK || len(snap.Upstreams) != 2 {
			t.Errorf("/-/state with the token: got status %d, body %s, want 200 and a snapshot of 2 upstreams", r.status, r.body)
		}
		if r := getWith(t, nil, p.url+"/-/healthz", ""); r.status != http.StatusOK {
			t.Errorf("/-/healthz without the token: got status %d, want 200", r.status)
		}
	})

	t.Run("InvalidConfig", func(t *testing.T) {
		t.Parallel()
		code, path, stderr := runServeConfig(t, "upstreams:\n  - name: x\n    base_url: http://127.0.0.1:1\n    on_limt: fail\n"+
			"    limits:\n      - {requests: 5, per: soon}\n")
		if code != 2 {
			t.Errorf("exit status: got %d, want 2", code)
		}
		for _, want := range []string{path + ":4: unknown key \"on_limt\"", path + ":6: upstreams[0].limits[0].per"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, stderr)
			}
		}
	})
	t.Run("InvalidValue", func(t *testing.T) {
		t.Parallel()
		code, path, stderr := runServeConfig(t, "upstreams:\n  - name: x\n    base_url: http://127.0.0.1:1\n    retry: {attempts: -1}\n")
		if code != 2 || !strings.Contains(stderr, path) || !strings.Contains(stderr, "retry.attempts") {
			t.Errorf("got status %d, stderr %q, want 2 and the file and field named", code, stderr)
		}
	})
	t.Run("ListenBeyondLoopback", func(t *testing.T) {
		t.Parallel()
		code, _, stderr := runServeConfig(t, "listen: 0.0.0.0:0\nupstreams:\n  - name: x\n    base_url: http://127.0.0.1:1\n")
		if code != 2 || !strings.Contains(stderr, "admin_token is required") || !strings.Contains(stderr, "0.0.0.0:0") {
			t.Errorf("got status %d, stderr %q, want 2 and admin_token required for 0.0.0.0:0", code, stderr)
		}
	})
}
