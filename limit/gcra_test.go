package limit

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestNewGCRA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		requests int64
		per      time.Duration
		burst    int64
		headroom float64
		want     GCRA
		wantErr  bool
	}{
		{"TenPerSecond", 10, time.Second, 0, 0, GCRA{Interval: 100_000}, false},
		{"BurstFive", 10, time.Second, 5, 0, GCRA{Interval: 100_000, Tolerance: 400_000}, false},
		{"Headroom", 100, time.Second, 1, 0.2, GCRA{Interval: 12_500}, false},
		{"GitHubHourly", 5000, time.Hour, 0, 0, GCRA{Interval: 720_000}, false},
		{"FasterThanMicrosecond", 1e9, time.Second, 0, 0, GCRA{Interval: 1}, false},
		{"ZeroRequests", 0, time.Second, 0, 0, GCRA{}, true},
		{"NegativePer", 1, -time.Second, 0, 0, GCRA{}, true},
		{"NegativeBurst", 1, time.Second, -1, 0, GCRA{}, true},
		{"HugeBurst", 1, time.Second, 1 << 30, 0, GCRA{}, true},
		{"HeadroomTooLarge", 1, time.Second, 0, 0.5, GCRA{}, true},
		{"HeadroomNaN", 1, time.Second, 0, nan(), GCRA{}, true},
		{"SlowerThanCentury", 1, 200 * 365 * 24 * time.Hour, 0, 0, GCRA{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewGCRA(tt.requests, tt.per, tt.burst, tt.headroom)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func nan() float64 { z := 0.0; return z / z }

// TestDecideSteps walks a GCRA through a sequence of requests.
func TestDecideSteps(t *testing.T) {
	t.Parallel()
	g := GCRA{Interval: 100, Tolerance: 200} // burst 3
	steps := []struct {
		now, cost int64
		want      Decision
	}{
		{1000, 1, Decision{Allowed: true, TAT: 1100, Remaining: 2, ResetAfter: 100}},
		{1000, 1, Decision{Allowed: true, TAT: 1200, Remaining: 1, ResetAfter: 200}},
		{1000, 1, Decision{Allowed: true, TAT: 1300, Remaining: 0, ResetAfter: 300}},
		{1000, 1, Decision{TAT: 1300, Wait: 100, ResetAfter: 300}},
		{1050, 1, Decision{TAT: 1300, Wait: 50, ResetAfter: 250}},
		{1100, 1, Decision{Allowed: true, TAT: 1400, Remaining: 0, ResetAfter: 300}},
		{1400, 2, Decision{Allowed: true, TAT: 1600, Remaining: 1, ResetAfter: 200}},
		{1400, 9, Decision{TAT: 1600, Wait: 200, ResetAfter: 200}}, // charged as the burst
		{5000, 3, Decision{Allowed: true, TAT: 5300, Remaining: 0, ResetAfter: 300}},
	}
	tat := int64(0)
	for i, s := range steps {
		got := g.Decide(tat, s.now, s.cost)
		if got != s.want {
			t.Fatalf("step %d (now %d, cost %d): got %+v, want %+v", i, s.now, s.cost, got, s.want)
		}
		tat = got.TAT
	}
}

func TestZeroGCRAAllowsAll(t *testing.T) {
	t.Parallel()
	if d := (GCRA{}).Decide(5, 10, 100); !d.Allowed || d.TAT != 5 {
		t.Errorf("got %+v, want allowed with TAT unchanged", d)
	}
}

// TestNoWindowExceedsLimit offers requests far faster than the limit at
// random times and checks the promise of the package doc: no window of
// length P holds more than N+B-1 allowed requests.
func TestNoWindowExceedsLimit(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ n, burst int64 }{{10, 1}, {10, 4}, {7, 1}, {1, 1}, {100, 30}} {
		per := int64(1_000_000)
		g, err := NewGCRA(c.n, time.Second, c.burst, 0)
		if err != nil {
			t.Fatal(err)
		}
		var allowed []int64
		tat, now := int64(0), int64(1)
		for range 20000 {
			now += rng.Int64N(per / c.n / 3)
			if d := g.Decide(tat, now, 1); d.Allowed {
				tat = d.TAT
				allowed = append(allowed, now)
			}
		}
		if most := busiestWindow(allowed, per); most > c.n+c.burst-1 {
			t.Errorf("%d/s burst %d: a window of 1s held %d requests, want at most %d", c.n, c.burst, most, c.n+c.burst-1)
		}
		if len(allowed) < 100 {
			t.Errorf("%d/s burst %d: only %d allowed: not pacing at the limit", c.n, c.burst, len(allowed))
		}
	}
}

// busiestWindow returns the most times any half-open window [t, t+w) holds.
func busiestWindow(times []int64, w int64) int64 {
	most, j := 0, 0
	for i := range times {
		for times[i]-times[j] >= w {
			j++
		}
		most = max(most, i-j+1)
	}
	return int64(most)
}

func TestSpread(t *testing.T) {
	t.Parallel()
	tests := []struct {
		remaining float64
		until     int64
		want      GCRA
		ok        bool
	}{
		{10, 1_000_000, GCRA{Interval: 200_000, Tolerance: 800_000}, true}, // 5 at once, 5 spread
		{3.7, 900, GCRA{Interval: 450}, true},                              // 1 at once, 2 spread
		{1, 1_000_000, GCRA{Interval: 1_000_000}, true},                    // the last unit now, none before the reset
		{2, 1_000_000, GCRA{Interval: 1_000_000}, true},
		{1e12, 10, GCRA{Interval: 1, Tolerance: maxBurst/2 - 1}, true},
		{0, 1_000_000, GCRA{Interval: 1_000_000}, true},
		{0.5, 1_000_000, GCRA{Interval: 1_000_000}, true},
		{-3, 1_000_000, GCRA{Interval: 1_000_000}, true},
		{10, 0, GCRA{}, false},
		{nan(), 10, GCRA{}, false},
	}
	for _, tt := range tests {
		got, ok := Spread(tt.remaining, tt.until)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Spread(%v, %d) = %+v, %v; want %+v, %v", tt.remaining, tt.until, got, ok, tt.want, tt.ok)
		}
	}
}

// TestSpreadNeverOverspends starts a spread fresh and offers requests as
// fast as it allows: no more than the remainder may pass before the reset.
func TestSpreadNeverOverspends(t *testing.T) {
	t.Parallel()
	for _, r := range []float64{1, 2, 3, 10, 19, 100, 4999} {
		until := int64(3_600_000_000)
		g, _ := Spread(r, until)
		var tat, n int64
		for now := int64(0); now < until; {
			d := g.Decide(tat, now, 1)
			if !d.Allowed {
				now += d.Wait
				continue
			}
			tat, n = d.TAT, n+1
		}
		if n > int64(r) || n < int64(r)-1 {
			t.Errorf("remaining %v: %d allowed before the reset, want %v (or one less)", r, n, r)
		}
	}
}

func TestMicros(t *testing.T) {
	t.Parallel()
	if got := Micros(1500 * time.Nanosecond); got != 2 {
		t.Errorf("Micros(1.5µs) = %d, want 2 (rounded up)", got)
	}
	if got := Duration(Micros(3 * time.Second)); got != 3*time.Second {
		t.Errorf("round trip of 3s = %v", got)
	}
}

// FuzzDecide checks that no state, time or cost makes Decide overflow into a
// negative wait or move the state backwards.
func FuzzDecide(f *testing.F) {
	f.Add(int64(10), int64(1_000_000), int64(3), int64(0), int64(1_700_000_000_000_000), int64(1))
	f.Fuzz(func(t *testing.T, requests, perUS, burst, tat, now, cost int64) {
		g, err := NewGCRA(requests, time.Duration(perUS)*time.Microsecond, burst, 0.02)
		if err != nil || now < 0 || now > 1<<55 || tat < 0 || tat > 1<<56 {
			return
		}
		d := g.Decide(tat, now, cost)
		if d.Wait < 0 || d.Remaining < 0 || d.ResetAfter < 0 || d.TAT < tat {
			t.Fatalf("Decide(%d, %d, %d) on %+v = %+v", tat, now, cost, g, d)
		}
		if d.Allowed != (d.Wait == 0) {
			t.Fatalf("Allowed %v with Wait %d", d.Allowed, d.Wait)
		}
	})
}

func TestReprice(t *testing.T) {
	t.Parallel()
	slow, fast := GCRA{Interval: 1000}, GCRA{Interval: 250}
	tests := []struct {
		name           string
		from, to       GCRA
		tat, now, want int64
	}{
		{"DebtOfTwoUnits", slow, fast, 3000, 1000, 1500},
		{"NoDebt", slow, fast, 500, 1000, 500},
		{"FromZero", GCRA{}, fast, 3000, 1000, 3000},
		{"Slower", fast, slow, 1500, 1000, 3000},
	}
	for _, tt := range tests {
		if got := Reprice(tt.from, tt.to, tt.tat, tt.now); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestShare(t *testing.T) {
	g := GCRA{Interval: 50_000, Tolerance: 9 * 50_000} // 20/s, burst 10
	tests := []struct {
		n    int
		want GCRA
	}{
		{0, g},
		{1, g},
		{2, GCRA{Interval: 100_000, Tolerance: 4 * 100_000}},
		{3, GCRA{Interval: 150_000, Tolerance: 2 * 150_000}},
		{10, GCRA{Interval: 500_000}},
		{40, GCRA{Interval: 2_000_000}},
	}
	for _, tt := range tests {
		if got := g.Share(tt.n); got != tt.want {
			t.Errorf("Share(%d) = %+v, want %+v", tt.n, got, tt.want)
		}
	}
	if got := (GCRA{}).Share(3); got != (GCRA{}) {
		t.Errorf("the zero GCRA shared: %+v, want it unchanged", got)
	}
	if got := (GCRA{Interval: maxInterval}).Share(1 << 30); got.Interval != maxInterval {
		t.Errorf("huge share: interval %d, want it capped at %d", got.Interval, maxInterval)
	}
}

// TestSharesStayWithinTheWhole runs n sharers side by side, each asking as
// often as it can: together they never get more than the whole GCRA allows
// in any window.
func TestSharesStayWithinTheWhole(t *testing.T) {
	whole := GCRA{Interval: 50_000, Tolerance: 4 * 50_000} // 20/s, burst 5
	for _, n := range []int{2, 3, 7} {
		part := whole.Share(n)
		tats := make([]int64, n)
		var grants []int64
		for now := int64(0); now < 10_000_000; now += 1_000 {
			for i := range tats {
				if d := part.Decide(tats[i], now, 1); d.Allowed {
					tats[i] = d.TAT
					grants = append(grants, now)
				}
			}
		}
		// any window of one second: at most 20 + burst 5
		for i := range grants {
			j := i
			for j < len(grants) && grants[j] < grants[i]+1_000_000 {
				j++
			}
			if j-i > 25 {
				t.Fatalf("%d sharers: %d grants in the second from %dµs, want at most 25", n, j-i, grants[i])
			}
		}
		if len(grants) < 150 {
			t.Errorf("%d sharers: %d grants in 10s, want close to 200", n, len(grants))
		}
	}
}

func TestAdjust(t *testing.T) {
	t.Parallel()
	g := GCRA{Interval: 100, Tolerance: 400} // burst 5
	const now = 10_000
	tests := []struct {
		name       string
		g          GCRA
		tat, units int64
		want       int64
	}{
		{"NothingToDo", g, now + 300, 0, now + 300},
		{"ChargeMore", g, now + 300, 4, now + 700},
		{"ChargeFromFull", g, now - 50, 2, now + 200},
		{"ChargePastTheBurst", g, now + 500, 10, now + 1500},
		{"GiveBack", g, now + 300, -2, now + 100},
		{"GiveBackAtMostToFull", g, now + 300, -10, now},
		{"GiveBackWhenFull", g, now - 50, -3, now - 50},
		{"ZeroGCRA", GCRA{}, now + 300, 5, now + 300},
		{"HugeChargeIsCapped", g, now, 1 << 62, now + maxInterval},
		{"HugeGiveBack", g, now + 300, -(1 << 62), now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.g.Adjust(tt.tat, now, tt.units); got != tt.want {
				t.Fatalf("Adjust(%d, %d, %d) = %d, want %d", tt.tat, now, tt.units, got, tt.want)
			}
		})
	}
}

// TestAdjustThenDecide: a request charged 1 unit whose real cost was 3 is
// settled with +2, and the GCRA then refuses what the 3 units leave no room
// for, exactly as if 3 had been charged at first.
func TestAdjustThenDecide(t *testing.T) {
	t.Parallel()
	g := GCRA{Interval: 100, Tolerance: 200} // burst 3
	const now = 1_000
	settled := g.Adjust(g.Decide(0, now, 1).TAT, now, 2)
	direct := g.Decide(0, now, 3).TAT
	if settled != direct {
		t.Fatalf("settled TAT %d, want %d as if charged 3 at once", settled, direct)
	}
	if d := g.Decide(settled, now, 1); d.Allowed || d.Wait != 100 {
		t.Fatalf("after the settle: %+v, want refused for 100µs", d)
	}
}
