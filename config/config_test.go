package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
)

// issueExample is the configuration from issue 3, verbatim.
const issueExample = `store: memory            # the embedded default; the next issue adds redis://...
tenant: acme             # optional: scopes every key, for multi-tenant programs
upstreams:
  - name: github
    base_url: https://api.github.com      # requests to this scheme+host(+path prefix) get this policy
    limits:
      - {requests: 5000, per: 1h}
      - {requests: 30, per: 1m, path: /search/*}
    concurrency: 10                       # in-flight cap
    on_limit: wait                        # wait | fail
    max_wait: 2m
    cooldown: {default: 5s, max: 1h}      # when a 429 says nothing / caps absurd waits
    retry: {attempts: 4, backoff: exponential, base: 250ms, max: 30s}
    breaker: {failures: 5, open_for: 30s}
    adaptive: true                        # learn from quota headers
`

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want heed.Config
	}{
		{"IssueExample", issueExample, heed.Config{
			Store:  "memory",
			Tenant: "acme",
			Upstreams: []heed.Upstream{{
				Name:    "github",
				BaseURL: "https://api.github.com",
				Limits: []heed.Limit{
					{Requests: 5000, Per: time.Hour},
					{Requests: 30, Per: time.Minute, Path: "/search/*"},
				},
				Concurrency: 10,
				OnLimit:     heed.OnLimitWait,
				MaxWait:     2 * time.Minute,
				Cooldown:    heed.CooldownPolicy{Default: 5 * time.Second, Max: time.Hour},
				Retry:       heed.RetryPolicy{Attempts: 4, Backoff: "exponential", Base: 250 * time.Millisecond, Max: 30 * time.Second},
				Breaker:     heed.BreakerPolicy{Failures: 5, OpenFor: 30 * time.Second},
				Adaptive:    ptr(true),
			}},
		}},
		{"EveryOtherField", `fingerprint_secret: "0123456789abcdef"
upstreams:
  - name: x
    headroom: 0.1
    retry: {max_elapsed: 1m, non_idempotent: true}
    breaker: {probes: 2, disabled: true}
    adaptive: false
    limits: [{requests: 1, per: 1s, burst: 3}]
    credentials: {headers: [X-Token], query: [api_key, key]}
`, heed.Config{
			FingerprintSecret: "0123456789abcdef",
			Upstreams: []heed.Upstream{{
				Name:        "x",
				Headroom:    0.1,
				Retry:       heed.RetryPolicy{MaxElapsed: time.Minute, NonIdempotent: true},
				Breaker:     heed.BreakerPolicy{Probes: 2, Disabled: true},
				Adaptive:    ptr(false),
				Limits:      []heed.Limit{{Requests: 1, Per: time.Second, Burst: 3}},
				Credentials: heed.CredentialPolicy{Headers: []string{"X-Token"}, Query: []string{"api_key", "key"}},
			}},
		}},
		{"VendorPerTenantClientRetries", `upstreams:
  - name: x
    vendor: anthropic
    limits: [{requests: 1, per: 1s, per_tenant: true}]
    retry: {client_retry_headers: [X-Stainless-Retry-Count, X-Retry]}
  - name: "y"
    retry: {client_retry_headers: []}
`, heed.Config{
			Upstreams: []heed.Upstream{{
				Name:   "x",
				Vendor: "anthropic",
				Limits: []heed.Limit{{Requests: 1, Per: time.Second, PerTenant: true}},
				Retry:  heed.RetryPolicy{ClientRetryHeaders: []string{"X-Stainless-Retry-Count", "X-Retry"}},
			}, {
				Name:  "y",
				Retry: heed.RetryPolicy{ClientRetryHeaders: []string{}}, // none, not the default
			}},
		}},
		{"NullsLeaveZero", "store: ~\ntenant:\nupstreams:\n  - name: x\n    adaptive: null\n    retry:\n", heed.Config{
			Upstreams: []heed.Upstream{{Name: "x"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.yaml), "heed.yaml")
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if got.Source == nil || got.Source.File != "heed.yaml" {
				t.Errorf("Source %+v, want the file's name and lines", got.Source)
			}
			if got.Stores != (Stores{}) {
				t.Errorf("Stores %#v, want config.Stores", got.Stores)
			}
			got.Source, got.Stores = nil, nil // where it came from, compared in TestValidateNamesTheLine; what opens stores
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseMerge(t *testing.T) {
	t.Parallel()
	const doc = `upstreams:
  - &base
    name: a
    base_url: https://a.example.com
    retry: &retry {attempts: 2, base: 1s}
    max_wait: 1m
  - <<: *base
    name: b
    retry: *retry
  - <<: [{name: c, max_wait: 3s}, *base]
`
	got, err := Parse([]byte(doc), "heed.yaml")
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	retry := heed.RetryPolicy{Attempts: 2, Base: time.Second}
	want := []heed.Upstream{
		{Name: "a", BaseURL: "https://a.example.com", Retry: retry, MaxWait: time.Minute},
		{Name: "b", BaseURL: "https://a.example.com", Retry: retry, MaxWait: time.Minute},
		{Name: "c", BaseURL: "https://a.example.com", Retry: retry, MaxWait: 3 * time.Second},
	}
	if !reflect.DeepEqual(got.Upstreams, want) {
		t.Errorf("got %+v\nwant %+v", got.Upstreams, want)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string // every error, in order
	}{
		{"Empty", "", []string{"heed: heed.yaml: empty config file"}},
		{"OnlyComments", "# nothing here\n\n", []string{"heed: heed.yaml: empty config file"}},
		{"Null", "~\n", []string{"heed: heed.yaml: empty config file"}},
		{"TopLevelList", "- name: x\n", []string{"heed: heed.yaml:1: top level: want a mapping, got a list"}},
		{"TopLevelScalar", "memory\n", []string{`heed: heed.yaml:1: top level: want a mapping, got "memory"`}},
		{"Syntax", "store: memory\nupstreams: [\n", []string{"heed: heed.yaml:2: did not find expected node content"}},
		{"TwoDocuments", "store: memory\n---\nstore: memory\n", []string{"heed: heed.yaml:2: want one YAML document, found another"}},
		{"UnknownTopLevel", "stor: memory\n", []string{`heed: heed.yaml:1: unknown key "stor" at top level (did you mean "store"?)`}},
		{"UnknownInUpstream", "upstreams:\n  - name: github\n    base_url: https://api.github.com\n    limts: []\n",
			[]string{`heed: heed.yaml:4: unknown key "limts" in upstreams[0] (did you mean "limits"?)`}},
		{"UnknownInLimit", "upstreams:\n  - name: a\n  - name: b\n    limits:\n      - {requests: 1, per: 1s}\n      - {requests: 1, pre: 1s}\n",
			[]string{`heed: heed.yaml:6: unknown key "pre" in upstreams[1].limits[1] (did you mean "per"?)`}},
		{"UnknownInRetry", "upstreams:\n  - name: a\n    retry:\n      attempts: 2\n      jitter: full\n",
			[]string{`heed: heed.yaml:5: unknown key "jitter" in upstreams[0].retry`}},
		{"UnknownInCredentials", "upstreams:\n  - name: a\n    credentials: {header: [X-Token]}\n",
			[]string{`heed: heed.yaml:3: unknown key "header" in upstreams[0].credentials (did you mean "headers"?)`}},
		{"UnknownNoCloseKey", "upstreams:\n  - name: a\n    retry: {name: x}\n", []string{`heed: heed.yaml:3: unknown key "name" in upstreams[0].retry`}},
		{"UnknownSwapped", "upstreams:\n  - {name: a, limits: [{pre: 1s}]}\n", []string{`heed: heed.yaml:2: unknown key "pre" in upstreams[0].limits[0] (did you mean "per"?)`}},
		{"UnknownMerged", "upstreams:\n  - <<: {name: a, limts: []}\n", []string{`heed: heed.yaml:2: unknown key "limts" in upstreams[0] (did you mean "limits"?)`}},
		{"MergeItself", "upstreams:\n  - &a\n    name: x\n    <<: *a\n", []string{`heed: heed.yaml:4: upstreams[0]: a mapping merges itself`}},
		{"MergeCycle", "upstreams:\n  - &a\n    name: a\n    <<: {<<: *a, name: b}\n", []string{`heed: heed.yaml:4: upstreams[0]: a mapping merges itself`}},
		{"MergeScalar", "upstreams:\n  - <<: 3\n", []string{`heed: heed.yaml:2: upstreams[0]: want a mapping, got "3"`}},
		{"DuplicateKey", "store: memory\nstore: memory\n", []string{`heed: heed.yaml:2: duplicate key "store" at top level`}},
		{"BadDuration", "upstreams:\n  - name: a\n    max_wait: 2 minutes\n",
			[]string{`heed: heed.yaml:3: upstreams[0].max_wait: invalid duration "2 minutes": want a Go duration such as "250ms", "5s" or "1h"`}},
		{"DurationWithoutUnit", "upstreams:\n  - name: a\n    limits: [{requests: 1, per: 60}]\n",
			[]string{`heed: heed.yaml:3: upstreams[0].limits[0].per: invalid duration "60": want a Go duration such as "250ms", "5s" or "1h"`}},
		{"DurationList", "upstreams:\n  - name: a\n    cooldown: {max: [1h]}\n", []string{`heed: heed.yaml:3: upstreams[0].cooldown.max: want a duration, got a list`}},
		{"IntegerWord", "upstreams:\n  - name: a\n    concurrency: ten\n", []string{`heed: heed.yaml:3: upstreams[0].concurrency: want an integer, got "ten"`}},
		{"IntegerFraction", "upstreams:\n  - name: a\n    limits: [{requests: 1.5, per: 1s}]\n",
			[]string{`heed: heed.yaml:3: upstreams[0].limits[0].requests: want an integer, got "1.5"`}},
		{"IntegerOverflow", "upstreams:\n  - name: a\n    concurrency: 99999999999999999999\n",
			[]string{`heed: heed.yaml:3: upstreams[0].concurrency: want an integer, got "99999999999999999999"`}},
		{"IntegerQuoted", "upstreams:\n  - name: a\n    concurrency: \"10\"\n", []string{`heed: heed.yaml:3: upstreams[0].concurrency: want an integer, got "10"`}},
		{"PerTenantWord", "upstreams:\n  - name: a\n    limits: [{requests: 1, per: 1s, per_tenant: yes}]\n",
			[]string{`heed: heed.yaml:3: upstreams[0].limits[0].per_tenant: want true or false, got "yes"`}},
		{"ClientRetryHeadersScalar", "upstreams:\n  - name: a\n    retry: {client_retry_headers: X-Retry}\n",
			[]string{`heed: heed.yaml:3: upstreams[0].retry.client_retry_headers: want a list, got "X-Retry"`}},
		{"BoolYes", "upstreams:\n  - name: a\n    adaptive: yes\n", []string{`heed: heed.yaml:3: upstreams[0].adaptive: want true or false, got "yes"`}},
		{"NumberWord", "upstreams:\n  - name: a\n    headroom: lots\n", []string{`heed: heed.yaml:3: upstreams[0].headroom: want a number, got "lots"`}},
		{"Bool", "upstreams:\n  - name: a\n    adaptive: maybe\n", []string{`heed: heed.yaml:3: upstreams[0].adaptive: want true or false, got "maybe"`}},
		{"StringGotList", "store: [memory]\n", []string{`heed: heed.yaml:1: store: want a string, got a list`}},
		{"UpstreamsMapping", "upstreams:\n  github: {}\n", []string{`heed: heed.yaml:2: upstreams: want a list, got a mapping`}},
		{"UpstreamScalar", "upstreams:\n  - github\n", []string{`heed: heed.yaml:2: upstreams[0]: want a mapping, got "github"`}},
		{"ListKey", "? [a]\n: 1\n", []string{`heed: heed.yaml:1: top level: want a key name, got a list`}},
		{"LongValueTruncated", "upstreams:\n  - name: a\n    concurrency: " + strings.Repeat("x", 60) + "\n",
			[]string{`heed: heed.yaml:3: upstreams[0].concurrency: want an integer, got "` + strings.Repeat("x", 40) + `..."`}},
		{"EveryProblem", "storr: memory\nupstreams:\n  - name: a\n    max_wait: soon\n    concurrency: many\n", []string{
			`heed: heed.yaml:1: unknown key "storr" at top level (did you mean "store"?)`,
			`heed: heed.yaml:4: upstreams[0].max_wait: invalid duration "soon": want a Go duration such as "250ms", "5s" or "1h"`,
			`heed: heed.yaml:5: upstreams[0].concurrency: want an integer, got "many"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.yaml), "heed.yaml")
			if got, want := errorLines(err), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// errorLines returns err's message, "" for nil.
func errorLines(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseAliasExpansion(t *testing.T) {
	t.Parallel()
	// Each anchor merges the previous one twice: 2^40 mappings if expanded.
	var b strings.Builder
	b.WriteString("upstreams:\n  - &a0 {name: x}\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, "  - &a%d {<<: [*a%d, *a%d]}\n", i, i-1, i-1)
	}
	_, err := Parse([]byte(b.String()), "heed.yaml")
	if want := "the document expands to too many values (through aliases)"; !strings.Contains(errorLines(err), want) {
		t.Errorf("got %v, want an error containing %q", err, want)
	}
}

func TestParseName(t *testing.T) {
	t.Parallel()
	_, err := Parse(nil, "")
	if got, want := errorLines(err), "heed: config: empty config file"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseSyntaxErrorUnwraps(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("a: [\n"), "heed.yaml")
	var syntax *syntaxError
	if !errors.As(err, &syntax) || errors.Unwrap(err) == nil {
		t.Errorf("got %v (%T), want a *syntaxError wrapping the parser's error", err, err)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	t.Run("Example", func(t *testing.T) {
		t.Parallel()
		c, err := Load("../examples/heed.yaml")
		if err != nil {
			t.Fatalf("got %v, want no error", err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate: got %v, want nil", err)
		}
		if got := len(c.Upstreams); got != 4 {
			t.Fatalf("got %d upstreams, want 4", got)
		}
		// The LLM upstreams' token limits read as their units.
		var units []string
		for _, u := range c.Upstreams[1:3] {
			for _, l := range u.Limits {
				units = append(units, fmt.Sprintf("%s:%s=%d/%v", u.Name, l.Unit(), l.Amount(), l.Per))
			}
		}
		want := []string{"openai:requests=500/1m0s", "openai:tokens=200000/1m0s",
			"anthropic:requests=50/1m0s", "anthropic:input_tokens=30000/1m0s", "anthropic:output_tokens=8000/1m0s"}
		if !slices.Equal(units, want) || c.Upstreams[1].Cost != "openai" || c.Upstreams[1].DefaultOutputTokens != 4096 {
			t.Errorf("the LLM upstreams: %v, cost %q, default output %d; want %v, openai, 4096", units, c.Upstreams[1].Cost, c.Upstreams[1].DefaultOutputTokens, want)
		}
		// OpenAI's fair shares read back as written.
		wantFair := heed.FairnessPolicy{By: heed.FairByTenant, DefaultPriority: "interactive", MaxQueue: 1000,
			Priorities: []heed.Priority{{Name: "interactive", Share: 3}, {Name: "batch", Share: 1}}}
		if f := c.Upstreams[1].Fairness; f == nil || !reflect.DeepEqual(*f, wantFair) {
			t.Errorf("openai's fairness: got %+v, want %+v", f, wantFair)
		}
		// GitHub's cache reads its sizes.
		gh := c.Upstreams[0]
		if cc := gh.Cache; !cc.Enabled || cc.MaxBytes != 64<<20 || cc.MaxEntryBytes != 1<<20 || cc.Shared || cc.Free304 == nil || !*cc.Free304 || !gh.Coalesce {
			t.Errorf("github's cache: %+v, coalesce %v; want enabled, 64MiB, 1MiB, not shared, free 304, coalescing", cc, gh.Coalesce)
		}
	})
	t.Run("ByteSizes", func(t *testing.T) {
		t.Parallel()
		doc := "upstreams:\n  - name: a\n    base_url: https://a.example\n    cache: {enabled: true, max_bytes: 2x, max_entry_bytes: [1]}\n"
		_, err := Parse([]byte(doc), "heed.yaml")
		want := "heed: heed.yaml:4: upstreams[0].cache.max_bytes: \"2x\": want bytes as an integer or a number with a unit (B, KiB, MiB, GiB, kB, MB, GB), as in 64MiB\n" +
			"heed: heed.yaml:4: upstreams[0].cache.max_entry_bytes: want a scalar, got a list"
		if got := errorLines(err); got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		_, err := Load("testdata/no-such-file.yaml")
		if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(errorLines(err), "heed: read config: ") {
			t.Errorf("got %v, want a heed: read config error wrapping fs.ErrNotExist", err)
		}
	})
	t.Run("ErrorsNameTheFile", func(t *testing.T) {
		t.Parallel()
		path := t.TempDir() + "/bad.yaml"
		if err := os.WriteFile(path, []byte("upstreams:\n  - name: a\n    limts: []\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if want := path + `:3: unknown key "limts" in upstreams[0]`; !strings.Contains(errorLines(err), want) {
			t.Errorf("got %v, want it to contain %q", err, want)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{issueExample, "", "store: memory\n", "upstreams: [{name: a, <<: {name: b}}]\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "heed: fuzz.yaml") {
				t.Errorf("got %q, want every error to start with the file name", err)
			}
			return
		}
		_ = c.Validate()
		d := c.WithDefaults()
		if !reflect.DeepEqual(d, d.WithDefaults()) {
			t.Errorf("WithDefaults is not idempotent on %+v", c)
		}
		c.Match(&url.URL{Scheme: "https", Host: "api.example.com", Path: "/v1/x"})
		for _, u := range c.Upstreams {
			for _, l := range u.Limits {
				l.Matches("/search/code")
			}
		}
	})
}

// TestParseSkipsServeKeys: the keys only heed serve reads may be in the
// library's file, whatever their values; unknown keys elsewhere are still
// errors.
func TestParseSkipsServeKeys(t *testing.T) {
	t.Parallel()
	const doc = `listen: 127.0.0.1:8700
admin_token: a-token-of-sixteen-bytes
tenant_header: X-Tenant
jobs:
  database: sqlite://heed-jobs.db
  not_a_jobs_key: [1, 2]
upstreams:
  - name: a
    base_url: https://a.example.com
`
	c, err := Parse([]byte(doc), "heed.yaml")
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	if len(c.Upstreams) != 1 || c.Upstreams[0].Name != "a" {
		t.Errorf("got upstreams %+v, want the one written", c.Upstreams)
	}
	_, err = Parse([]byte(doc+"    limts: []\n"), "heed.yaml")
	if got, want := errorLines(err), `heed: heed.yaml:10: unknown key "limts" in upstreams[0] (did you mean "limits"?)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	_, err = Parse([]byte("lisen: 127.0.0.1:8700\n"), "heed.yaml")
	if got, want := errorLines(err), `heed: heed.yaml:1: unknown key "lisen" at top level (did you mean "listen"?)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
