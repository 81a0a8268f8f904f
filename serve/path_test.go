package serve_test

import (
	"strings"
	"testing"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/serve"
)

// TestRouteModeRefusesDotSegments: route mode and the forward proxy answer
// a path with a . or .. segment, in any encoding, with a JSON 400 naming the
// path, and send nothing upstream; dots inside a segment pass.
func TestRouteModeRefusesDotSegments(t *testing.T) {
	t.Parallel()
	seen, up := newSeenHeaders(t)
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "api", BaseURL: up + "/v1"}}}})
	addr := strings.TrimPrefix(base, "http://")
	get := func(target string) rawReply {
		return rawRequest(t, addr, "GET "+target+" HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n")
	}
	for _, path := range []string{
		"/api/../admin", "/api/./admin", "/api/..", "/api/%2e%2e/admin", "/api/%2E%2E/admin", "/api/%2E./admin", "/api/.%2e/admin",
		"/api/%252e%252e/admin", "/api/%252E%252E%252Fadmin", "/api/..%2fadmin", "/api/..\\admin", "/api/..%5cadmin", "/api/%5c..%5cadmin",
		"/api/..;/admin", "/api/%c0%ae%c0%ae/admin", "/api/x/../../admin", "/%2e%2e/api/admin", "/api/..?q=1",
	} {
		r := get(path)
		wantRawError(t, path, r, 400, serve.CodeInvalidPath)
		if !strings.Contains(r.body, "path") {
			t.Errorf("%s: the error does not name the path: %s", path, r.body)
		}
	}
	wantRawError(t, "forward proxy", get(up+"/v1/../admin"), 400, serve.CodeInvalidPath)
	wantRawError(t, "forward proxy encoded", get(up+"/v1/%2e%2e/admin"), 400, serve.CodeInvalidPath)
	if n := len(seen.all()); n != 0 {
		t.Fatalf("the upstream saw %d requests, want none", n)
	}
	for _, path := range []string{"/api/a..b", "/api/.well-known/x", "/api/file.json", "/api/file%2ejson", "/api/...", "/api/x?path=../y"} {
		if r := get(path); r.status != 200 {
			t.Errorf("%s: got %d %s, want 200", path, r.status, r.body)
		}
	}
}
