package failover_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/failover"
	"github.com/heedhq/heed/store/memory"
	"github.com/heedhq/heed/store/storetest"
)

var ctx = context.Background()

// TestContract: while the shared store answers, the wrapper is the shared
// store, and meets the whole contract.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		return failover.New(memory.New(memory.Options{Now: clock.Now}), failover.Options{Now: clock.Now})
	})
}

// flaky is a real memory store that a test can take out of reach, and
// restart empty: while down, every operation fails as an unreachable Redis
// would, and the store's own state is left as it was.
type flaky struct {
	mem   atomic.Pointer[memory.Store]
	now   func() time.Time
	down  atomic.Bool
	calls atomic.Int64 // operations tried while down, or failed by failOnce
	// failNext, when set, is the error of the next operation alone.
	failNext atomic.Pointer[error]
	beats    atomic.Int64 // heartbeats answered
	live     int          // the live count heartbeats report
}

func newFlaky(now func() time.Time, live int) *flaky {
	f := &flaky{now: now, live: live}
	f.mem.Store(memory.New(memory.Options{Now: now}))
	return f
}

// restart replaces the store's state by an empty one, as a Redis without
// persistence comes back.
func (f *flaky) restart() { f.mem.Store(memory.New(memory.Options{Now: f.now})) }

var errUnreachable = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")

func (f *flaky) fail() error {
	if f.down.Load() {
		f.calls.Add(1)
		return errUnreachable
	}
	if p := f.failNext.Swap(nil); p != nil {
		f.calls.Add(1)
		return *p
	}
	return nil
}

// failOnce makes the next operation fail with err, the store answering
// again from the one after.
func (f *flaky) failOnce(err error) { f.failNext.Store(&err) }

// errCut is a connection cut under a command; errSlow is a command's
// timeout, as net.Conn reports it.
var (
	errCut  = errors.New("read tcp 127.0.0.1:50000->127.0.0.1:6380: read: connection reset by peer")
	errSlow = &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
)

func (f *flaky) Acquire(ctx context.Context, req store.Request) (store.Grant, error) {
	if err := f.fail(); err != nil {
		return store.Grant{}, err
	}
	return f.mem.Load().Acquire(ctx, req)
}

func (f *flaky) SetCooldown(ctx context.Context, scope string, c store.Cooldown) (store.Cooldown, error) {
	if err := f.fail(); err != nil {
		return store.Cooldown{}, err
	}
	return f.mem.Load().SetCooldown(ctx, scope, c)
}

func (f *flaky) Cooldown(ctx context.Context, scope string) (store.Cooldown, bool, error) {
	if err := f.fail(); err != nil {
		return store.Cooldown{}, false, err
	}
	return f.mem.Load().Cooldown(ctx, scope)
}

func (f *flaky) SetPace(ctx context.Context, scope string, p store.Pace) (store.Pace, error) {
	if err := f.fail(); err != nil {
		return store.Pace{}, err
	}
	return f.mem.Load().SetPace(ctx, scope, p)
}

func (f *flaky) Settle(ctx context.Context, s store.Settlement) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.mem.Load().Settle(ctx, s)
}

func (f *flaky) Release(ctx context.Context, scope string, l store.Lease) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.mem.Load().Release(ctx, scope, l)
}

func (f *flaky) Close() error { return f.mem.Load().Close() }

func (f *flaky) Heartbeat(_ context.Context, _, _ string, ttl time.Duration) (int, error) {
	if err := f.fail(); err != nil {
		return 0, err
	}
	f.beats.Add(1)
	if ttl <= 0 {
		return f.live - 1, nil
	}
	return f.live, nil
}

// fixture is a failover Store over a flaky one, on a fake clock, with the
// errors it reported.
type fixture struct {
	shared *flaky
	s      *failover.Store
	clock  *storetest.Clock
	mu     sync.Mutex // guards errs
	errs   []string   // "group op"
}

func newFixture(t *testing.T, closed bool, live int) *fixture {
	t.Helper()
	f := &fixture{clock: storetest.NewClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))}
	f.shared = newFlaky(f.clock.Now, live)
	beat := make(chan struct{}, 1)
	f.s = failover.New(f.shared, failover.Options{
		Closed: closed, Groups: []string{"api"}, GroupOf: func(string) string { return "api" }, Now: f.clock.Now,
		Sleep: func(ctx context.Context, _ time.Duration) error { // one beat, then wait for Close
			select {
			case beat <- struct{}{}:
			default:
			}
			<-ctx.Done()
			return ctx.Err()
		},
		OnError: func(group, op string, _ error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.errs = append(f.errs, group+" "+op)
		},
	})
	<-beat // the first heartbeats have counted the live processes
	t.Cleanup(func() { _ = f.s.Close() })
	return f
}

func (f *fixture) errors() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

// perSecond is a limit of n a second with burst b.
func perSecond(t *testing.T, n, b int64) store.Limit {
	t.Helper()
	g, err := limit.NewGCRA(n, time.Second, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	return store.Limit{Key: "0", GCRA: g}
}

// TestOpenModeFallsBackToTheShare: with the shared store down, a process
// that counted 4 live processes gets a quarter of each limit (burst and
// rate), tries the shared store once per RetryEvery, and is back on it at
// the first success.
func TestOpenModeFallsBackToTheShare(t *testing.T) {
	f := newFixture(t, false, 4)
	if n := f.s.Live("api"); n != 4 {
		t.Fatalf("Live = %d, want the 4 the heartbeat counted", n)
	}
	req := store.Request{Scope: "/api/x", Limits: []store.Limit{perSecond(t, 8, 8)}}
	f.shared.down.Store(true)
	allowed := 0
	for range 8 {
		g, err := f.s.Acquire(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if g.Allowed {
			allowed++
		}
	}
	if allowed != 2 {
		t.Errorf("%d of 8 allowed at once with the store down, want 2 (a quarter of the burst of 8)", allowed)
	}
	if !f.s.Down() {
		t.Error("Down() = false after a failure")
	}
	if n := f.shared.calls.Load(); n != 1 {
		t.Errorf("the shared store was tried %d times in one instant, want once (then once per RetryEvery)", n)
	}
	if got := f.errors(); len(got) != 1 || got[0] != "api acquire" {
		t.Errorf("OnError got %v, want one acquire failure of group api", got)
	}
	f.clock.Advance(failover.DefaultRetryEvery)
	f.shared.down.Store(false)
	if g, err := f.s.Acquire(ctx, req); err != nil || !g.Allowed {
		t.Fatalf("with the store back: %+v %v, want allowed by the shared store", g, err)
	}
	if f.s.Down() {
		t.Error("Down() = true after the shared store answered")
	}
}

// TestClosedModeFailsFast: with the shared store down, closed mode fails
// every Acquire at once with store.ErrUnavailable, trying the shared store
// only once per RetryEvery.
func TestClosedModeFailsFast(t *testing.T) {
	f := newFixture(t, true, 1)
	f.shared.down.Store(true)
	req := store.Request{Scope: "/api/x"}
	for i := range 3 {
		_, err := f.s.Acquire(ctx, req)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Acquire %d: %v, want store.ErrUnavailable", i, err)
		}
		if i > 0 && !errors.Is(err, errUnreachable) {
			t.Errorf("Acquire %d not tried: %v, want the last error of the shared store named", i, err)
		}
	}
	if n := f.shared.calls.Load(); n != 1 {
		t.Errorf("the shared store was tried %d times, want once", n)
	}
}

// TestWhatIsLearnedDuringAnOutageIsKept: a cooldown and a pace recorded
// while the shared store is down go to the fallback and hold there; the
// fallback's leases go back to it, not to the shared store.
func TestWhatIsLearnedDuringAnOutageIsKept(t *testing.T) {
	f := newFixture(t, false, 2)
	f.shared.down.Store(true)
	until := f.clock.Now().Add(10 * time.Second)
	if _, err := f.s.SetCooldown(ctx, "/api/x", store.Cooldown{Until: until, Status: 429}); err != nil {
		t.Fatal(err)
	}
	g, err := f.s.Acquire(ctx, store.Request{Scope: "/api/x"})
	if err != nil || g.Allowed || g.Reason != store.ReasonCooldown {
		t.Fatalf("after a cooldown recorded during the outage: %+v %v, want refused for the cooldown", g, err)
	}
	cd, ok, err := f.s.Cooldown(ctx, "/api/x")
	if err != nil || !ok || !cd.Until.Equal(until) {
		t.Fatalf("Cooldown = %+v %v %v, want the fallback's", cd, ok, err)
	}
	// A pace of 1 per 100ms becomes 1 per 200ms for one of two processes.
	if _, err := f.s.SetPace(ctx, "/api/y", store.Pace{Key: "q", GCRA: limit.GCRA{Interval: 100_000}, Until: f.clock.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	capped := store.Request{Scope: "/api/y", Concurrency: 4}
	first, err := f.s.Acquire(ctx, capped)
	if err != nil || !first.Allowed {
		t.Fatalf("first under the pace: %+v %v", first, err)
	}
	if g, _ := f.s.Acquire(ctx, capped); g.Allowed || g.Wait != 200*time.Millisecond {
		t.Errorf("second under the pace: %+v, want refused for 200ms (this process's half)", g)
	}
	before := f.shared.calls.Load()
	if err := f.s.Release(ctx, "/api/y", first.Lease); err != nil {
		t.Errorf("releasing the fallback's lease: %v", err)
	}
	if f.shared.calls.Load() != before {
		t.Error("a lease of the fallback was given back to the shared store")
	}
}

// TestSettleFollowsTheStoreInUse: a settlement goes to the shared store
// while it answers and to the fallback, scaled to this process's share,
// while it does not.
func TestSettleFollowsTheStoreInUse(t *testing.T) {
	f := newFixture(t, false, 2)
	l := perSecond(t, 10, 10) // burst 10
	req := store.Request{Scope: "/api/x", Limits: []store.Limit{l}}
	if _, err := f.s.Acquire(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Settle(ctx, store.Settlement{Scope: "/api/x", Limits: req.Limits, Delta: store.Cost{Requests: 9}}); err != nil {
		t.Fatal(err)
	}
	if g, _ := f.s.Acquire(ctx, req); g.Allowed || g.Wait != 100*time.Millisecond {
		t.Fatalf("after settling 9 more on the shared store: %+v, want refused for one interval (100ms)", g)
	}
	f.shared.down.Store(true)
	f.clock.Advance(time.Hour)                       // everything refilled
	if _, err := f.s.Acquire(ctx, req); err != nil { // the fallback: burst 5, 200ms apiece
		t.Fatal(err)
	}
	if err := f.s.Settle(ctx, store.Settlement{Scope: "/api/x", Limits: req.Limits, Delta: store.Cost{Requests: 4}}); err != nil {
		t.Fatal(err)
	}
	if g, _ := f.s.Acquire(ctx, req); g.Allowed || g.Wait != 200*time.Millisecond {
		t.Fatalf("after settling 4 more on the fallback: %+v, want refused for one of its intervals (200ms)", g)
	}
	if got := f.errors(); len(got) != 1 || got[0] != "api acquire" {
		t.Errorf("OnError got %v, want only the acquire that found the store down (the settle did not try it again)", got)
	}
}

// TestCloseSaysGoodbye: Close ends the heartbeats with a farewell (a beat
// with no TTL), so the processes left stop counting this one; with
// LeaveOpen the shared store stays usable.
func TestCloseSaysGoodbye(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	shared := newFlaky(clock.Now, 3)
	s := failover.New(shared, failover.Options{Groups: []string{"a", "b"}, Now: clock.Now, LeaveOpen: true,
		Sleep: func(ctx context.Context, _ time.Duration) error { <-ctx.Done(); return ctx.Err() }})
	deadline := time.Now().Add(5 * time.Second)
	for shared.beats.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := shared.beats.Load(); n != 4 {
		t.Errorf("%d heartbeats, want 4: one per group, then a farewell per group", n)
	}
	if _, err := shared.Acquire(ctx, store.Request{Scope: "/a/x"}); err != nil {
		t.Errorf("the shared store after Close with LeaveOpen: %v, want it open", err)
	}
}

// TestCooldownsOutliveAnOutage: a cooldown recorded while the shared
// store is away is written back to it when it returns, even empty after a
// restart, before any request is admitted through it; and a cooldown this
// process knew only from the shared store's answers still binds while the
// shared store is away.
func TestCooldownsOutliveAnOutage(t *testing.T) {
	f := newFixture(t, false, 1)
	other := store.Cooldown{Until: f.clock.Now().Add(6 * time.Second), Status: 429, Source: "retry-after"}
	if _, err := f.shared.mem.Load().SetCooldown(ctx, "/api/known", other); err != nil { // another process's
		t.Fatal(err)
	}
	if g, _ := f.s.Acquire(ctx, store.Request{Scope: "/api/known"}); g.Reason != store.ReasonCooldown {
		t.Fatalf("through the shared store: %+v, want its cooldown", g)
	}

	f.shared.down.Store(true)
	if g, _ := f.s.Acquire(ctx, store.Request{Scope: "/api/known"}); g.Reason != store.ReasonCooldown || g.Wait != 6*time.Second {
		t.Fatalf("with the shared store away: %+v, want the cooldown it told of, 6s left", g)
	}
	during := store.Cooldown{Until: f.clock.Now().Add(10 * time.Second), Status: 429}
	if _, err := f.s.SetCooldown(ctx, "/api/during", during); err != nil {
		t.Fatal(err)
	}

	f.shared.restart() // back, with nothing
	f.shared.down.Store(false)
	f.clock.Advance(failover.DefaultRetryEvery)
	g, err := f.s.Acquire(ctx, store.Request{Scope: "/api/during"})
	if err != nil || g.Reason != store.ReasonCooldown || g.Wait != 9*time.Second {
		t.Fatalf("the first request after the return: %+v %v, want the cooldown recorded during the outage, 9s left", g, err)
	}
	if f.s.Down() {
		t.Fatal("still down after the write-back")
	}
	for scope, left := range map[string]time.Duration{"/api/during": 9 * time.Second, "/api/known": 5 * time.Second} {
		cd, ok, err := f.shared.mem.Load().Cooldown(ctx, scope)
		if err != nil || !ok || cd.Until.Sub(f.clock.Now()) != left {
			t.Errorf("the shared store's cooldown of %s: %+v %v %v, want %v left", scope, cd, ok, err, left)
		}
	}
}

// TestNoCooldownMissedByTheWriteBack: cooldowns recorded by many
// goroutines while the shared store comes back all end up in it.
func TestNoCooldownMissedByTheWriteBack(t *testing.T) {
	f := newFixture(t, false, 1)
	f.shared.down.Store(true)
	if _, err := f.s.SetCooldown(ctx, "/api/first", store.Cooldown{Until: f.clock.Now().Add(time.Hour), Status: 429}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const writers, each = 8, 50
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				scope := "/api/" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				if _, err := f.s.SetCooldown(ctx, scope, store.Cooldown{Until: f.clock.Now().Add(time.Hour), Status: 429}); err != nil {
					t.Error(err)
				}
				if w == 0 && i == each/2 {
					f.shared.down.Store(false)
					f.clock.Advance(failover.DefaultRetryEvery)
				}
			}
		})
	}
	wg.Wait()
	f.clock.Advance(failover.DefaultRetryEvery)
	_, _ = f.s.Acquire(ctx, store.Request{Scope: "/api/poke"}) // a last chance to write back, if still down
	for w := range writers {
		for i := range each {
			scope := "/api/" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
			if _, ok, _ := f.shared.mem.Load().Cooldown(ctx, scope); !ok {
				t.Fatalf("%s's cooldown never reached the shared store", scope)
			}
		}
	}
}

// TestCooldownAfterACutConnection: a cooldown whose write to the shared
// store meets a connection cut is written again at once, and one recorded
// just after another operation met a cut is written to the shared store
// all the same (ending the outage), so that the rest of the fleet keeps
// to it without waiting for the write-back; after a timeout the shared
// store is not tried again within RetryEvery (it would only cost the
// timeout again), and the cooldown waits in the fallback for the
// write-back.
func TestCooldownAfterACutConnection(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		before    bool // the failure meets an admission just before, not the cooldown's write
		shared    bool // the cooldown is in the shared store at once
		wantCalls int64
	}{
		{"connection cut", errCut, false, true, 1},
		{"timeout", errSlow, false, false, 1},
		{"connection cut just before", errCut, true, true, 1},
		{"timeout just before", errSlow, true, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false, 1)
			f.shared.failOnce(tc.err)
			if tc.before {
				if _, err := f.s.Acquire(ctx, store.Request{Scope: "/api/other"}); err != nil || !f.s.Down() {
					t.Fatalf("the admission that met the failure: %v, down %v; want the fallback's answer, down", err, f.s.Down())
				}
			}
			cd := store.Cooldown{Until: f.clock.Now().Add(3 * time.Second), Status: 429}
			inForce, err := f.s.SetCooldown(ctx, "/api/x", cd)
			if err != nil || !inForce.Until.Equal(cd.Until) {
				t.Fatalf("SetCooldown = %+v, %v; want the cooldown in force", inForce, err)
			}
			if n := f.shared.calls.Load(); n != tc.wantCalls {
				t.Errorf("failed calls = %d, want %d", n, tc.wantCalls)
			}
			_, ok, _ := f.shared.mem.Load().Cooldown(ctx, "/api/x")
			if ok != tc.shared || f.s.Down() == tc.shared {
				t.Fatalf("in the shared store at once: %v, down: %v; want shared %v", ok, f.s.Down(), tc.shared)
			}
			if g, _ := f.s.Acquire(ctx, store.Request{Scope: "/api/x"}); g.Reason != store.ReasonCooldown {
				t.Errorf("after it: %+v, want the cooldown", g)
			}
			if !tc.shared {
				f.clock.Advance(failover.DefaultRetryEvery)
				_, _ = f.s.Acquire(ctx, store.Request{Scope: "/api/poke"})
				if _, ok, _ := f.shared.mem.Load().Cooldown(ctx, "/api/x"); !ok || f.s.Down() {
					t.Errorf("after RetryEvery: in the shared store %v, down %v; want written back and sharing", ok, f.s.Down())
				}
			}
		})
	}
}

// TestInvalidIsNotAnOutage: an Acquire the shared store refuses as
// invalid (a bad Turn) returns its error and leaves the shared store in
// use. (That a Turn goes through to the shared store, the contract suite
// shows.)
func TestInvalidIsNotAnOutage(t *testing.T) {
	clock := storetest.NewClock(time.Unix(1_800_000_000, 0))
	s := failover.New(memory.New(memory.Options{Now: clock.Now}), failover.Options{Now: clock.Now})
	t.Cleanup(func() { _ = s.Close() })
	_, err := s.Acquire(ctx, store.Request{Scope: "t/api/a", Turn: &store.Turn{Member: "m", Class: "c"}})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	if s.Down() {
		t.Fatal("an invalid request took the shared store down")
	}
}
