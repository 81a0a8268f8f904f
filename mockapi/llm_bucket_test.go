package mockapi

import (
	"testing"
	"time"
)

// A step of TestMeters: at +at, charge a cost (or correct one), and what
// must follow.
type meterStep struct {
	at time.Duration
	// charge is charged unless correctFrom is set, when the step corrects
	// correctFrom to charge instead.
	charge, correctFrom cost
	correct             bool
	// wantAllowed, wantWait and wantNever are the verdict of a charge.
	wantAllowed bool
	wantWait    time.Duration
	wantNever   bool
	// wantRemaining and wantFull are each bucket's state after the step
	// (for the buckets that are on), wantFull measured from t0.
	wantRemaining cost
	wantFull      [numBuckets]time.Duration
}

func costOf(requests, tokens, input, output int64) cost {
	return cost{requests, tokens, input, output}
}

func TestMeters(t *testing.T) {
	t.Parallel()
	// Anthropic-like: 60 RPM (1 a second), 6000 ITPM (100 a second), 600
	// OTPM (10 a second).
	anthropicLimits := [numBuckets]int64{60, 0, 6000, 600}
	tests := []struct {
		name   string
		limits [numBuckets]int64
		steps  []meterStep
	}{
		{"FullAtFirst", anthropicLimits, []meterStep{
			{at: 0, charge: costOf(1, 0, 1000, 500), wantAllowed: true,
				wantRemaining: costOf(59, 0, 5000, 100), wantFull: [4]time.Duration{time.Second, 0, 10 * time.Second, 50 * time.Second}},
		}},
		{"RefillsContinuously", anthropicLimits, []meterStep{
			{at: 0, charge: costOf(1, 0, 6000, 0), wantAllowed: true, wantRemaining: costOf(59, 0, 0, 600),
				wantFull: [4]time.Duration{time.Second, 0, time.Minute, 0}},
			// 15s later a quarter is back.
			{at: 15 * time.Second, charge: costOf(1, 0, 1500, 0), wantAllowed: true, wantRemaining: costOf(59, 0, 0, 600),
				wantFull: [4]time.Duration{16 * time.Second, 0, 75 * time.Second, 15 * time.Second}},
		}},
		{"ShortRefusesAndTakesNothing", anthropicLimits, []meterStep{
			{at: 0, charge: costOf(1, 0, 100, 550), wantAllowed: true, wantRemaining: costOf(59, 0, 5900, 50),
				wantFull: [4]time.Duration{time.Second, 0, time.Second, 55 * time.Second}},
			// 100 output tokens: 50 are there, 50 more take 5s; the other
			// buckets had room but are not charged.
			{at: 0, charge: costOf(1, 0, 100, 100), wantWait: 5 * time.Second, wantRemaining: costOf(59, 0, 5900, 50),
				wantFull: [4]time.Duration{time.Second, 0, time.Second, 55 * time.Second}},
			// 5s later the request and input buckets are full again.
			{at: 5 * time.Second, charge: costOf(1, 0, 100, 100), wantAllowed: true, wantRemaining: costOf(59, 0, 5900, 0),
				wantFull: [4]time.Duration{6 * time.Second, 0, 6 * time.Second, 65 * time.Second}},
		}},
		{"LargerThanTheLimitNeverFits", anthropicLimits, []meterStep{
			{at: 0, charge: costOf(1, 0, 100, 601), wantNever: true, wantRemaining: costOf(60, 0, 6000, 600)},
		}},
		{"CorrectionGivesBackUpToFull", anthropicLimits, []meterStep{
			{at: 0, charge: costOf(1, 0, 100, 512), wantAllowed: true, wantRemaining: costOf(59, 0, 5900, 88),
				wantFull: [4]time.Duration{time.Second, 0, time.Second, 51200 * time.Millisecond}},
			// The answer had 12 tokens: 500 come back.
			{at: 0, correct: true, correctFrom: costOf(1, 0, 100, 512), charge: costOf(1, 0, 100, 12),
				wantRemaining: costOf(59, 0, 5900, 588), wantFull: [4]time.Duration{time.Second, 0, time.Second, 1200 * time.Millisecond}},
			// A later correction never overfills the bucket.
			{at: 30 * time.Second, correct: true, correctFrom: costOf(0, 0, 0, 400), charge: costOf(0, 0, 0, 0),
				wantRemaining: costOf(60, 0, 6000, 600), wantFull: [4]time.Duration{30 * time.Second, 0, 30 * time.Second, 30 * time.Second}},
		}},
		{"CorrectionTakesMore", [numBuckets]int64{0, 6000, 0, 0}, []meterStep{
			{at: 0, charge: costOf(1, 100, 0, 0), wantAllowed: true, wantRemaining: costOf(0, 5900, 0, 0),
				wantFull: [4]time.Duration{0, time.Second, 0, 0}},
			// 6000 more leave the bucket 100 in debt.
			{at: 0, correct: true, correctFrom: costOf(1, 100, 0, 0), charge: costOf(1, 6100, 0, 0),
				wantRemaining: costOf(0, 0, 0, 0), wantFull: [4]time.Duration{0, 61 * time.Second, 0, 0}},
			// In debt, a request waits until the debt is paid and it fits.
			{at: 0, charge: costOf(1, 100, 0, 0), wantWait: 2 * time.Second, wantRemaining: costOf(0, 0, 0, 0),
				wantFull: [4]time.Duration{0, 61 * time.Second, 0, 0}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMeters(tt.limits)
			for i, st := range tt.steps {
				now := t0.Add(st.at)
				if st.correct {
					m.correct(now, st.correctFrom, st.charge)
				} else {
					v := m.charge(now, st.charge)
					if v.allowed != st.wantAllowed || v.wait != st.wantWait || v.never != st.wantNever {
						t.Errorf("step %d: got allowed %v wait %v never %v, want %v %v %v",
							i, v.allowed, v.wait, v.never, st.wantAllowed, st.wantWait, st.wantNever)
					}
				}
				checkViews(t, i, m.views(now), tt.limits, st)
			}
		})
	}
}

// checkViews checks the buckets after a step.
func checkViews(t *testing.T, step int, views [numBuckets]bucketView, limits [numBuckets]int64, st meterStep) {
	t.Helper()
	for b := range numBuckets {
		v := views[b]
		if v.on != (limits[b] > 0) {
			t.Errorf("step %d: bucket %v on %v, want %v", step, b, v.on, limits[b] > 0)
			continue
		}
		if !v.on {
			continue
		}
		if v.limit != limits[b] || v.remaining != st.wantRemaining[b] || !v.full.Equal(t0.Add(st.wantFull[b])) {
			t.Errorf("step %d: bucket %v: got limit %d remaining %d full +%v, want %d %d +%v", step, b,
				v.limit, v.remaining, v.full.Sub(t0), limits[b], st.wantRemaining[b], st.wantFull[b])
		}
	}
}

func TestMetersShortNamesTheBucket(t *testing.T) {
	t.Parallel()
	m := newMeters([numBuckets]int64{60, 0, 6000, 600})
	v := m.charge(t0, costOf(1, 0, 7000, 10))
	if v.allowed || !v.never || !v.short[bucketInputTokens] || v.short[bucketOutputTokens] || firstShort(v) != bucketInputTokens {
		t.Errorf("got %+v, want refused for ever, short of input tokens only", v)
	}
}
