package config

import (
	"strings"
	"testing"
)

// TestValidateNamesTheLine: a Config read from a file reports each
// problem at the line of its field (or of the nearest enclosing one
// written in the file).
func TestValidateNamesTheLine(t *testing.T) {
	src := `store: memory
tenant: "bad tenant"
upstreams:
  - name: api
    base_url: https://api.example.com
    retry:
      attempts: -1
    limits:
      - requests: 0
        per: 1s
    credentials:
      headers: ["bad header"]
  - name: api
    base_url: https://other.example.com
`
	c, err := Parse([]byte(src), "heed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`heed: heed.yaml:2: tenant "bad tenant"`,
		`heed: heed.yaml:7: upstreams[0] "api": retry.attempts -1 out of range`,
		`heed: heed.yaml:9: upstreams[0] "api": limits[0]: requests must be positive (or set one of tokens, input_tokens, output_tokens)`,
		`heed: heed.yaml:12: upstreams[0] "api": credentials.headers[0] "bad header"`,
		`heed: heed.yaml:13: upstreams[1] "api": name duplicates upstreams[0]`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	// A Config built in code has no file: the same problems, no lines.
	c.Source = nil
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "heed.yaml") || !strings.Contains(err.Error(), "retry.attempts") {
		t.Errorf("without a file: %v", err)
	}
	// An empty key must not reach the unexported field.
	if _, err := Parse([]byte("\"\": 1\n"), "x.yaml"); err == nil || !strings.Contains(err.Error(), "x.yaml:1") {
		t.Errorf("empty key: %v, want an unknown-key error at line 1", err)
	}
}
