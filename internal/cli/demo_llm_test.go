package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed/mockapi"
)

// testLLMBuckets are a third of the demo's buckets: naive gets 429s only
// once it has drained the first minute, which under the race detector, on
// a machine shared with the other tests, the demo's 150000 input tokens
// (about 315 requests) can take more than the run.
var testLLMBuckets = llmBuckets{requests: 120_000, input: 50_000, output: 20_000}

// TestDemoLLM runs the llm scenario for 4s per client, 12s in parallel with
// the other demo tests, and reads its JSON report. A paced client sends
// only a request or two in a second of testLLMBuckets' steady part, and
// under the race detector the first minute can take longer than the
// warmup to drain, so the steady use swings (TestWithTokens checks how it
// is reported); the use compared is the run's: the input tokens charged
// over what the bucket offered in the run (its first minute and its
// refill).
func TestDemoLLM(t *testing.T) {
	t.Parallel()
	opts, err := parseDemoArgs([]string{"--scenario", "llm", "--duration", "4s", "--workers", "4", "--clients", "naive,estimate,heed"})
	if err != nil {
		t.Fatal(err)
	}
	opts.llm = testLLMBuckets
	api, err := mockapi.New(opts.mockConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := startDemoServer(t.Context(), api)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	ran, err := runDemoClients(t.Context(), opts, srv, progress{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeDemoReport(&out, ran, true); err != nil {
		t.Fatal(err)
	}
	got := struct{ stdout string }{out.String()}
	var rep demoReport
	if err := json.Unmarshal([]byte(got.stdout), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, got.stdout)
	}
	if rep.Scenario != "llm" || rep.LLM == nil || rep.LLM.Binding != "input_tokens" || rep.LLM.InputTokensPerMinute != testLLMBuckets.input || rep.Limit != "" {
		t.Errorf("got scenario %q, llm %+v, limit %q, want llm with input_tokens binding and no request limit", rep.Scenario, rep.LLM, rep.Limit)
	}
	byName := map[string]demoResult{}
	for _, r := range rep.Clients {
		if r.Tokens == nil {
			t.Fatalf("%s: no tokens in %s", r.Client, got.stdout)
		}
		t.Logf("%s: sent %d, refused %d, input %d, output %d, steady use %.2f", r.Client, r.Sent, r.Refused, r.Tokens.Input, r.Tokens.Output, r.QuotaShare)
		byName[r.Client] = r
	}
	naive, estimate, heed := byName[clientNaive], byName[clientEstimate], byName[clientHeed]
	if len(byName) != 3 {
		t.Fatalf("got %d clients, want naive, estimate and heed: %s", len(byName), got.stdout)
	}
	if naive.Refused == 0 || naive.CallsFailed == 0 {
		t.Errorf("naive: got %d refusals and %d failed calls, want some of each", naive.Refused, naive.CallsFailed)
	}
	if heed.Refused != 0 || heed.OK == 0 {
		t.Errorf("heed: got %d refusals of %d requests, want 0 and some requests", heed.Refused, heed.Sent)
	}
	runUse := func(r demoResult) float64 {
		return float64(r.Tokens.Input) / (float64(testLLMBuckets.input) * (1 + r.Ran/60))
	}
	if h, e := runUse(heed), runUse(estimate); h < 0.8 || h < 1.5*e {
		t.Errorf("heed: got %.2f of what the input bucket offered in the run, want at least 0.8 and 1.5 times estimate's %.2f", h, e)
	}
	// The estimate pacer charges max_tokens: its output at arrival is 512 a request.
	if want := int64(estimate.OK) * llmMaxTokens; estimate.Tokens.OutputAtArrival != want {
		t.Errorf("estimate: got %d output tokens at arrival, want %d (max_tokens for each of %d)", estimate.Tokens.OutputAtArrival, want, estimate.OK)
	}
}

func TestWriteLLMReport(t *testing.T) {
	t.Parallel()
	opts := demoOptions{scenario: scenarioLLM, workers: 8, duration: 6 * time.Second, clients: []string{"estimate", "heed"}, configured: true, llm: defaultLLMBuckets}
	rep := newDemoReport(opts)
	rep.Clients = []demoResult{
		{Client: "estimate", Sent: 128, OK: 128, QuotaShare: 0.35, Wall: 6.01,
			Tokens: &llmTokens{Input: 63509, Output: 9728, PerSecond: 1009, Steady: mockapi.TokenUse{InputTokens: mockapi.BucketUse{Fraction: 0.35}}}},
		{Client: "heed", Sent: 344, OK: 344, QuotaShare: 0.93, Wall: 6,
			Tokens: &llmTokens{Input: 163436, Output: 26144, PerSecond: 2780.4, Steady: mockapi.TokenUse{InputTokens: mockapi.BucketUse{Fraction: 0.93}}}},
	}
	rep.Conclusion = conclude(rep.Clients, quotaWords(scenarioLLM))
	var b bytes.Buffer
	if err := writeDemoReport(&b, rep, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"8 workers share one Anthropic key for 6s per client",
		"refill 120000 requests, 150000 input tokens and 60000 output tokens a minute",
		"CLIENT SENT REFUSED (429) OK INPUT TOKENS OUTPUT TOKENS TOKENS/S INPUT USE FAILED CALLS WALL\n",
		"estimate 128 0 128 63509 9728 1009 35% 0 6.0s\n",
		"heed 344 0 344 163436 26144 2780 93% 0 6.0s\n",
		"estimate: 0 refusals and 35% of the input token limit; heed: 0 refusals and 93% of the input token limit.\n",
	} {
		if !strings.Contains(squeeze(out), want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// squeeze collapses the runs of spaces tabwriter pads columns with.
func squeeze(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

func TestSteadySpan(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		start    time.Time
		ran      time.Duration
		from, to time.Time
	}{
		{"OnASecond", base, 6 * time.Second, base.Add(2 * time.Second), base.Add(6 * time.Second)},
		{"MidSecond", base.Add(300 * time.Millisecond), 6 * time.Second, base.Add(3 * time.Second), base.Add(6 * time.Second)},
		{"ShortestRun", base.Add(999 * time.Millisecond), minLLMDuration, base.Add(3 * time.Second), base.Add(4 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			from, to := steadySpan(tt.start, tt.ran)
			if !from.Equal(tt.from) || !to.Equal(tt.to) {
				t.Errorf("got %v to %v, want %v to %v", from, to, tt.from, tt.to)
			}
		})
	}
}

func TestWithTokens(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	use := mockapi.TokenUse{From: from, To: from.Add(4 * time.Second),
		InputTokens:  mockapi.BucketUse{Limit: 150_000, Charged: 9_000, Fraction: 0.9},
		OutputTokens: mockapi.BucketUse{Limit: 60_000, Charged: 1_000, Fraction: 0.25}}
	counts := mockapi.TokenCounts{AtArrival: mockapi.Buckets{OutputTokens: 5120}, Charged: mockapi.Buckets{InputTokens: 12_000, OutputTokens: 760}}
	got := withTokens(demoResult{Client: "heed"}, counts, use)
	want := llmTokens{Input: 12_000, Output: 760, OutputAtArrival: 5120, Steady: use, PerSecond: 2500}
	if got.Tokens == nil || *got.Tokens != want {
		t.Errorf("tokens: got %+v, want %+v", got.Tokens, want)
	}
	if got.Quota != 10_000 || got.QuotaShare != 0.9 {
		t.Errorf("got quota %v, share %v, want 10000 input tokens in 4s and 0.9", got.Quota, got.QuotaShare)
	}
}

func TestTokenBucket(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		level     float64
		now       time.Time
		n         float64
		wantLevel float64
		wantWait  time.Duration
	}{
		{"FullAtFirst", 600, t0, 600, 600, 0},
		{"Holds", 100, t0, 50, 100, 0},
		{"Short", 0, t0, 10, 0, time.Second + 1},
		{"Refills", 0, t0.Add(time.Second), 10, 10, 0},
		{"NeverPastCapacity", 590, t0.Add(time.Minute), 1, 600, 0},
		{"ClockBackwards", 5, t0.Add(-time.Second), 5, 5, 0},
		{"LargerThanCapacityWaitsForFull", 300, t0, 1000, 300, 30*time.Second + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newTokenBucket(600, t0)
			b.level = tt.level
			b = b.refilled(tt.now)
			if b.level != tt.wantLevel {
				t.Errorf("level: got %v, want %v", b.level, tt.wantLevel)
			}
			if got := b.wait(tt.n); got != tt.wantWait {
				t.Errorf("wait: got %v, want %v", got, tt.wantWait)
			}
		})
	}
}

func TestEstimatePacer(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := newEstimatePacer(defaultLLMBuckets, t0)
	// The output bucket holds 60000 tokens: 117 requests at max_tokens 512.
	charge := [numEstimateKinds]float64{1, 100, llmMaxTokens}
	for i := range 117 {
		if d := p.take(t0, charge); d != 0 {
			t.Fatalf("request %d: got a wait of %v, want it taken from the full buckets", i+1, d)
		}
	}
	in := p.buckets[estimateInput].level
	d := p.take(t0, charge)
	if want := time.Duration((512.0 - 60_000 + 117*512) / 60_000 * float64(time.Minute)); d < want || d > want+time.Microsecond {
		t.Errorf("request 118: got a wait of %v, want %v, until the output bucket holds max_tokens", d, want)
	}
	if got := p.buckets[estimateInput].level; got != in {
		t.Errorf("a refused take changed the input bucket from %v to %v, want all or nothing", in, got)
	}
	if d := p.take(t0.Add(d), charge); d != 0 {
		t.Errorf("after the wait: got another %v, want it taken", d)
	}
}

func TestEstimateCharge(t *testing.T) {
	t.Parallel()
	for i, body := range llmBodies() {
		c := estimateCharge(body)
		lines := llmPromptLines[i]
		if c[estimateRequests] != 1 || c[estimateOutput] != llmMaxTokens || c[estimateInput] < float64(lines*20) || c[estimateInput] > float64(lines*60+100) {
			t.Errorf("prompt of %d lines: got charge %v, want 1 request, about %d-%d input tokens and %d output", lines, c, lines*20, lines*60+100, llmMaxTokens)
		}
	}
}
