package tiktoken_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/heedhq/heed/llm"
	"github.com/heedhq/heed/llm/tiktoken"
)

// prompts reads ../testdata/prompts: a .txt file is one user message, a
// .json file a whole Chat Completions request body.
func prompts(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("../testdata/prompts/*")
	if err != nil || len(files) < 30 {
		t.Fatalf("testdata/prompts: %d files (%v), want at least 30", len(files), err)
	}
	out := make(map[string][]byte)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// bodyFor returns the request body a prompt file stands for, with model
// set.
func bodyFor(t *testing.T, name string, b []byte, model string) []byte {
	t.Helper()
	var req map[string]any
	if strings.HasSuffix(name, ".json") {
		if err := json.Unmarshal(b, &req); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	} else {
		req = map[string]any{"messages": []any{map[string]any{"role": "user", "content": string(b)}}, "max_tokens": 512}
	}
	req["model"] = model
	out, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type errorStats struct {
	ratios []float64
	worst  string
}

func (s *errorStats) String() string {
	r := slices.Clone(s.ratios)
	slices.Sort(r)
	under := 0
	for _, x := range r {
		if x < 1 {
			under++
		}
	}
	q := func(p float64) float64 { return r[min(int(p*float64(len(r))), len(r)-1)] }
	return fmt.Sprintf("n=%d  ratio estimate/reference: min %.2f  p10 %.2f  median %.2f  p90 %.2f  max %.2f  under: %d (%.0f%%)",
		len(r), r[0], q(0.10), q(0.50), q(0.90), r[len(r)-1], under, 100*float64(under)/float64(len(r)))
}

func (s *errorStats) under() float64 {
	n := 0
	for _, x := range s.ratios {
		if x < 1 {
			n++
		}
	}
	return float64(n) / float64(len(s.ratios))
}

// TestEstimateError measures the default CharEstimator against exact
// counts (o200k_base for gpt-4o, cl100k_base for gpt-4, both through the
// cookbook's chat rule, which TestCookbookExamples checks against the
// API's own counts) and, for Anthropic, against an o200k proxy (Anthropic
// publishes no tokenizer: the reference is the same request framing with
// text counted by o200k_base). Run with -v to print the distributions that
// bench/RESULTS.md records.
func TestEstimateError(t *testing.T) {
	var tok tiktoken.Tokenizer
	ps := prompts(t)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range ps {
			if !yield(k) {
				return
			}
		}
	})
	cases := []struct {
		name     string
		vendor   llm.Vendor
		path     string
		model    string
		maxUnder float64
	}{
		{"OpenAIo200k", llm.OpenAI, "/v1/chat/completions", "gpt-4o", 0.10},
		{"OpenAIcl100k", llm.OpenAI, "/v1/chat/completions", "gpt-4", 0.10},
		{"AnthropicVsO200kProxy", llm.Anthropic, "/v1/messages", "claude-sonnet-4-5", 0.0},
	}
	for _, c := range cases {
		var st errorStats
		for _, name := range names {
			body := bodyFor(t, name, ps[name], c.model)
			est, ok1 := c.vendor.Estimate(c.path, body, int64(len(body)), llm.EstimateOptions{})
			ref, ok2 := c.vendor.Estimate(c.path, body, int64(len(body)), llm.EstimateOptions{Tokenizer: &tok})
			if !ok1 || !ok2 || ref.Input <= 0 {
				t.Fatalf("%s %s: estimate %v %v, reference %v %v", c.name, name, est, ok1, ref, ok2)
			}
			r := float64(est.Input) / float64(ref.Input)
			if testing.Verbose() && (r < 1 || r > 1.8) {
				t.Logf("%s %s: estimate %d, reference %d (%.2f)", c.name, name, est.Input, ref.Input, r)
			}
			st.ratios = append(st.ratios, r)
		}
		t.Logf("%s (%s): %v", c.name, c.model, &st)
		if u := st.under(); u > c.maxUnder {
			t.Errorf("%s: %.0f%% of prompts estimated under the reference, want at most %.0f%%", c.name, 100*u, 100*c.maxUnder)
		}
	}
}
