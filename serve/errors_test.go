package serve_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/serve"
)

// newWrappedServer serves a heed serve handler for cfg as heed serve's
// command does: on a WrapListener listener, with an http.Server taking
// four times serve.MaxHeaderBytes. It returns the address.
func newWrappedServer(t *testing.T, cfg serve.Config) string {
	t.Helper()
	s, err := serve.New(cfg, serve.Options{RetireAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s)
	hs.Listener = serve.WrapListener(hs.Listener)
	hs.Config.MaxHeaderBytes = 4 * serve.MaxHeaderBytes
	hs.Start()
	t.Cleanup(func() { hs.Close(); _ = s.Close() })
	return hs.Listener.Addr().String()
}

// manyHeaders returns n header lines.
func manyHeaders(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "X-H%d: v\r\n", i)
	}
	return b.String()
}

// TestEveryAnswerIsJSON: the answers net/http would make in plain text,
// before a handler or through a ServeMux, are heed serve's JSON errors.
func TestEveryAnswerIsJSON(t *testing.T) {
	t.Parallel()
	_, up := newSeenHeaders(t)
	addr := newWrappedServer(t, serve.Config{AdminToken: adminToken, APITokens: []string{apiToken},
		Config: heed.Config{Upstreams: []heed.Upstream{{Name: "up", BaseURL: up}}}, Jobs: &jobs.Config{Database: jobsDB(t)}})
	host := "Host: " + addr + "\r\n"
	tok := "Heed-Token: " + apiToken + "\r\n"
	tests := []struct {
		name, raw string
		status    int
		code      string
	}{
		{"MalformedRequestLine", "GARBAGE\r\n\r\n", 400, serve.CodeBadRequest},
		{"HeaderWithoutColon", "GET /up/x HTTP/1.1\r\n" + host + "NoColonHere\r\n\r\n", 400, serve.CodeBadRequest},
		{"NoHost", "GET /up/x HTTP/1.1\r\n\r\n", 400, serve.CodeBadRequest},
		{"MalformedHost", "GET /up/x HTTP/1.1\r\nHost: a b\r\n\r\n", 400, serve.CodeBadRequest},
		{"InvalidEscape", "GET /up/%zz HTTP/1.1\r\n" + host + "\r\n", 400, serve.CodeBadRequest},
		{"UnknownTransferCoding", "POST /up/x HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", 501, serve.CodeNotImplemented},
		{"HTTPVersion", "GET /up/x HTTP/2.1\r\n" + host + "\r\n", 505, serve.CodeHTTPVersionNotSupported},
		{"Expectation", "GET /up/x HTTP/1.1\r\n" + host + "Expect: something\r\n\r\n", 417, serve.CodeExpectationFailed},
		// Over heed's bound, within the http.Server's: heed serve answers.
		{"300Headers", "GET /up/x HTTP/1.1\r\n" + host + manyHeaders(300) + "\r\n", 431, serve.CodeHeadersTooLarge},
		{"10000Headers", "GET /up/x HTTP/1.1\r\n" + host + manyHeaders(10_000) + "\r\n", 431, serve.CodeHeadersTooLarge},
		{"100KBValue", "GET /up/x HTTP/1.1\r\n" + host + "X-Big: " + strings.Repeat("a", 100_000) + "\r\n\r\n", 431, serve.CodeHeadersTooLarge},
		{"100KBTarget", "GET /up/x?q=" + strings.Repeat("a", 100_000) + " HTTP/1.1\r\n" + host + "\r\n", 414, serve.CodeURITooLong},
		// Over the http.Server's bound: net/http answers, the listener rewrites.
		{"1MBValue", "GET /up/x HTTP/1.1\r\n" + host + "X-Big: " + strings.Repeat("a", 1<<20) + "\r\n\r\n", 431, serve.CodeHeadersTooLarge},
		{"100000Headers", "GET /up/x HTTP/1.1\r\n" + host + manyHeaders(100_000) + "\r\n", 431, serve.CodeHeadersTooLarge},
		// ServeMux answers.
		{"AdminMethod", "POST /-/state HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n", 405, serve.CodeMethodNotAllowed},
		{"AdminNoPage", "GET /-/nothing HTTP/1.1\r\n" + host + "Authorization: Bearer " + adminToken + "\r\n\r\n", 404, serve.CodeNotFound},
		{"JobsMethod", "PUT /v1/jobs HTTP/1.1\r\n" + host + tok + "\r\n", 405, serve.CodeMethodNotAllowed},
		{"JobsBatchMethod", "GET /v1/jobs:batch HTTP/1.1\r\n" + host + tok + "\r\n", 405, serve.CodeMethodNotAllowed},
		{"JobsNoPath", "GET /v1/jobs/1/more HTTP/1.1\r\n" + host + tok + "\r\n", 404, serve.CodeNotFound},
		{"JobsTooLarge", "POST /v1/jobs HTTP/1.1\r\n" + host + tok + "Content-Type: application/json\r\nContent-Length: 3000000\r\n\r\n" +
			`{"upstream":"up","path":"/x","body":"` + strings.Repeat("a", 2_999_000) + "\"}", 413, jobs.CodeTooLarge},
		{"Connect", "CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n", 405, serve.CodeConnectNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rawRequest(t, addr, tt.raw)
			wantRawError(t, tt.name, r, tt.status, tt.code)
			if tt.status == 405 && r.header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
		})
	}
}

// TestWrappedListenerPassesOtherAnswers: a keep-alive connection serves
// requests as before, and an upstream's plain-text error reaches the client
// untouched.
func TestWrappedListenerPassesOtherAnswers(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		http.Error(w, "400 Bad Request", http.StatusBadRequest)
	}))
	t.Cleanup(up.Close)
	addr := newWrappedServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "up", BaseURL: up.URL, Retry: heed.RetryPolicy{Attempts: 1}}}}})
	r := rawRequest(t, addr, "GET /up/x HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n")
	if r.status != 400 || r.body != "400 Bad Request\n" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("the upstream's 400: got %d %q %q, want it untouched", r.status, r.header.Get("Content-Type"), r.body)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	reused := 0
	for i := range 3 {
		req, _ := http.NewRequest("GET", "http://"+addr+"/-/healthz", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) {
				if info.Reused {
					reused++
				}
			}}))
		resp, err := tr.RoundTrip(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d: %v %v", i, resp, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if reused != 2 {
		t.Errorf("connections reused: %d, want 2 (keep-alive through the wrapped listener)", reused)
	}
}
