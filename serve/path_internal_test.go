package serve

import (
	"io"
	"strings"
	"testing"
)

func stringsReader(s string) io.Reader {
	if s == "" {
		return nil
	}
	return strings.NewReader(s)
}

// TestHasDotSegment: every encoding of a . or .. segment is found; dots
// within a segment are not segments.
func TestHasDotSegment(t *testing.T) {
	t.Parallel()
	dots := []string{
		"/api/../admin", "/api/..", "/api/./x", "/api/.", "/../api", "/api/%2e%2e/admin", "/api/%2E%2E/admin",
		"/api/%2e./admin", "/api/.%2E/admin", "/api/%2e/x", "/api/%252e%252e/admin", "/api/%25252e%25252e/admin",
		"/api/..%2fadmin", "/api/..%2Fadmin", "/api/x%2f..%2fadmin", "/api/..\\admin", "/api/..%5cadmin", "/api/..%5Cadmin",
		"/api/%2e%2e%5cadmin", "/api/..;/admin", "/api/..;x=1/admin", "/api/%c0%ae%c0%ae/admin", "/api/%ef%bc%8e%ef%bc%8e/admin",
		"/api/%252e%252e%252fadmin", "/api//../admin", "/api/%2e%2e/%zz", "/api/%zz/%2e%2e", "/api/%%2e%2e/x/..",
	}
	for _, p := range dots {
		if !hasDotSegment(p) {
			t.Errorf("hasDotSegment(%q): false, want true", p)
		}
	}
	plain := []string{
		"/", "/api/", "/api/a..b", "/api/...", "/api/.well-known/x", "/api/file.json", "/api/file%2ejson", "/api/%2e%2e%2e",
		"/api/.x", "/api/x.", "/api/a%2Fb", "/api/%25", "/api/%zz", "/api//x", "/api/;/x", "/api/v1;x=..",
	}
	for _, p := range plain {
		if hasDotSegment(p) {
			t.Errorf("hasDotSegment(%q): true, want false", p)
		}
	}
}
