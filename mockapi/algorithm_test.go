package mockapi

import (
	"testing"
	"time"
)

// arrival is one request to a limiter and the decision it should get.
type arrival struct {
	at        time.Duration // since t0
	allowed   bool
	remaining int
	reset     time.Duration // since t0
	wait      time.Duration
}

func TestRateAlgorithms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		limit    Limit
		arrivals []arrival
	}{
		{
			name:  "FixedWindowOpensWithFirstRequest",
			limit: Limit{Algorithm: AlgorithmFixed, Requests: 3, Per: time.Second},
			arrivals: []arrival{
				{at: 0, allowed: true, remaining: 2, reset: time.Second},
				{at: 100 * time.Millisecond, allowed: true, remaining: 1, reset: time.Second},
				{at: 200 * time.Millisecond, allowed: true, remaining: 0, reset: time.Second},
				{at: 300 * time.Millisecond, reset: time.Second, wait: 700 * time.Millisecond},
				{at: 999 * time.Millisecond, reset: time.Second, wait: time.Millisecond},
				{at: time.Second, allowed: true, remaining: 2, reset: 2 * time.Second},
				{at: 5500 * time.Millisecond, allowed: true, remaining: 2, reset: 6500 * time.Millisecond},
			},
		},
		{
			name:  "SlidingLogResetsWhenOldestLeaves",
			limit: Limit{Algorithm: AlgorithmSliding, Requests: 3, Per: time.Second},
			arrivals: []arrival{
				{at: 0, allowed: true, remaining: 2, reset: time.Second},
				{at: 400 * time.Millisecond, allowed: true, remaining: 1, reset: time.Second},
				{at: 800 * time.Millisecond, allowed: true, remaining: 0, reset: time.Second},
				{at: 900 * time.Millisecond, reset: time.Second, wait: 100 * time.Millisecond},
				{at: time.Second, allowed: true, remaining: 0, reset: 1400 * time.Millisecond},
				{at: 1100 * time.Millisecond, reset: 1400 * time.Millisecond, wait: 300 * time.Millisecond},
				{at: 1400 * time.Millisecond, allowed: true, remaining: 0, reset: 1800 * time.Millisecond},
				{at: 3 * time.Second, allowed: true, remaining: 2, reset: 4 * time.Second},
			},
		},
		{
			name:  "TokenBucketResetsWhenOneTokenIsBack",
			limit: Limit{Algorithm: AlgorithmToken, Requests: 2, Per: time.Second, Burst: 3},
			arrivals: []arrival{
				{at: 0, allowed: true, remaining: 2, reset: 500 * time.Millisecond},
				{at: 0, allowed: true, remaining: 1, reset: 500 * time.Millisecond},
				{at: 0, allowed: true, remaining: 0, reset: 500 * time.Millisecond},
				{at: 100 * time.Millisecond, reset: 500 * time.Millisecond, wait: 400 * time.Millisecond},
				{at: 500 * time.Millisecond, allowed: true, remaining: 0, reset: time.Second},
				{at: 2 * time.Second, allowed: true, remaining: 2, reset: 2500 * time.Millisecond},
				{at: 2250 * time.Millisecond, allowed: true, remaining: 1, reset: 2500 * time.Millisecond},
			},
		},
		{
			// One token every 3 hours, a rate that is not a whole number
			// of nanoseconds per token in other units.
			name:  "TokenBucketSlowRefillIsExact",
			limit: Limit{Algorithm: AlgorithmToken, Requests: 7, Per: 21 * time.Hour, Burst: 1},
			arrivals: []arrival{
				{at: 0, allowed: true, remaining: 0, reset: 3 * time.Hour},
				{at: time.Hour, reset: 3 * time.Hour, wait: 2 * time.Hour},
				{at: 3 * time.Hour, allowed: true, remaining: 0, reset: 6 * time.Hour},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLimiter(tt.limit)
			for i, a := range tt.arrivals {
				checkDecision(t, i, l.take(t0.Add(a.at)), a)
			}
		})
	}
}

// checkDecision compares the decision on arrival i with its expectation.
func checkDecision(t *testing.T, i int, got decision, want arrival) {
	t.Helper()
	if got.allowed != want.allowed || got.remaining != want.remaining || got.wait != want.wait {
		t.Errorf("arrival %d at +%v: got allowed=%v remaining=%d wait=%v, want allowed=%v remaining=%d wait=%v",
			i, want.at, got.allowed, got.remaining, got.wait, want.allowed, want.remaining, want.wait)
	}
	if gotReset := got.reset.Sub(t0); gotReset != want.reset {
		t.Errorf("arrival %d at +%v: got reset +%v, want +%v", i, want.at, gotReset, want.reset)
	}
}

func TestConcurrencyAlgorithm(t *testing.T) {
	t.Parallel()
	l := newLimiter(Limit{Algorithm: AlgorithmConcurrency, Concurrency: 2})
	steps := []struct {
		name      string
		release   bool // release one instead of taking one
		allowed   bool
		remaining int
		wait      time.Duration
	}{
		{name: "First", allowed: true, remaining: 1},
		{name: "Second", allowed: true, remaining: 0},
		{name: "ThirdWhileTwoInFlight", wait: time.Second},
		{name: "OneFinishes", release: true},
		{name: "Fourth", allowed: true, remaining: 0},
	}
	for _, st := range steps {
		if st.release {
			l.release()
			continue
		}
		d := l.take(t0)
		if d.allowed != st.allowed || d.remaining != st.remaining || d.wait != st.wait || !d.reset.IsZero() {
			t.Errorf("%s: got allowed=%v remaining=%d wait=%v reset=%v, want allowed=%v remaining=%d wait=%v and no reset",
				st.name, d.allowed, d.remaining, d.wait, d.reset, st.allowed, st.remaining, st.wait)
		}
	}
}

func TestTokenBucketClockGoingBackAddsNothing(t *testing.T) {
	t.Parallel()
	l := newLimiter(Limit{Algorithm: AlgorithmToken, Requests: 1, Per: time.Second})
	l.take(t0)
	if d := l.take(t0.Add(-time.Hour)); d.allowed {
		t.Errorf("got a token an hour before the last one was taken, want none")
	}
}

func TestTokenBucketDefaultBurstIsRequests(t *testing.T) {
	t.Parallel()
	cfg, err := Config{Limit: Limit{Algorithm: AlgorithmToken, Requests: 5, Per: time.Second}}.validate()
	if err != nil {
		t.Fatal(err)
	}
	if d := newLimiter(cfg.Limit).take(t0); d.limit != 5 || d.remaining != 4 {
		t.Errorf("got limit %d remaining %d, want 5 and 4", d.limit, d.remaining)
	}
}

func TestCeilings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    time.Duration
		want int64
	}{
		{"Zero", 0, 0},
		{"Negative", -time.Second, 0},
		{"OneNanosecond", 1, 1},
		{"ExactSecond", time.Second, 1},
		{"JustOver", time.Second + 1, 2},
	}
	for _, tt := range tests {
		if got := ceilSeconds(tt.d); got != tt.want {
			t.Errorf("%s: ceilSeconds(%v): got %d, want %d", tt.name, tt.d, got, tt.want)
		}
	}
	if got, want := ceilToSecond(t0.Add(time.Millisecond)), t0.Add(time.Second); !got.Equal(want) {
		t.Errorf("ceilToSecond: got %v, want %v", got, want)
	}
	if got := ceilToSecond(t0); !got.Equal(t0) {
		t.Errorf("ceilToSecond of a whole second: got %v, want %v", got, t0)
	}
}
