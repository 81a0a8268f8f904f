package storetest

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
)

var ctx = context.Background()

// perSecond returns a limit keyed key of n per second with burst b.
func perSecond(t *testing.T, key string, n, b int64) store.Limit {
	t.Helper()
	g, err := limit.NewGCRA(n, time.Second, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	return store.Limit{Key: key, GCRA: g}
}

// acquire calls Acquire and fails the test on error.
func acquire(t *testing.T, s store.Store, req store.Request) store.Grant {
	t.Helper()
	g, err := s.Acquire(ctx, req)
	if err != nil {
		t.Fatalf("Acquire(%+v): %v", req, err)
	}
	return g
}

// step is one Acquire and what it must answer.
type step struct {
	advance time.Duration // moved before the step
	allowed bool
	reason  store.Reason
	wait    time.Duration
}

// runSteps runs steps of the same request.
func runSteps(t *testing.T, s store.Store, c *Clock, req store.Request, steps []step) {
	t.Helper()
	for i, st := range steps {
		c.Advance(st.advance)
		g := acquire(t, s, req)
		if g.Allowed != st.allowed || g.Reason != st.reason || (!st.allowed && g.Wait != st.wait) {
			t.Fatalf("step %d: got allowed=%v reason=%v wait=%v, want allowed=%v reason=%v wait=%v",
				i, g.Allowed, g.Reason, g.Wait, st.allowed, st.reason, st.wait)
		}
	}
}

func testEmptyScopeAllows(t *testing.T, s store.Store, _ *Clock) {
	g := acquire(t, s, store.Request{Scope: "t/api/anonymous"})
	if !g.Allowed || g.Lease != (store.Lease{}) {
		t.Fatalf("got %+v, want allowed without a lease", g)
	}
}

func testLimitSteps(t *testing.T, s store.Store, c *Clock) {
	req := store.Request{Scope: "t/api/a", Limits: []store.Limit{perSecond(t, "0", 10, 3)}}
	ms := time.Millisecond
	runSteps(t, s, c, req, []step{
		{0, true, store.ReasonNone, 0},
		{0, true, store.ReasonNone, 0},
		{0, true, store.ReasonNone, 0},
		{0, false, store.ReasonLimit, 100 * ms},
		{40 * ms, false, store.ReasonLimit, 60 * ms},
		{60 * ms, true, store.ReasonNone, 0},
		{0, false, store.ReasonLimit, 100 * ms},
		{time.Second, true, store.ReasonNone, 0},
	})
}

func testAllLimitsOrNone(t *testing.T, s store.Store, c *Clock) {
	fast := perSecond(t, "fast", 10, 1) // one per 100ms
	slow := perSecond(t, "slow", 1, 2)  // burst 2, then one per second
	both := store.Request{Scope: "t/api/a", Limits: []store.Limit{fast, slow}}
	slowOnly := store.Request{Scope: "t/api/a", Limits: []store.Limit{slow}}
	ms := time.Millisecond
	runSteps(t, s, c, both, []step{
		{0, true, store.ReasonNone, 0},
		{0, false, store.ReasonLimit, 100 * ms}, // fast refuses: slow must not be charged
	})
	runSteps(t, s, c, slowOnly, []step{
		{0, true, store.ReasonNone, 0}, // slow's second unit is still there
		{0, false, store.ReasonLimit, time.Second},
	})
	g := acquire(t, s, both)
	if g.Limit != "slow" || g.Wait != time.Second {
		t.Fatalf("got %+v, want the longest wait (slow, 1s)", g)
	}
}

func testScopesAreIndependent(t *testing.T, s store.Store, _ *Clock) {
	l := []store.Limit{perSecond(t, "0", 1, 1)}
	for _, scope := range []string{"t/api/a", "t/api/b", "u/api/a", "t/other/a"} {
		if g := acquire(t, s, store.Request{Scope: scope, Limits: l}); !g.Allowed {
			t.Fatalf("scope %s: got %+v, want allowed: scopes must not share state", scope, g)
		}
	}
	if _, err := s.SetCooldown(ctx, "t/api/a", store.Cooldown{Until: time.Now().Add(time.Hour), Status: 429}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Cooldown(ctx, "t/api/b"); ok {
		t.Fatal("a cooldown of t/api/a shows in t/api/b")
	}
}

func testCostChargesUnits(t *testing.T, s store.Store, c *Clock) {
	req := store.Request{Scope: "t/api/a", Limits: []store.Limit{perSecond(t, "tokens", 10, 5)}, Cost: store.Cost{Requests: 4}}
	runSteps(t, s, c, req, []step{
		{0, true, store.ReasonNone, 0},
		{0, false, store.ReasonLimit, 300 * time.Millisecond},
	})
}

func testCooldownRefuses(t *testing.T, s store.Store, c *Clock) {
	until := c.Now().Add(2 * time.Second)
	h := http.Header{"Retry-After": {"2"}}
	if _, err := s.SetCooldown(ctx, "t/api/a", store.Cooldown{Until: until, Status: 429, Header: h, Source: "retry-after"}); err != nil {
		t.Fatal(err)
	}
	c.Advance(500 * time.Millisecond)
	g := acquire(t, s, store.Request{Scope: "t/api/a"})
	if g.Allowed || g.Reason != store.ReasonCooldown || g.Wait != 1500*time.Millisecond {
		t.Fatalf("got %+v, want cooldown with 1.5s left", g)
	}
	if g.Cooldown.Status != 429 || g.Cooldown.Header.Get("Retry-After") != "2" || g.Cooldown.Source != "retry-after" || !g.Cooldown.Until.Equal(until) {
		t.Fatalf("replay data: got %+v", g.Cooldown)
	}
	c.Advance(1500 * time.Millisecond)
	if g := acquire(t, s, store.Request{Scope: "t/api/a"}); !g.Allowed {
		t.Fatalf("at the cooldown's end: got %+v, want allowed", g)
	}
	if _, ok, err := s.Cooldown(ctx, "t/api/a"); ok || err != nil {
		t.Fatalf("Cooldown after its end: ok=%v err=%v, want none", ok, err)
	}
}

func testCooldownKeepsLater(t *testing.T, s store.Store, c *Clock) {
	long := c.Now().Add(10 * time.Second)
	set := func(until time.Time, status int) store.Cooldown {
		got, err := s.SetCooldown(ctx, "t/api/a", store.Cooldown{Until: until, Status: status})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	set(long, 429)
	if got := set(c.Now().Add(time.Second), 503); !got.Until.Equal(long) || got.Status != 429 {
		t.Fatalf("a shorter cooldown replaced a longer one: %+v", got)
	}
	if got := set(long.Add(time.Second), 403); got.Status != 403 {
		t.Fatalf("a longer cooldown was not kept: %+v", got)
	}
	c.Advance(time.Minute)
	if got := set(c.Now().Add(time.Second), 429); got.Status != 429 {
		t.Fatalf("after the old cooldown ended, a new one must replace it: %+v", got)
	}
}

// testCooldownKeepsItsTime: At, when the response arrived, comes back from
// SetCooldown, Cooldown and a refusal, to the microsecond; a cooldown that
// does not say has the zero At.
func testCooldownKeepsItsTime(t *testing.T, s store.Store, c *Clock) {
	at := c.Now().Add(-1500*time.Microsecond - 300*time.Nanosecond) // stores may keep only µs
	until := c.Now().Add(time.Minute)
	check := func(what string, got store.Cooldown, want time.Time) {
		t.Helper()
		if !got.At.Truncate(time.Microsecond).Equal(want.Truncate(time.Microsecond)) || got.At.IsZero() != want.IsZero() {
			t.Fatalf("%s: got At %v, want %v", what, got.At, want)
		}
	}
	set := func(cd store.Cooldown) store.Cooldown {
		t.Helper()
		got, err := s.SetCooldown(ctx, "t/api/a", cd)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	check("SetCooldown", set(store.Cooldown{Until: until, Status: 429, At: at}), at)
	check("SetCooldown of a shorter one", set(store.Cooldown{Until: until.Add(-time.Second), Status: 503, At: c.Now()}), at)
	got, ok, err := s.Cooldown(ctx, "t/api/a")
	if err != nil || !ok {
		t.Fatalf("Cooldown: ok=%v err=%v, want the cooldown", ok, err)
	}
	check("Cooldown", got, at)
	g := acquire(t, s, store.Request{Scope: "t/api/a"})
	if g.Reason != store.ReasonCooldown {
		t.Fatalf("got %+v, want refused for the cooldown", g)
	}
	check("Acquire's refusal", g.Cooldown, at)
	check("a later cooldown without At", set(store.Cooldown{Until: until.Add(time.Second), Status: 429}), time.Time{})
	got, _, _ = s.Cooldown(ctx, "t/api/a")
	check("Cooldown without At", got, time.Time{})
}

func testCooldownReplayIsACopy(t *testing.T, s store.Store, c *Clock) {
	h := http.Header{"X-Ratelimit-Remaining": {"0"}}
	if _, err := s.SetCooldown(ctx, "t/api/a", store.Cooldown{Until: c.Now().Add(time.Minute), Status: 429, Header: h}); err != nil {
		t.Fatal(err)
	}
	h.Set("X-Ratelimit-Remaining", "changed")
	got, ok, err := s.Cooldown(ctx, "t/api/a")
	if err != nil || !ok || got.Header.Get("X-Ratelimit-Remaining") != "0" {
		t.Fatalf("got %+v ok=%v err=%v, want the headers as set", got, ok, err)
	}
	got.Header.Set("X-Ratelimit-Remaining", "changed too")
	again, _, _ := s.Cooldown(ctx, "t/api/a")
	if again.Header.Get("X-Ratelimit-Remaining") != "0" {
		t.Fatal("changing a returned cooldown changed the stored one")
	}
}

func testConcurrencyCap(t *testing.T, s store.Store, _ *Clock) {
	req := store.Request{Scope: "t/api/a", Concurrency: 2}
	a, b := acquire(t, s, req), acquire(t, s, req)
	if !a.Allowed || !b.Allowed || a.Lease == b.Lease || a.Lease == (store.Lease{}) {
		t.Fatalf("got %+v and %+v, want two distinct leases", a, b)
	}
	if g := acquire(t, s, req); g.Allowed || g.Reason != store.ReasonConcurrency || g.Wait <= 0 {
		t.Fatalf("third: got %+v, want refused for concurrency with a poll wait", g)
	}
	for range 2 { // releasing twice is not an error
		if err := s.Release(ctx, "t/api/a", a.Lease); err != nil {
			t.Fatal(err)
		}
	}
	if g := acquire(t, s, req); !g.Allowed {
		t.Fatalf("after a release: got %+v, want allowed", g)
	}
	if g := acquire(t, s, req); g.Allowed {
		t.Fatalf("a double release freed two slots: %+v", g)
	}
}

func testLeaseExpires(t *testing.T, s store.Store, c *Clock) {
	req := store.Request{Scope: "t/api/a", Concurrency: 1, LeaseTTL: 30 * time.Second}
	if g := acquire(t, s, req); !g.Allowed {
		t.Fatal(g)
	}
	c.Advance(29 * time.Second)
	if g := acquire(t, s, req); g.Allowed {
		t.Fatal("the slot was free before the lease expired")
	}
	c.Advance(time.Second)
	if g := acquire(t, s, req); !g.Allowed {
		t.Fatalf("a dead worker's lease held the slot past its TTL: %+v", g)
	}
}

func testRefusalTakesNothing(t *testing.T, s store.Store, c *Clock) {
	capped := store.Request{Scope: "t/api/a", Concurrency: 1, Limits: []store.Limit{perSecond(t, "0", 1, 3)}}
	first := acquire(t, s, capped)
	if g := acquire(t, s, capped); g.Reason != store.ReasonConcurrency {
		t.Fatalf("got %+v, want refused for concurrency", g)
	}
	if err := s.Release(ctx, "t/api/a", first.Lease); err != nil {
		t.Fatal(err)
	}
	// The refusal above must not have spent a unit: two of three remain.
	for i := range 2 {
		g := acquire(t, s, capped)
		if !g.Allowed {
			t.Fatalf("unit %d: got %+v, want allowed", i+2, g)
		}
		if err := s.Release(ctx, "t/api/a", g.Lease); err != nil {
			t.Fatal(err)
		}
	}
	if g := acquire(t, s, capped); g.Reason != store.ReasonLimit {
		t.Fatalf("fourth: got %+v, want refused by the limit", g)
	}
	_ = c
}

func testPaceApplies(t *testing.T, s store.Store, c *Clock) {
	p := store.Pace{Key: "requests", GCRA: limit.GCRA{Interval: 200_000}, Until: c.Now().Add(time.Second)}
	if _, err := s.SetPace(ctx, "t/api/a", p); err != nil {
		t.Fatal(err)
	}
	req := store.Request{Scope: "t/api/a"}
	runSteps(t, s, c, req, []step{
		{0, true, store.ReasonNone, 0},
		{0, false, store.ReasonLimit, 200 * time.Millisecond},
		{200 * time.Millisecond, true, store.ReasonNone, 0},
	})
	if g := acquire(t, s, req); g.Limit != "requests" {
		t.Fatalf("got %+v, want the pace named as the refusing limit", g)
	}
	c.Advance(time.Second) // past Until
	runSteps(t, s, c, req, []step{{0, true, store.ReasonNone, 0}, {0, true, store.ReasonNone, 0}})
}

func testPaceReplacement(t *testing.T, s store.Store, c *Clock) {
	set := func(interval int64) {
		p := store.Pace{Key: "tokens", GCRA: limit.GCRA{Interval: interval}, Until: c.Now().Add(time.Minute)}
		if _, err := s.SetPace(ctx, "t/api/a", p); err != nil {
			t.Fatal(err)
		}
	}
	set(1_000_000)
	req := store.Request{Scope: "t/api/a"}
	acquire(t, s, req)
	set(500_000) // a new observation: the unit just spent still counts
	if g := acquire(t, s, req); g.Allowed || g.Wait != 500*time.Millisecond {
		t.Fatalf("got %+v, want a 500ms wait from the kept state under the new pace", g)
	}
	// A fresh pace starts with nothing spent: what it was learned from
	// counted the unit already.
	fresh := store.Pace{Key: "tokens", GCRA: limit.GCRA{Interval: 500_000}, Until: c.Now().Add(time.Minute), Fresh: true}
	if _, err := s.SetPace(ctx, "t/api/a", fresh); err != nil {
		t.Fatal(err)
	}
	if g := acquire(t, s, req); !g.Allowed {
		t.Fatalf("under a fresh pace: got %+v, want allowed", g)
	}
}

// testLearnedPaceOutranksSpread: a learned pace stays in force against a
// spread set after it, and SetPace returns it, until its Until; a learned
// pace replaces a learned one; past its Until a spread replaces it.
func testLearnedPaceOutranksSpread(t *testing.T, s store.Store, c *Clock) {
	set := func(p store.Pace) store.Pace {
		t.Helper()
		inForce, err := s.SetPace(ctx, "t/api/a", p)
		if err != nil {
			t.Fatal(err)
		}
		return inForce
	}
	learned := store.Pace{Key: "quota:core", GCRA: limit.GCRA{Interval: 50_000}, Until: c.Now().Add(2 * time.Second),
		Learned: store.Learned{Limit: 20, Window: time.Second}}
	if got := set(learned); got.Learned != learned.Learned || got.GCRA != learned.GCRA {
		t.Fatalf("setting a learned pace: in force %+v, want it", got)
	}
	spread := store.Pace{Key: "quota:core", GCRA: limit.GCRA{Interval: 500_000}, Until: c.Now().Add(time.Second)}
	got := set(spread)
	if got.Learned != learned.Learned || got.GCRA != learned.GCRA || !got.Until.Equal(learned.Until) || got.Key != "quota:core" {
		t.Fatalf("a spread over a learned pace: in force %+v, want the learned one %+v", got, learned)
	}
	req := store.Request{Scope: "t/api/a"}
	runSteps(t, s, c, req, []step{
		{0, true, store.ReasonNone, 0},
		{0, false, store.ReasonLimit, 50 * time.Millisecond}, // the learned pace, not the spread's 500ms
	})
	relearned := learned
	relearned.GCRA, relearned.Learned.Window = limit.GCRA{Interval: 100_000}, 2*time.Second
	if got := set(relearned); got.Learned != relearned.Learned {
		t.Fatalf("a learned pace over a learned one: in force %+v, want the new one", got)
	}
	c.Advance(3 * time.Second) // past the learned pace's Until
	if got := set(spread); !got.Learned.IsZero() || got.GCRA != spread.GCRA {
		t.Fatalf("a spread past the learned pace's Until: in force %+v, want the spread", got)
	}
	if got := set(spread); !got.Learned.IsZero() {
		t.Fatalf("a spread over a spread: in force %+v, want it", got)
	}
}

func testConcurrentAtomic(t *testing.T, s store.Store, _ *Clock) {
	req := store.Request{Scope: "t/api/a", Limits: []store.Limit{perSecond(t, "0", 100, 25)}, Concurrency: 1000}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for range 20 {
				g, err := s.Acquire(ctx, req)
				if err != nil {
					t.Error(w, err)
					return
				}
				if g.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 25 {
		t.Fatalf("320 concurrent acquires at one instant: %d allowed, want exactly the burst of 25", got)
	}
}

func testInvalid(t *testing.T, s store.Store, c *Clock) {
	if _, err := s.Acquire(ctx, store.Request{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Acquire with no scope: got %v, want ErrInvalid", err)
	}
	if _, err := s.SetCooldown(ctx, "", store.Cooldown{Until: c.Now()}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetCooldown with no scope: got %v, want ErrInvalid", err)
	}
	if _, err := s.SetPace(ctx, "t/api/a", store.Pace{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetPace with no key: got %v, want ErrInvalid", err)
	}
	for _, d := range []store.Cost{{}, {Tokens: 5}} {
		if err := s.Settle(ctx, store.Settlement{Delta: d}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Settle of %+v with no scope: got %v, want ErrInvalid", d, err)
		}
	}
}

func testClosed(t *testing.T, s store.Store, _ *Clock) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Acquire(ctx, store.Request{Scope: "t/api/" + strconv.Itoa(1)}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Acquire after Close: got %v, want ErrClosed", err)
	}
	if err := s.Settle(ctx, store.Settlement{Scope: "t/api/a", Delta: store.Cost{Tokens: 1}}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Settle after Close: got %v, want ErrClosed", err)
	}
}
