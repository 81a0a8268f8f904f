package heed

import (
	"github.com/heedhq/heed/learn"
	"testing"
	"time"

	"github.com/heedhq/heed/llm"
	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/store"
)

// TestGranuleOf: a token limit counts tokens in the smallest power of ten
// that keeps its GCRA's interval at least 100µs and its burst within the
// GCRA's bound.
func TestGranuleOf(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		per    time.Duration
		want   int64
	}{
		{4000, time.Minute, 1},           // 15ms a token
		{600_000, time.Minute, 1},        // exactly 100µs a token
		{600_001, time.Minute, 10},       //
		{2_000_000, time.Minute, 10},     // Anthropic's ITPM of a high tier: 300µs a granule of 10
		{150_000_000, time.Minute, 1000}, // OpenAI's TPM of tier 5
		{10_000_000, time.Hour, 10},      // 36M granules an hour would pass the burst bound: 1M
		{50, 10 * time.Millisecond, 1},   // 10ms holds 100 intervals of 100µs
		{1, time.Microsecond, 1},         // degenerate: no loop forever
		{1 << 62, 24 * time.Hour, 0},     // huge: checked apart
	} {
		got := granuleOf(tc.amount, tc.per)
		if tc.amount == 1<<62 {
			if got < 1e12 {
				t.Errorf("granuleOf(%d, %v) = %d, want a granule that brings it under the bounds", tc.amount, tc.per, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("granuleOf(%d, %v) = %d, want %d", tc.amount, tc.per, got, tc.want)
		}
	}
}

// TestPricing: an estimate is charged in every unit at once, rounded up to
// whole granules; a token limit's burst is its whole amount unless it says.
func TestPricing(t *testing.T) {
	u := Upstream{Name: "anthropic", BaseURL: "https://api.anthropic.com", Limits: []Limit{
		{Requests: 50, Per: time.Minute},
		{InputTokens: 2_000_000, Per: time.Minute},
		{OutputTokens: 4000, Per: time.Minute},
		{OutputTokens: 400_000, Per: time.Minute, Path: "/v1/messages"},
	}}
	vendor, err := costOf(u)
	if err != nil || vendor != llm.Anthropic {
		t.Fatalf("costOf = %v, %v; want anthropic from the host", vendor, err)
	}
	p := newPricing(u, vendor, nil)
	if p.granule != [4]int64{1, defaultGranule, 10, 1} {
		t.Fatalf("granules %v: want requests 1, tokens the default, input 10 (2M a minute), output 1 (the largest output limit, 400k a minute)", p.granule)
	}
	got := p.cost(tokens{input: 1234, output: 512})
	want := store.Cost{Requests: 1, Tokens: 175, InputTokens: 124, OutputTokens: 512}
	if got != want {
		t.Errorf("cost = %+v, want %+v", got, want)
	}
	for i, tc := range []struct {
		l         Limit
		wantBurst int64
	}{
		{u.Limits[0], 1},
		{u.Limits[1], 200_000},
		{u.Limits[2], 4000},
		{Limit{InputTokens: 2_000_000, Per: time.Minute, Burst: 10_005}, 1001},
	} {
		g, err := p.gcra(tc.l, 0)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if g.Burst() != tc.wantBurst {
			t.Errorf("%d: burst %d granules, want %d", i, g.Burst(), tc.wantBurst)
		}
	}
}

// TestCostOf: the cost comes from the config, else the host, else the
// vendor, else none.
func TestCostOf(t *testing.T) {
	for _, tc := range []struct {
		u    Upstream
		want llm.Vendor
	}{
		{Upstream{BaseURL: "https://api.openai.com/v1"}, llm.OpenAI},
		{Upstream{BaseURL: "https://api.anthropic.com"}, llm.Anthropic},
		{Upstream{BaseURL: "https://api.anthropic.com", Cost: "none"}, llm.None},
		{Upstream{BaseURL: "http://127.0.0.1:8080", Vendor: "openai"}, llm.OpenAI},
		{Upstream{BaseURL: "http://127.0.0.1:8080", Vendor: "anthropic", Cost: "openai"}, llm.OpenAI},
		{Upstream{BaseURL: "https://api.github.com"}, llm.None},
		{Upstream{BaseURL: "http://127.0.0.1:8080", Vendor: "github"}, llm.None},
	} {
		got, err := costOf(tc.u)
		if err != nil || got != tc.want {
			t.Errorf("costOf(%+v) = %v, %v; want %v", tc.u, got, err, tc.want)
		}
	}
}

// TestUnitOfQuota: a priced upstream's token quotas pace in their unit;
// an unpriced one's in requests.
func TestUnitOfQuota(t *testing.T) {
	priced, unpriced := pricing{vendor: llm.Anthropic}, pricing{}
	for name, want := range map[string]store.Unit{
		"requests": store.UnitRequests, "tokens": store.UnitTokens, "input-tokens": store.UnitInputTokens,
		"output-tokens": store.UnitOutputTokens, "core": store.UnitRequests,
	} {
		if got := priced.unitOf(quota.Quota{Name: name}); got != want {
			t.Errorf("priced %q: %v, want %v", name, got, want)
		}
		if got := unpriced.unitOf(quota.Quota{Name: name}); got != store.UnitRequests {
			t.Errorf("unpriced %q: %v, want requests", name, got)
		}
	}
}

// TestBucketPace: an LLM vendor's token quota paces at the bucket's
// refill rate (what it lacks over the time to its full reset), with what
// it holds now as the burst, in the upstream's granules; a full bucket at
// its size a minute; an unpriced upstream spreads the remainder as
// before.
func TestBucketPace(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	priced := &call{u: &upstream{pricing: pricing{vendor: llm.Anthropic, granule: [4]int64{1, 10, 10, 1}}}}
	q := quota.Quota{Name: "input-tokens", Limit: 60_000, HasLimit: true, Remaining: 1000, HasRemaining: true, Reset: now.Add(59 * time.Second)}
	p, ok := priced.learnedPace(q, learn.Model{}, q.Remaining, 59*time.Second, now)
	if !ok || p.Unit != store.UnitInputTokens || !p.Until.Equal(now.Add(time.Minute)) {
		t.Fatalf("pace %+v %v: want one in input tokens for a minute (its reset is sooner)", p, ok)
	}
	// 5900 granules lacking over 59s (and the arrival jitter): about 100 a
	// second; 100 granules (1000 tokens) at once.
	if b := p.GCRA.Burst(); b != 100 {
		t.Errorf("burst %d granules, want the 100 the bucket holds", b)
	}
	if perSec := 1e6 / float64(p.GCRA.Interval); perSec < 97 || perSec > 100 {
		t.Errorf("%.1f granules a second, want about 100 (5900 over 59s, less the headroom)", perSec)
	}
	// A full bucket (its reset is now) refills at its size a minute, and
	// keeps the scope known for that minute.
	full := q
	full.Remaining, full.Reset = 60_000, now
	p, ok = priced.learnedPace(full, learn.Model{}, full.Remaining, 0, now)
	if !ok || p.GCRA.Burst() != 6000 || !p.Until.Equal(now.Add(time.Minute)) {
		t.Fatalf("a full bucket: %+v %v; want its 6000 granules at once, known for a minute", p, ok)
	}
	if perSec := 1e6 / float64(p.GCRA.Interval); perSec < 97 || perSec > 100 {
		t.Errorf("a full bucket: %.1f granules a second, want about 100 (6000 a minute, less the headroom)", perSec)
	}
	unpriced := &call{u: &upstream{pricing: pricing{granule: [4]int64{1, 10, 10, 10}}}}
	p, ok = unpriced.learnedPace(q, learn.Model{}, q.Remaining, 59*time.Second, now)
	if !ok || p.Unit != store.UnitRequests || p.GCRA.Burst() != 500 {
		t.Errorf("unpriced: %+v %v; want the remainder spread in requests, half of it at once", p, ok)
	}
}
