package serve_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/serve"
)

// TestCrossSiteRequestsRefused: the attack, a web page's text/plain
// POST to /v1/jobs, is refused with tokens set and without (a heed serve
// on loopback with no token at all); route mode refuses foreign pages too;
// nothing reaches the queue or the upstream.
func TestCrossSiteRequestsRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  serve.Config
		auth []string
	}{
		{"NoTokens", serve.Config{}, nil},
		{"Tokens", serve.Config{AdminToken: adminToken, APITokens: []string{apiToken}}, []string{"Heed-Token", apiToken}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seen, up := newSeenHeaders(t)
			cfg := tt.cfg
			cfg.Config = heed.Config{Upstreams: []heed.Upstream{{Name: "up", BaseURL: up}}}
			cfg.Jobs = &jobs.Config{Database: jobsDB(t)}
			_, base := newServer(t, cfg)
			addr := strings.TrimPrefix(base, "http://")
			const job = `{"upstream":"up","path":"/x"}`
			auth := ""
			if tt.auth != nil {
				auth = tt.auth[0] + ": " + tt.auth[1] + "\r\n"
			}
			post := func(path, header, body string) rawReply {
				return rawRequest(t, addr, "POST "+path+" HTTP/1.1\r\nHost: "+addr+"\r\n"+auth+header+
					"Content-Length: "+strconv.Itoa(len(body))+"\r\nConnection: close\r\n\r\n"+body)
			}
			// The attack of the issue: curl -H 'Content-Type: text/plain' -H 'Origin: http://evil.example' -d '{...}'.
			wantRawError(t, "text/plain from evil.example", post("/v1/jobs", "Content-Type: text/plain\r\nOrigin: http://evil.example\r\n", job), 403, serve.CodeCrossSite)
			wantRawError(t, "JSON from evil.example", post("/v1/jobs", "Content-Type: application/json\r\nOrigin: http://evil.example\r\n", job), 403, serve.CodeCrossSite)
			wantRawError(t, "batch cross-site", post("/v1/jobs:batch", "Content-Type: text/plain\r\nSec-Fetch-Site: cross-site\r\n", `{"jobs":[`+job+`]}`), 403, serve.CodeCrossSite)
			wantRawError(t, "form from another port", post("/v1/jobs", "Content-Type: application/x-www-form-urlencoded\r\nOrigin: http://127.0.0.1:1\r\n", "a=b"), 403, serve.CodeCrossSite)
			wantRawError(t, "text/plain, no Origin", post("/v1/jobs", "Content-Type: text/plain\r\n", job), 415, serve.CodeUnsupportedMediaType)
			wantRawError(t, "no Content-Type", post("/v1/jobs", "", job), 415, serve.CodeUnsupportedMediaType)
			wantRawError(t, "route from evil.example", post("/up/x", "Content-Type: application/json\r\nOrigin: http://evil.example\r\n", "{}"), 403, serve.CodeCrossSite)
			wantRawError(t, "route cross-site GET", rawRequest(t, addr, "GET /up/x HTTP/1.1\r\nHost: "+addr+"\r\n"+auth+"Sec-Fetch-Site: cross-site\r\nConnection: close\r\n\r\n"), 403, serve.CodeCrossSite)
			wantRawError(t, "list cross-site", rawRequest(t, addr, "GET /v1/jobs HTTP/1.1\r\nHost: "+addr+"\r\n"+auth+"Origin: http://evil.example\r\nConnection: close\r\n\r\n"), 403, serve.CodeCrossSite)
			if n := len(seen.all()); n != 0 {
				t.Errorf("the upstream saw %d requests, want none", n)
			}
			list := rawRequest(t, addr, "GET /v1/jobs HTTP/1.1\r\nHost: "+addr+"\r\n"+auth+"Connection: close\r\n\r\n")
			if list.status != 200 || !strings.Contains(list.body, `"jobs":[]`) {
				t.Errorf("jobs after the refusals: %d %s, want none", list.status, list.body)
			}
			// The same requests from heed serve's own origin, or from no page, pass.
			if r := post("/v1/jobs", "Content-Type: application/json; charset=utf-8\r\nOrigin: http://"+addr+"\r\nSec-Fetch-Site: same-origin\r\n", job); r.status != 202 {
				t.Errorf("same-origin JSON: %d %s, want 202", r.status, r.body)
			}
			if r := post("/up/x", "Content-Type: text/plain\r\nOrigin: http://"+addr+"\r\n", "hello"); r.status != 200 {
				t.Errorf("same-origin route mode: %d %s, want 200", r.status, r.body)
			}
			if r := rawRequest(t, addr, "DELETE /v1/jobs/1 HTTP/1.1\r\nHost: "+addr+"\r\n"+auth+"Connection: close\r\n\r\n"); r.status != 200 {
				t.Errorf("DELETE without a body: %d %s, want 200", r.status, r.body)
			}
		})
	}
}
