package learn

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// whole is an observation of a request that found a 20-unit quota whole,
// sent at sent and answered a millisecond later, with the reset reset.
func whole(sent time.Duration, reset time.Time) Observation {
	return Observation{Sent: at(sent), Answered: at(sent + time.Millisecond), Limit: 20, Remaining: 19, Reset: reset}
}

func TestObserve(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		obs    []Observation
		kind   Kind
		window time.Duration
	}{
		{"GitHubWholeSecondReset", // a 1s window opened at .300, its reset rounded up to 2s
			[]Observation{whole(300*ms, at(2*time.Second))}, KindWindow, time.Second},
		{"GitHubHour", // 5000 an hour, opened at .400, reset 13:00:01
			[]Observation{{Sent: at(400 * ms), Answered: at(401 * ms), Limit: 5000, Remaining: 4999, Reset: at(time.Hour + time.Second)}}, KindWindow, time.Hour},
		{"MillisecondReset", // OpenAI's 999ms: a window a little over the horizon
			[]Observation{whole(300*ms, at(1300*ms+500*time.Microsecond))}, KindWindow, 1000*ms + 500*time.Microsecond},
		{"BucketUnit", // the next unit 50ms away: 20 units refill in a second
			[]Observation{whole(300*ms, at(350*ms+500*time.Microsecond))}, KindBucket, 20 * (50*ms + 500*time.Microsecond)},
		{"RoundedShortHorizon", // rounded to 1s, 700ms away: no whole second fits
			[]Observation{whole(300*ms, at(time.Second))}, KindUnknown, 0},
		{"NotWhole", // Remaining 10: the horizon says nothing of the window
			[]Observation{{Sent: at(0), Answered: at(ms), Limit: 20, Remaining: 10, Reset: at(2 * time.Second)}}, KindUnknown, 0},
		{"Stated", // the IETF draft's w=
			[]Observation{{Sent: at(0), Answered: at(ms), Limit: 20, Remaining: 3, Reset: at(time.Second), Window: 10 * time.Second}}, KindWindow, 10 * time.Second},
		{"Intersected", // 3.0005s at .9995 could be 2s or 3s (3s is taken); 2.7s at 10.3 says 2s
			[]Observation{{Sent: at(999500 * time.Microsecond), Answered: at(1000500 * time.Microsecond), Limit: 20, Remaining: 19, Reset: at(4 * time.Second)},
				whole(10*time.Second+300*ms, at(13*time.Second))}, KindWindow, 2 * time.Second},
		{"AmbiguousTakesTheLonger", // the first answer above alone
			[]Observation{{Sent: at(999500 * time.Microsecond), Answered: at(1000500 * time.Microsecond), Limit: 20, Remaining: 19, Reset: at(4 * time.Second)}}, KindWindow, 3 * time.Second},
		{"LimitChanges", // learned for 20, then the limit is 60: start over
			[]Observation{whole(300*ms, at(2*time.Second)), {Sent: at(3 * time.Second), Answered: at(3*time.Second + ms), Limit: 60, Remaining: 50, Reset: at(5 * time.Second)}}, KindUnknown, 0},
		{"BadInputIgnored",
			[]Observation{whole(300*ms, at(2*time.Second)), {Limit: math.NaN()}, {Limit: 0, Remaining: 1}, {Sent: at(time.Second), Answered: at(0), Limit: 20, Remaining: 19, Reset: at(9 * time.Second)}, {Limit: 20, Remaining: math.NaN()}},
			KindWindow, time.Second},
		{"BeyondADay",
			[]Observation{{Sent: at(0), Answered: at(ms), Limit: 20, Remaining: 19, Reset: at(48 * time.Hour)}}, KindUnknown, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q Quota
			var m Model
			for _, o := range tt.obs {
				m = q.Observe(o)
			}
			if m.Kind != tt.kind || m.Window != tt.window {
				t.Fatalf("got %v of %v, want %v of %v", m.Kind, m.Window, tt.kind, tt.window)
			}
			if m.Known() != (tt.kind != KindUnknown) {
				t.Errorf("Known() = %v for %v", m.Known(), m.Kind)
			}
			if q.Model() != m {
				t.Errorf("Model() = %+v, want what Observe returned, %+v", q.Model(), m)
			}
		})
	}
}

func TestRefuteAndAdopt(t *testing.T) {
	var q Quota
	q.Observe(whole(300*time.Millisecond, at(2*time.Second)))
	q.Refute()
	if m := q.Model(); m.Known() {
		t.Fatalf("after Refute: %+v, want unknown", m)
	}
	if m := q.Adopt(60, 5*time.Second); m.Known() {
		t.Fatalf("adopting another limit's window: %+v, want unknown", m)
	}
	if m := q.Adopt(20, 5*time.Second); m.Kind != KindWindow || m.Window != 5*time.Second {
		t.Fatalf("adopting a fleet's window: %+v, want a window of 5s", m)
	}
	if m := q.Observe(whole(10*time.Second+300*time.Millisecond, at(12*time.Second))); m.Window != time.Second {
		t.Fatalf("an answer of its own after adopting: %+v, want its own 1s", m)
	}
	var stated Quota
	stated.Observe(Observation{Sent: at(0), Answered: at(time.Millisecond), Limit: 20, Remaining: 5, Reset: at(time.Second), Window: 3 * time.Second})
	stated.Refute()
	if m := stated.Model(); m.Window != 3*time.Second {
		t.Fatalf("a stated window after Refute: %+v, want it kept", m)
	}
}

// TestOpenedElsewhere: a window another process opened is seen from an
// answer with most of the quota back and a reset past the window this
// learner saw open; under a sliding window, whose reset moves on with the
// quota low, Opened stays.
func TestOpenedElsewhere(t *testing.T) {
	ms := time.Millisecond
	var q Quota
	q.Observe(whole(300*ms, at(2*time.Second))) // opened at .301, 1s windows
	m := q.Observe(Observation{Sent: at(1400 * ms), Answered: at(1401 * ms), Limit: 20, Remaining: 16, Reset: at(3 * time.Second)})
	if !m.Opened.Equal(at(1400 * ms)) {
		t.Fatalf("a window opened elsewhere: Opened %v, want 1.4s (the request that saw it)", m.Opened.Sub(t0))
	}
	m = q.Observe(Observation{Sent: at(2200 * ms), Answered: at(2201 * ms), Limit: 20, Remaining: 1, Reset: at(4 * time.Second)})
	if !m.Opened.Equal(at(1400 * ms)) {
		t.Fatalf("a low quota with a later reset (a sliding window): Opened %v, want it kept at 1.4s", m.Opened.Sub(t0))
	}
	m = q.Observe(Observation{Sent: at(1900 * ms), Answered: at(1901 * ms), Limit: 20, Remaining: 15, Reset: at(3 * time.Second)})
	if !m.Opened.Equal(at(1400 * ms)) {
		t.Fatalf("the same window again: Opened %v, want it kept at 1.4s", m.Opened.Sub(t0))
	}
}

func TestNextUnit(t *testing.T) {
	window := Model{Kind: KindWindow, Limit: 20, Window: time.Second, Opened: at(0)}
	rolled := window
	rolled.Opened = time.Time{}
	bucket := Model{Kind: KindBucket, Limit: 20, Window: time.Second}
	tests := []struct {
		name       string
		m          Model
		now, reset time.Time
		want       time.Time
	}{
		{"WindowOpen", window, at(990 * time.Millisecond), at(2 * time.Second), at(time.Second)},
		{"WindowOverByTheModel", window, at(1100 * time.Millisecond), at(2 * time.Second), at(1150 * time.Millisecond)},
		{"OpenedUnknown", rolled, at(500 * time.Millisecond), at(2 * time.Second), at(550 * time.Millisecond)},
		{"NeverAfterTheReset", window, at(100 * time.Millisecond), at(300 * time.Millisecond), at(300 * time.Millisecond)},
		{"Bucket", bucket, at(0), at(50 * time.Millisecond), at(50 * time.Millisecond)},
		{"BucketWithoutReset", bucket, at(0), time.Time{}, at(50 * time.Millisecond)},
		{"Unknown", Model{}, at(0), at(time.Second), at(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.NextUnit(tt.now, tt.reset); !got.Equal(tt.want) {
				t.Fatalf("got %v, want %v", got.Sub(t0), tt.want.Sub(t0))
			}
		})
	}
}

func TestBack(t *testing.T) {
	window := Model{Kind: KindWindow, Limit: 20, Window: time.Second, Opened: at(0)}
	for _, tt := range []struct {
		name       string
		m          Model
		now, reset time.Time
		want       time.Time
	}{
		{"WindowOpen", window, at(500 * time.Millisecond), at(2 * time.Second), at(time.Second)},
		{"WindowOver", window, at(1500 * time.Millisecond), at(2 * time.Second), at(2 * time.Second)},
		{"ResetSooner", window, at(500 * time.Millisecond), at(800 * time.Millisecond), at(800 * time.Millisecond)},
		{"NoReset", window, at(500 * time.Millisecond), time.Time{}, at(time.Second)},
		{"Bucket", Model{Kind: KindBucket, Limit: 20, Window: time.Second}, at(0), at(50 * time.Millisecond), at(50 * time.Millisecond)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Back(tt.now, tt.reset); !got.Equal(tt.want) {
				t.Fatalf("got %v, want %v", got.Sub(t0), tt.want.Sub(t0))
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindUnknown: "unknown", KindWindow: "window", KindBucket: "bucket", 9: "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// FuzzObserve feeds arbitrary answers: nothing panics, a known model's
// window is within (0, a day], and NextUnit and Back are never after the
// reset.
func FuzzObserve(f *testing.F) {
	f.Add(int64(300_000), int64(1_000), 20.0, 19.0, int64(2_000_000), int64(0))
	f.Add(int64(0), int64(1_000), 20.0, 19.0, int64(50_000), int64(0))
	f.Add(int64(0), int64(1_000), 5000.0, 0.0, int64(3_600_000_000), int64(60_000_000))
	f.Add(int64(-5), int64(-9), math.Inf(1), math.NaN(), int64(math.MaxInt64), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, sent, rtt int64, lim, remaining float64, reset, window int64) {
		var q Quota
		for i := range int64(3) {
			s := at(time.Duration(sent + i*reset/3))
			o := Observation{Sent: s, Answered: s.Add(time.Duration(rtt)), Limit: lim, Remaining: remaining,
				Reset: s.Add(time.Duration(reset)), Window: time.Duration(window)}
			m := q.Observe(o)
			if m.Known() && !(m.Window > 0 && m.Window <= maxWindow) {
				t.Fatalf("model %+v from %+v: window out of (0, a day]", m, o)
			}
			if next := m.NextUnit(o.Answered, o.Reset); next.After(o.Reset) {
				t.Fatalf("model %+v: NextUnit %v after the reset %v", m, next, o.Reset)
			}
			if back := m.Back(o.Answered, o.Reset); back.After(o.Reset) {
				t.Fatalf("model %+v: Back %v after the reset %v", m, back, o.Reset)
			}
		}
	})
}
