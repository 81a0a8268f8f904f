package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Security acceptance tests of heed serve (issue 11, bullet 1): the real
// binary with its tokens read from the environment, attacked as the issue
// did; every refusal is heed's JSON.

const (
	e2eAdminToken = "e2e-admin-token-from-env-0123"
	e2eAPIToken   = "e2e-api-token-from-env-0123"
)

// tokenConfig is a config whose tokens come from the environment, with the
// echo upstream and the job API.
func tokenConfig(echoURL, database string) string {
	return fmt.Sprintf(`admin_token: ${HEED_E2E_ADMIN_TOKEN}
api_tokens: ["${HEED_E2E_API_TOKEN}"]
upstreams:
  - name: echo
    base_url: %s
    retry: {attempts: 1}
jobs:
  database: %s
  encryption_key: %s
`, echoURL, database, crashKey)
}

// tokenEnv is the environment tokenConfig reads.
var tokenEnv = []string{"HEED_E2E_ADMIN_TOKEN=" + e2eAdminToken, "HEED_E2E_API_TOKEN=" + e2eAPIToken}

// raw writes a request on its own connection: method, target, extra header
// lines ("Name: value"), body; Host and Content-Length are added.
func raw(t *testing.T, p *serveProc, method, target, body string, header ...string) reply {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, p.addr)
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	if body != "" || method == "POST" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	return rawRequest(t, p.addr, b.String())
}

// noTokenIn fails when s holds one of the tokens.
func noTokenIn(t *testing.T, what, s string) {
	t.Helper()
	for _, tok := range []string{e2eAdminToken, e2eAPIToken} {
		if strings.Contains(s, tok) {
			t.Errorf("%s quotes a token:\n%s", what, s)
		}
	}
}

// TestServeRefusesTheIssuesAttacks: heed serve with tokens set (from the
// environment) answers every attack of the issue with a JSON 401, 403,
// 400, 405, 413, 415 or 431, and serves the requests carrying a token.
func TestServeRefusesTheIssuesAttacks(t *testing.T) {
	t.Parallel()
	echoURL := echoUpstream(t)
	p := startServeWith(t, tokenConfig(echoURL, "sqlite://"+filepath.Join(t.TempDir(), "jobs.db")), procOptions{env: tokenEnv})
	const job = `{"upstream":"echo","path":"/x","headers":{"Authorization":"Bearer upstream-key"}}`
	api := "Authorization: Bearer " + e2eAPIToken
	heedTok := "Heed-Token: " + e2eAPIToken
	jsonCT := "Content-Type: application/json"

	t.Run("JobAPIWithoutToken", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct{ method, target, body string }{
			{"POST", "/v1/jobs", job}, {"POST", "/v1/jobs:batch", `{"jobs":[` + job + `]}`},
			{"GET", "/v1/jobs", ""}, {"GET", "/v1/jobs/1", ""}, {"DELETE", "/v1/jobs/1", ""},
		} {
			for _, auth := range []string{"X-None: 1", "Authorization: Bearer wrong-token-0123456789", "Heed-Token: wrong-token-0123456789"} {
				r := raw(t, p, c.method, c.target, c.body, jsonCT, auth)
				wantServeError(t, r, http.StatusUnauthorized, "unauthorized")
				if r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s %s: 401 without WWW-Authenticate", c.method, c.target)
				}
			}
		}
	})
	t.Run("CrossSiteJob", func(t *testing.T) {
		t.Parallel()
		// curl -H 'Content-Type: text/plain' -H 'Origin: http://evil.example' -d '{...}' http://127.0.0.1:8700/v1/jobs
		for _, auth := range []string{"X-None: 1", api} {
			wantServeError(t, raw(t, p, "POST", "/v1/jobs", job, "Content-Type: text/plain", "Origin: http://evil.example", auth), http.StatusForbidden, "cross_site")
		}
		wantServeError(t, raw(t, p, "POST", "/v1/jobs", job, "Content-Type: text/plain", "Sec-Fetch-Site: cross-site", api), http.StatusForbidden, "cross_site")
		wantServeError(t, raw(t, p, "POST", "/v1/jobs", job, "Content-Type: text/plain", api), http.StatusUnsupportedMediaType, "unsupported_media_type")
		wantServeError(t, raw(t, p, "GET", "/echo/x", "", "Origin: http://evil.example", heedTok), http.StatusForbidden, "cross_site")
	})
	t.Run("JobAPIWithToken", func(t *testing.T) {
		t.Parallel()
		for _, auth := range []string{api, heedTok, "Authorization: Bearer " + e2eAdminToken} {
			if r := raw(t, p, "POST", "/v1/jobs", job, jsonCT, auth); r.status != http.StatusAccepted {
				t.Errorf("%s: got %d %s, want 202", strings.SplitN(auth, ":", 2)[0], r.status, r.body)
			}
		}
		wantServeError(t, raw(t, p, "PUT", "/v1/jobs", "", heedTok), http.StatusMethodNotAllowed, "method_not_allowed")
		wantServeError(t, raw(t, p, "GET", "/v1/jobs/1/x", "", heedTok), http.StatusNotFound, "not_found")
		big := `{"upstream":"echo","path":"/x","body":"` + strings.Repeat("a", 2<<20) + `"}`
		wantServeError(t, raw(t, p, "POST", "/v1/jobs", big, jsonCT, heedTok), http.StatusRequestEntityTooLarge, "too_large")
	})
	t.Run("RouteMode", func(t *testing.T) {
		t.Parallel()
		for _, auth := range []string{"X-None: 1", "Authorization: Bearer " + e2eAPIToken, "Heed-Token: wrong-token-0123456789"} {
			wantServeError(t, raw(t, p, "GET", "/echo/x", "", auth), http.StatusUnauthorized, "unauthorized")
		}
		r := raw(t, p, "GET", "/echo/x", "", heedTok, "Authorization: Bearer upstream-key")
		var got echoed
		if err := json.Unmarshal(r.body, &got); err != nil || r.status != http.StatusOK {
			t.Fatalf("with Heed-Token: got %d %s, want 200 from the upstream", r.status, r.body)
		}
		if got.Header.Get("Heed-Token") != "" || got.Header.Get("Authorization") != "Bearer upstream-key" {
			t.Errorf("at the upstream: Heed-Token %q, Authorization %q; want none and the client's", got.Header.Get("Heed-Token"), got.Header.Get("Authorization"))
		}
		for _, path := range []string{"/echo/../admin", "/echo/%2e%2e/admin", "/echo/%2E./admin", "/echo/.%2e/admin", "/echo/%252e%252e/admin", "/echo/..%5cadmin", "/echo/..\\admin"} {
			wantServeError(t, raw(t, p, "GET", path, "", heedTok), http.StatusBadRequest, "invalid_path")
		}
	})
	t.Run("ForwardProxy", func(t *testing.T) {
		t.Parallel()
		r := raw(t, p, "GET", echoURL+"/x", "")
		wantServeError(t, r, http.StatusProxyAuthRequired, "unauthorized")
		basic := "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("heed:"+e2eAPIToken))
		if r := raw(t, p, "GET", echoURL+"/x", "", basic); r.status != http.StatusOK {
			t.Errorf("with the token as proxy password: got %d %s, want 200", r.status, r.body)
		}
	})
	t.Run("Admin", func(t *testing.T) {
		t.Parallel()
		wantServeError(t, raw(t, p, "GET", "/-/state", "", api), http.StatusUnauthorized, "unauthorized")
		if r := raw(t, p, "GET", "/-/state", "", "Authorization: Bearer "+e2eAdminToken); r.status != http.StatusOK {
			t.Errorf("/-/state with the admin token: got %d, want 200", r.status)
		}
		wantServeError(t, raw(t, p, "POST", "/-/state", "", "Authorization: Bearer "+e2eAdminToken), http.StatusMethodNotAllowed, "method_not_allowed")
	})
	t.Run("MalformedRequests", func(t *testing.T) {
		t.Parallel()
		host := "Host: " + p.addr + "\r\n"
		var many strings.Builder
		for i := range 10_000 {
			fmt.Fprintf(&many, "X-H%d: v\r\n", i)
		}
		for _, c := range []struct {
			name, raw string
			status    int
			code      string
		}{
			{"RequestLine", "NOT A REQUEST LINE\r\n\r\n", 400, "bad_request"},
			{"HeaderWithoutColon", "GET /echo/x HTTP/1.1\r\n" + host + "NoColon\r\n\r\n", 400, "bad_request"},
			{"NoHost", "GET /echo/x HTTP/1.1\r\n\r\n", 400, "bad_request"},
			{"10000Headers", "GET /echo/x HTTP/1.1\r\n" + host + many.String() + "\r\n", 431, "headers_too_large"},
			{"1MBHeaderValue", "GET /echo/x HTTP/1.1\r\n" + host + "X-Big: " + strings.Repeat("a", 1<<20) + "\r\n\r\n", 431, "headers_too_large"},
			{"Expect", "GET /echo/x HTTP/1.1\r\n" + host + "Expect: much\r\n\r\n", 417, "expectation_failed"},
			{"TransferCoding", "POST /echo/x HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"},
		} {
			t.Log(c.name)
			wantServeError(t, rawRequest(t, p.addr, c.raw), c.status, c.code)
		}
	})
	t.Cleanup(func() {
		noTokenIn(t, "heed serve's stderr", p.stderr.String())
		noTokenIn(t, "heed serve's stdout", p.stdout.String())
	})
}

// TestServeBeyondLoopbackNeedsBothTokens: heed serve refuses to listen on
// 0.0.0.0 without admin_token or without api_tokens, naming what is
// missing; with both it listens and route mode needs Heed-Token.
func TestServeBeyondLoopbackNeedsBothTokens(t *testing.T) {
	t.Parallel()
	upstreams := "upstreams:\n  - name: x\n    base_url: http://127.0.0.1:1\n"
	for _, c := range []struct {
		name, yaml string
		want, not  []string
	}{
		{"AdminOnly", "admin_token: " + e2eAdminToken + "\n" + upstreams, []string{"api_tokens is required", "0.0.0.0:0"}, []string{"admin_token is required"}},
		{"APIOnly", "api_tokens: [" + e2eAPIToken + "]\n" + upstreams, []string{"admin_token is required"}, []string{"api_tokens is required"}},
		{"None", upstreams, []string{"admin_token is required", "api_tokens is required"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runServeConfig(t, c.yaml, "--listen", "0.0.0.0:0")
			if code != 2 {
				t.Errorf("exit status %d, want 2; stderr %s", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q: %s", w, stderr)
				}
			}
			for _, w := range c.not {
				if strings.Contains(stderr, w) {
					t.Errorf("stderr says %q: %s", w, stderr)
				}
			}
			noTokenIn(t, "stderr", stderr)
		})
	}
	t.Run("Both", func(t *testing.T) {
		t.Parallel()
		echoURL := echoUpstream(t)
		p := startServeWith(t, fmt.Sprintf("admin_token: ${HEED_E2E_ADMIN_TOKEN}\napi_tokens: [\"${HEED_E2E_API_TOKEN}\"]\nupstreams:\n  - name: echo\n    base_url: %s\n", echoURL),
			procOptions{env: tokenEnv, listen: "0.0.0.0:0"})
		_, port, err := net.SplitHostPort(p.addr)
		if err != nil {
			t.Fatal(err)
		}
		p.addr = "127.0.0.1:" + port
		wantServeError(t, raw(t, p, "GET", "/echo/x", ""), http.StatusUnauthorized, "unauthorized")
		if r := raw(t, p, "GET", "/echo/x", "", "Heed-Token: "+e2eAPIToken); r.status != http.StatusOK {
			t.Errorf("with Heed-Token: got %d %s, want 200", r.status, r.body)
		}
	})
}

// TestServeTokenFromAnUnsetVariable: a token naming an unset variable is
// a config error at its line, naming the variable.
func TestServeTokenFromAnUnsetVariable(t *testing.T) {
	t.Parallel()
	code, path, stderr := runServeConfig(t, "upstreams:\n  - {name: x, base_url: http://127.0.0.1:1}\napi_tokens:\n  - ${HEED_E2E_SURELY_UNSET_TOKEN}\n")
	if want := path + ":4: api_tokens[0]: environment variable HEED_E2E_SURELY_UNSET_TOKEN is not set"; code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("got status %d, stderr %q; want 2 and %q", code, stderr, want)
	}
}

// TestServeReloadKeepsTokens: a SIGHUP with a config that drops api_tokens
// while heed serve listens beyond loopback is refused, the tokens in force
// kept.
func TestServeReloadKeepsTokens(t *testing.T) {
	t.Parallel()
	echoURL := echoUpstream(t)
	yaml := fmt.Sprintf("admin_token: %s\napi_tokens: [%s]\nupstreams:\n  - name: echo\n    base_url: %s\n", e2eAdminToken, e2eAPIToken, echoURL)
	p := startServeWith(t, yaml, procOptions{listen: "0.0.0.0:0"})
	_, port, _ := net.SplitHostPort(p.addr)
	p.addr = "127.0.0.1:" + port
	writeConfig(t, p.config, fmt.Sprintf("admin_token: %s\nupstreams:\n  - name: echo\n    base_url: %s\n", e2eAdminToken, echoURL))
	p.signal(t, syscall.SIGHUP)
	p.waitStderr(t, "api_tokens is required", 10*time.Second)
	wantServeError(t, raw(t, p, "GET", "/echo/x", ""), http.StatusUnauthorized, "unauthorized")
	noTokenIn(t, "stderr", p.stderr.String())
}
