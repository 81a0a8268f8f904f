package redis_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/redis"
)

// gate is a go-redis hook that can hold the next round trip (a command or
// a pipeline) before it is sent, so that a test keeps a round trip in flight while other commands
// arrive. It is safe for concurrent use.
type gate struct {
	mu   sync.Mutex    // guards next
	next chan struct{} // when set, the next pipeline waits until it is closed
	held chan struct{} // receives when a pipeline is held
}

func newGate() *gate { return &gate{held: make(chan struct{}, 1)} }

// hold makes the next pipeline wait until release is called; wait returns
// once it does wait.
func (g *gate) hold() (release func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	g.next = ch
	g.mu.Unlock()
	return sync.OnceFunc(func() { close(ch) })
}

// wait returns once a pipeline is held, or fails t after a few seconds.
func (g *gate) wait(t *testing.T) {
	t.Helper()
	select {
	case <-g.held:
	case <-time.After(5 * time.Second):
		t.Fatal("no round trip reached the gate")
	}
}

// pass waits at the gate if it is closed for the next round trip.
func (g *gate) pass() {
	g.mu.Lock()
	ch := g.next
	g.next = nil
	g.mu.Unlock()
	if ch != nil {
		g.held <- struct{}{}
		<-ch
	}
}

func (g *gate) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (g *gate) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		g.pass()
		return next(ctx, cmd)
	}
}
func (g *gate) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		g.pass()
		return next(ctx, cmds)
	}
}

// gatedStore returns a Store over its own client to addr, with a gate on
// the client, and the client for looking behind the store's back.
func gatedStore(t *testing.T, addr string, opts redis.Options) (*redis.Store, *gate, *goredis.Client) {
	t.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	g := newGate()
	client.AddHook(g)
	s := redis.New(client, opts)
	t.Cleanup(func() { _ = s.Close() })
	return s, g, client
}

// perMinute returns a request of scope under a limit of n a minute, all
// of them back to back.
func perMinute(t *testing.T, scope string, n int64) store.Request {
	t.Helper()
	g, err := limit.NewGCRA(n, time.Minute, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	return store.Request{Scope: scope, Limits: []store.Limit{{Key: "0", GCRA: g}}}
}

// mustAcquire calls Acquire and fails t on error or an unexpected answer.
func mustAcquire(t *testing.T, s *redis.Store, req store.Request, allowed bool) {
	t.Helper()
	g, err := s.Acquire(t.Context(), req)
	if err != nil || g.Allowed != allowed {
		t.Fatalf("Acquire(%s): got %+v, %v; want allowed=%v", req.Scope, g, err, allowed)
	}
}

// tryAcquire is mustAcquire for goroutines other than the test's.
func tryAcquire(t *testing.T, s *redis.Store, req store.Request, allowed bool) {
	g, err := s.Acquire(t.Context(), req)
	if err != nil || g.Allowed != allowed {
		t.Errorf("Acquire(%s): got %+v, %v; want allowed=%v", req.Scope, g, err, allowed)
	}
}

// tripsOf returns how many round trips f made on s.
func tripsOf(s *redis.Store, f func()) int64 {
	before := s.Stats().RoundTrips
	f()
	return s.Stats().RoundTrips - before
}

// TestPipelineAloneIsOneRoundTrip: a lone Acquire goes at once in one round
// trip; a Settle rides on the next one, ahead of it, or goes alone after
// SettleDelay when none comes.
func TestPipelineAloneIsOneRoundTrip(t *testing.T) {
	addr := testenv.Redis(t)
	s, _, _ := gatedStore(t, addr, redis.Options{Prefix: "alone:"})
	req := perMinute(t, "acme/api/alone", 3)
	mustAcquire(t, s, req, true)                                          // loads the script: two round trips; 2 left
	if n := tripsOf(s, func() { mustAcquire(t, s, req, true) }); n != 1 { // 1 left
		t.Errorf("a lone Acquire: %d round trips, want 1", n)
	}
	give := store.Settlement{Scope: req.Scope, Limits: req.Limits, Delta: store.Cost{Requests: -2}}
	if err := s.Settle(t.Context(), give); err != nil {
		t.Fatal(err)
	}
	// The settlement and the Acquire of its scope are one call of
	// decide.lua, loaded on the way: one more round trip, once.
	if n := tripsOf(s, func() { mustAcquire(t, s, req, true) }); n != 2 { // 3 left, then 2
		t.Errorf("Settle then Acquire, decide.lua not yet loaded: %d round trips, want 2", n)
	}
	// Given back beyond full: 3 left, then 2.
	if err := s.Settle(t.Context(), give); err != nil {
		t.Fatal(err)
	}
	before := s.Stats()
	if n := tripsOf(s, func() { mustAcquire(t, s, req, true) }); n != 1 {
		t.Errorf("Settle then Acquire: %d round trips, want 1 (the settlement rides along)", n)
	}
	if cmds := s.Stats().Commands - before.Commands; cmds != 1 {
		t.Errorf("Settle then Acquire: %d commands, want 1 (one call of decide.lua)", cmds)
	}
	mustAcquire(t, s, req, true)
	mustAcquire(t, s, req, true)
	mustAcquire(t, s, req, false) // the refunds were seen, and no more
	st := s.Stats()
	if err := s.Settle(t.Context(), give); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.Stats().Settles == st.Settles && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	// Alone, the settlement is a call of settle.lua, loaded first.
	if got := s.Stats(); got.Settles != st.Settles+1 || got.RoundTrips != st.RoundTrips+2 || got.SettlesLost != 0 {
		t.Errorf("a Settle with no Acquire after it: stats went from %+v to %+v, want it sent alone (after SCRIPT LOAD)", st, got)
	}
	mustAcquire(t, s, req, true)
}

// TestPipelineBatchesWhileInFlight: what arrives while a round trip is in
// flight goes in the next, at most Options.Pipeline commands to a round
// trip, in order.
func TestPipelineBatchesWhileInFlight(t *testing.T) {
	addr := testenv.Redis(t)
	const callers, size = 20, 8
	s, g, _ := gatedStore(t, addr, redis.Options{Prefix: "batch:", Pipeline: size})
	req := perMinute(t, "acme/api/batch", callers)
	mustAcquire(t, s, req, true) // loads the script
	st := s.Stats()
	release := g.hold()
	done := make(chan struct{})
	go func() { defer close(done); tryAcquire(t, s, req, true) }()
	g.wait(t)
	var wg sync.WaitGroup
	results := make(chan bool, callers)
	for range callers {
		wg.Go(func() {
			gr, err := s.Acquire(t.Context(), req)
			if err != nil {
				t.Error(err)
			}
			results <- gr.Allowed
		})
	}
	time.Sleep(50 * time.Millisecond) // they queue behind the held round trip
	release()
	wg.Wait()
	<-done
	close(results)
	allowed := 0
	for ok := range results {
		if ok {
			allowed++
		}
	}
	if allowed != callers-2 {
		t.Errorf("%d of %d allowed, want %d: the limit has %d", allowed, callers, callers-2, callers)
	}
	got := s.Stats()
	// Each batch of one scope's admissions is one call of decide.lua,
	// loaded before the first.
	batches := int64((callers + size - 1) / size)
	if trips, want := got.RoundTrips-st.RoundTrips, 2+batches; trips != want {
		t.Errorf("%d round trips, want %d: the held one, SCRIPT LOAD, then %d commands in batches of at most %d", trips, want, callers, size)
	}
	if cmds, want := got.Commands-st.Commands, 2+batches; cmds != want {
		t.Errorf("%d commands, want %d: one call of decide.lua a batch", cmds, want)
	}
}

// TestPipelineCancelledCallerLeavesOthers: a caller whose context ends
// stops waiting at once; its command, not yet sent, is never sent, and the
// others of its batch go on.
func TestPipelineCancelledCallerLeavesOthers(t *testing.T) {
	addr := testenv.Redis(t)
	s, g, _ := gatedStore(t, addr, redis.Options{Prefix: "cancel:"})
	req := perMinute(t, "acme/api/cancel", 4)
	mustAcquire(t, s, req, true) // loads the script; 3 left
	release := g.hold()
	first := make(chan struct{})
	go func() { defer close(first); tryAcquire(t, s, req, true) }() // 2 left
	g.wait(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancelled := make(chan error, 1)
	go func() {
		_, err := s.Acquire(ctx, req)
		cancelled <- err
	}()
	other := make(chan struct{})
	go func() { defer close(other); tryAcquire(t, s, req, true) }() // 1 left
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled caller: got %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a cancelled caller kept waiting for a round trip held in flight")
	}
	release()
	<-first
	<-other
	mustAcquire(t, s, req, true) // the cancelled one took nothing
	mustAcquire(t, s, req, false)
}

// TestPipelineErrorsReachEveryCaller: when a round trip fails, every caller
// of its batch gets the error, and its settlements are lost, not sent again.
func TestPipelineErrorsReachEveryCaller(t *testing.T) {
	srv := testenv.RedisServer(t)
	s, g, _ := gatedStore(t, srv.Addr(), redis.Options{Prefix: "fail:"})
	req := perMinute(t, "acme/api/fail", 10)
	mustAcquire(t, s, req, true) // loads the script
	if err := s.Settle(t.Context(), store.Settlement{Scope: req.Scope, Limits: req.Limits, Delta: store.Cost{Requests: 1}}); err != nil {
		t.Fatal(err)
	}
	mustAcquire(t, s, req, true) // loads settle.lua and carries the settlement
	st := s.Stats()
	release := g.hold()
	errs := make(chan error, 4)
	acquire := func() {
		_, err := s.Acquire(t.Context(), req)
		errs <- err
	}
	go acquire()
	g.wait(t)
	if err := s.Settle(t.Context(), store.Settlement{Scope: req.Scope, Limits: req.Limits, Delta: store.Cost{Requests: 1}}); err != nil {
		t.Fatalf("Settle returns before its round trip: got %v", err)
	}
	for range 3 {
		go acquire()
	}
	time.Sleep(20 * time.Millisecond)
	srv.Stop(t)
	release()
	for range 4 {
		if err := <-errs; err == nil {
			t.Errorf("an Acquire of a failed round trip: got %v, want an error", err)
		}
	}
	got := s.Stats()
	if got.Settles-st.Settles != 1 || got.SettlesLost-st.SettlesLost != 1 {
		t.Errorf("stats went from %+v to %+v, want one settlement sent and lost", st, got)
	}
	srv.Start(t)
	before := s.Stats()
	mustAcquire(t, s, req, true) // a fresh server: scripts are loaded again
	if got := s.Stats(); got.Settles != before.Settles {
		t.Errorf("a lost settlement was sent again: %+v, then %+v", before, got)
	}
}

// TestPipelineNoScript: after the server forgets its scripts, the batch
// that meets NOSCRIPT sends them whole, and later ones are loaded first.
func TestPipelineNoScript(t *testing.T) {
	addr := testenv.Redis(t)
	s, _, client := gatedStore(t, addr, redis.Options{Prefix: "noscript:"})
	req := perMinute(t, "acme/api/noscript", 3)
	mustAcquire(t, s, req, true)
	if err := client.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if n := tripsOf(s, func() { mustAcquire(t, s, req, true) }); n != 2 {
		t.Errorf("after SCRIPT FLUSH: %d round trips, want 2 (NOSCRIPT, then EVAL)", n)
	}
	if n := tripsOf(s, func() { mustAcquire(t, s, req, true) }); n != 2 {
		t.Errorf("the next Acquire: %d round trips, want 2 (SCRIPT LOAD, then EVALSHA)", n)
	}
	mustAcquire(t, s, req, false)
}

// TestPipelineCloseSendsSettlements: Close sends the settlements still
// waiting, and Settle after Close fails.
func TestPipelineCloseSendsSettlements(t *testing.T) {
	addr := testenv.Redis(t)
	s, _, _ := gatedStore(t, addr, redis.Options{Prefix: "close:", SettleDelay: time.Hour})
	req := perMinute(t, "acme/api/close", 3)
	mustAcquire(t, s, req, true)
	if err := s.Settle(t.Context(), store.Settlement{Scope: req.Scope, Limits: req.Limits, Delta: store.Cost{Requests: 2}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(t.Context(), store.Settlement{Scope: req.Scope, Limits: req.Limits, Delta: store.Cost{Requests: 1}}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Settle after Close: got %v, want ErrClosed", err)
	}
	if got := s.Stats(); got.Settles != 1 || got.SettlesLost != 0 {
		t.Errorf("stats after Close: %+v, want the settlement sent", got)
	}
	again, _, _ := gatedStore(t, addr, redis.Options{Prefix: "close:"})
	mustAcquire(t, again, req, false) // 3 - 1 - 2: the debt was recorded
}

// TestPipelineOff: Options.Pipeline 1 sends every command alone, Settle
// included, which then reports its own error.
func TestPipelineOff(t *testing.T) {
	srv := testenv.RedisServer(t)
	s, _, _ := gatedStore(t, srv.Addr(), redis.Options{Prefix: "off:", Pipeline: 1})
	req := perMinute(t, "acme/api/off", 3)
	mustAcquire(t, s, req, true) // NOSCRIPT, then EVAL
	set := store.Settlement{Scope: req.Scope, Limits: req.Limits, Delta: store.Cost{Requests: 2}}
	if n := tripsOf(s, func() {
		if err := s.Settle(t.Context(), set); err != nil {
			t.Fatal(err)
		}
	}); n != 2 {
		t.Errorf("Settle with pipelining off: %d round trips, want its own 2 (NOSCRIPT, then EVAL)", n)
	}
	mustAcquire(t, s, req, false)
	srv.Stop(t)
	if err := s.Settle(t.Context(), set); err == nil {
		t.Error("Settle with pipelining off and the server gone: got no error")
	}
}
