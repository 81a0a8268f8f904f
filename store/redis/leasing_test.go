package redis_test

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/redis"
	"github.com/heedhq/heed/store/storetest"
)

// TestContractWithLeasing: local leasing keeps every promise of the store
// contract (its limits have bursts of a few units and rates far below one
// per BatchAhead, so leasing only ever takes burst room that fits now; the
// steps of units and Settle charge first more than half a burst, so it takes
// none there).
func TestContractWithLeasing(t *testing.T) {
	addr := testenv.Redis(t)
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		client := goredis.NewClient(&goredis.Options{Addr: addr})
		if err := client.FlushAll(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		return redis.New(client, redis.Options{Now: clock.Now, Batch: 10})
	})
}

// roundTrips counts the commands a client sends, pipelines included.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (r *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}
func (r *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestLeasingOvershootBound simulates three processes (three Stores, each
// with its own client) on one Redis and one fake clock, asking at random
// moments with random idle spells, waiting as told when refused, under one
// limit of 1000/s. Every window
// of 100ms must hold at most what the limit allows in 100ms + 2A (the bound
// in the package doc), while far fewer round trips than decisions are made.
func TestLeasingOvershootBound(t *testing.T) {
	addr := testenv.Redis(t)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	const (
		procs = 3
		batch = 10
		ahead = 10 * time.Millisecond
	)
	var rt roundTrips
	stores := make([]*redis.Store, procs)
	for i := range stores {
		c := goredis.NewClient(&goredis.Options{Addr: addr})
		c.AddHook(&rt)
		stores[i] = redis.New(c, redis.Options{Prefix: "lease:", Now: clock, Batch: batch, BatchAhead: ahead})
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	g, _ := limit.NewGCRA(1000, time.Second, 1, 0) // I = 1ms, burst 1
	req := store.Request{Scope: "acme/api/abcd", Limits: []store.Limit{{Key: "0", GCRA: g}}}
	r := rand.New(rand.NewPCG(1, 2))
	var sent []time.Time
	idle := make([]time.Time, procs) // a process asks nothing until then
	start := now
	for now.Sub(start) < 3*time.Second {
		for i, s := range stores {
			if now.Before(idle[i]) {
				continue
			}
			if r.IntN(200) == 0 { // now and then a process goes quiet
				idle[i] = now.Add(time.Duration(r.IntN(30)) * time.Millisecond)
				continue
			}
			gr, err := s.Acquire(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if gr.Allowed {
				sent = append(sent, now)
			} else { // as the Transport does: wait as told
				idle[i] = now.Add(gr.Wait)
			}
		}
		now = now.Add(time.Duration(50+r.IntN(200)) * time.Microsecond)
	}
	const window = 100 * time.Millisecond
	bound := int(window/time.Millisecond) + 1 + int(2*ahead/time.Millisecond) // W/I + burst + 2A/I
	worst := 0
	for i, j := 0, 0; i < len(sent); i++ {
		for j < len(sent) && sent[j].Sub(sent[i]) < window {
			j++
		}
		worst = max(worst, j-i)
	}
	perTrip := float64(len(sent)) / float64(rt.n.Load())
	t.Logf("%d admissions in 3s (the limit: 3000), at most %d in any %v (bound %d, the limit alone %d); %d round trips, %.1f admissions each",
		len(sent), worst, window, bound, int(window/time.Millisecond)+1, rt.n.Load(), perTrip)
	if worst > bound {
		t.Errorf("%d admissions in a window of %v, want at most %d", worst, window, bound)
	}
	if len(sent) < 2700 || len(sent) > 3000+1+int(2*ahead/time.Millisecond) {
		t.Errorf("%d admissions in 3s, want close to the limit's 3000", len(sent))
	}
	if perTrip < 2 {
		t.Errorf("%.1f admissions per round trip, want leasing to batch them", perTrip)
	}
}

// TestLeasingStopsAtOwnCooldown: a process that records a cooldown drops
// the admissions it holds, so its next Acquire sees the cooldown.
func TestLeasingStopsAtOwnCooldown(t *testing.T) {
	addr := testenv.Redis(t)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	s := redis.New(goredis.NewClient(&goredis.Options{Addr: addr}), redis.Options{Now: func() time.Time { return now }, Batch: 10})
	t.Cleanup(func() { _ = s.Close() })
	g, _ := limit.NewGCRA(10, time.Millisecond, 1, 0) // 10 per ms: a batch of 10 fits
	req := store.Request{Scope: "acme/api/ffff", Limits: []store.Limit{{Key: "0", GCRA: g}}}
	if gr, err := s.Acquire(t.Context(), req); err != nil || !gr.Allowed {
		t.Fatalf("first: %+v %v", gr, err)
	}
	if _, err := s.SetCooldown(t.Context(), req.Scope, store.Cooldown{Until: now.Add(time.Second), Status: 429}); err != nil {
		t.Fatal(err)
	}
	if gr, err := s.Acquire(t.Context(), req); err != nil || gr.Reason != store.ReasonCooldown {
		t.Fatalf("after the cooldown: %+v %v, want refused for the cooldown", gr, err)
	}
}

// TestLeasingStopsAtOwnSettle: a process that settles a charge upward drops
// the admissions it holds, so its next Acquire sees the debt; one that only
// gives back keeps them, and spends the next without a round trip.
func TestLeasingStopsAtOwnSettle(t *testing.T) {
	addr := testenv.Redis(t)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	var rt roundTrips
	client.AddHook(&rt)
	s := redis.New(client, redis.Options{Prefix: "settle:", Now: func() time.Time { return now }, Batch: 10})
	t.Cleanup(func() { _ = s.Close() })
	l := store.Limit{Key: "tpm", GCRA: limit.GCRA{Interval: 100, Tolerance: 900}, Unit: store.UnitTokens} // 10 per ms: a batch of 10 fits
	req := store.Request{Scope: "acme/api/ffff", Limits: []store.Limit{l}, Cost: store.Cost{Tokens: 1}}
	settle := func(delta int64) {
		t.Helper()
		if err := s.Settle(t.Context(), store.Settlement{Scope: req.Scope, Limits: req.Limits, Delta: store.Cost{Tokens: delta}}); err != nil {
			t.Fatal(err)
		}
	}
	if gr, err := s.Acquire(t.Context(), req); err != nil || !gr.Allowed {
		t.Fatalf("first: %+v %v", gr, err)
	}
	settle(-1)
	before := rt.n.Load()
	if gr, err := s.Acquire(t.Context(), req); err != nil || !gr.Allowed {
		t.Fatalf("after giving back: %+v %v, want allowed", gr, err)
	}
	if trips := rt.n.Load() - before; trips != 0 {
		t.Errorf("after giving back: %d round trips, want the batch held spent locally", trips)
	}
	settle(1_000)
	if gr, err := s.Acquire(t.Context(), req); err != nil || gr.Reason != store.ReasonLimit {
		t.Fatalf("after charging 1000 more: %+v %v, want refused by the limit", gr, err)
	}
}

// TestLeasingNotUnderConcurrencyCap: every request under a cap gets its own
// lease from Redis, so the cap holds exactly.
func TestLeasingNotUnderConcurrencyCap(t *testing.T) {
	addr := testenv.Redis(t)
	s := redis.New(goredis.NewClient(&goredis.Options{Addr: addr}), redis.Options{Batch: 10})
	t.Cleanup(func() { _ = s.Close() })
	g, _ := limit.NewGCRA(1_000_000, time.Second, 100, 0)
	req := store.Request{Scope: "acme/api/cap", Limits: []store.Limit{{Key: "0", GCRA: g}}, Concurrency: 2}
	for i, want := range []bool{true, true, false} {
		gr, err := s.Acquire(t.Context(), req)
		if err != nil || gr.Allowed != want || (want && gr.Lease == (store.Lease{})) {
			t.Fatalf("acquire %d: %+v %v, want allowed=%v with a lease", i, gr, err, want)
		}
	}
}
