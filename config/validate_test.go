package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/heedhq/heed"
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

// TestFairnessRoundTrip: a fairness section read from YAML comes back as
// written, and each of its problems names its field and its line.
func TestFairnessRoundTrip(t *testing.T) {
	t.Parallel()
	t.Run("Valid", func(t *testing.T) {
		t.Parallel()
		src := `upstreams:
  - name: openai
    base_url: https://api.openai.com
    fairness:
      by: header:X-Customer
      priorities:
        - {name: interactive, share: 3}
        - {name: batch, share: 1}
      default_priority: batch
      max_queue: 50
`
		c, err := Parse([]byte(src), "heed.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		want := heed.FairnessPolicy{By: "header:X-Customer", DefaultPriority: "batch", MaxQueue: 50,
			Priorities: []heed.Priority{{Name: "interactive", Share: 3}, {Name: "batch", Share: 1}}}
		if f := c.Upstreams[0].Fairness; f == nil || !reflect.DeepEqual(*f, want) {
			t.Errorf("got %+v, want %+v", f, want)
		}
	})
	t.Run("Problems", func(t *testing.T) {
		t.Parallel()
		src := `upstreams:
  - name: openai
    base_url: https://api.openai.com
    fairness:
      by: header:Authorization
      priorities:
        - {name: Interactive, share: 3}
        - name: batch
          share: 0
        - {name: batch, share: 1}
      default_priority: urgent
      max_queue: -1
  - name: other
    base_url: https://other.example.com
    fairness:
      by: customer
`
		c, err := Parse([]byte(src), "heed.yaml")
		if err != nil {
			t.Fatal(err)
		}
		err = c.Validate()
		const at = `heed: heed.yaml:%d: upstreams[%d] %q: fairness: `
		for _, want := range []string{
			fmt.Sprintf(at, 5, 0, "openai") + `by "header:Authorization": Authorization carries a credential`,
			fmt.Sprintf(at, 7, 0, "openai") + `priorities[0]: name "Interactive" must match [a-z0-9][a-z0-9_.-]* within 32 bytes`,
			fmt.Sprintf(at, 9, 0, "openai") + `priorities[1]: share 0: want 1 to 1000`,
			fmt.Sprintf(at, 10, 0, "openai") + `priorities[2]: name "batch" given twice`,
			fmt.Sprintf(at, 11, 0, "openai") + `default_priority "urgent" is none of the priorities`,
			fmt.Sprintf(at, 12, 0, "openai") + `max_queue must not be negative`,
			fmt.Sprintf(at, 16, 1, "other") + `by "customer": want tenant, credential or header:Name`,
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("missing %q in:\n%v", want, err)
			}
		}
	})
}
