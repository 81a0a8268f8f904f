package memory_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed/fair"
	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/memory"
	"github.com/heedhq/heed/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		return memory.New(memory.Options{Now: clock.Now})
	})
}

// TestSweepForgetsIdleScopes checks that scopes do not pile up: after their
// state has no effect left, a sweep drops them, and decisions are unchanged.
func TestSweepForgetsIdleScopes(t *testing.T) {
	clock := storetest.NewClock(time.Unix(1_800_000_000, 0))
	s := memory.New(memory.Options{Now: clock.Now})
	g, _ := limit.NewGCRA(1, time.Second, 1, 0)
	ctx := context.Background()
	for i := range 2 * 4096 {
		req := store.Request{Scope: "t/api/" + string(rune('a'+i%26)) + string(rune(i)), Limits: []store.Limit{{Key: "0", GCRA: g}}}
		if _, err := s.Acquire(ctx, req); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Millisecond)
	}
	if n := s.Len(); n >= 4096 {
		t.Fatalf("%d scopes kept after a sweep, want the idle ones dropped", n)
	}
}

// BenchmarkAcquire measures one Acquire under one limit, on one scope, the
// hot path of every request; the baseline is an uncontended mutex lock and
// map lookup, the least any shared map store does.
func BenchmarkAcquire(b *testing.B) {
	g, _ := limit.NewGCRA(1_000_000_000, time.Second, 1, 0)
	req := store.Request{Scope: "acme/github/3fa9c0de", Limits: []store.Limit{{Key: "0", GCRA: g}}}
	s := memory.New(memory.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Acquire(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineMutexMap is the floor BenchmarkAcquire is compared with
// in the same run: a clock read, an uncontended mutex and one map update.
func BenchmarkBaselineMutexMap(b *testing.B) {
	var mu sync.Mutex
	m := map[string]int64{"acme/github/3fa9c0de": 0}
	b.ReportAllocs()
	for b.Loop() {
		now := time.Now().UnixMicro()
		mu.Lock()
		m["acme/github/3fa9c0de"] = max(m["acme/github/3fa9c0de"], now) + 1
		mu.Unlock()
	}
}

// BenchmarkAcquireParallel is BenchmarkAcquire from every core at once, on
// one scope: the contended case of many workers sharing one credential.
func BenchmarkAcquireParallel(b *testing.B) {
	g, _ := limit.NewGCRA(1_000_000_000, time.Second, 1, 0)
	req := store.Request{Scope: "acme/github/3fa9c0de", Limits: []store.Limit{{Key: "0", GCRA: g}}}
	s := memory.New(memory.Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Acquire(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestSweepForgetsFullLimits: a busy scope whose requests carried many
// limit keys (one per tenant) keeps only those whose state still matters.
func TestSweepForgetsFullLimits(t *testing.T) {
	clock := storetest.NewClock(time.Unix(1_800_000_000, 0))
	s := memory.New(memory.Options{Now: clock.Now})
	g, _ := limit.NewGCRA(1, time.Second, 1, 0)
	ctx := context.Background()
	busy := store.Request{Scope: "/api/busy", Limits: []store.Limit{{Key: "0", GCRA: g}}}
	for i := range 2 * 4096 {
		tenant := store.Request{Scope: "/api/busy", Limits: []store.Limit{{Key: "t:" + string(rune('a'+i%26)) + string(rune(i)) + ":0", GCRA: g}}}
		if _, err := s.Acquire(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Millisecond)
	}
	clock.Advance(2 * time.Second)
	for range 4096 { // keeps the scope busy through the next sweep
		if _, err := s.Acquire(ctx, busy); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Limits("/api/busy"); n > 1 {
		t.Fatalf("%d limit states kept in the busy scope, want only its own left", n)
	}
}

// TestFlowLenAgrees: the store's bound of a Turn's flow is the Board's.
func TestFlowLenAgrees(t *testing.T) {
	if store.MaxFlowLen != fair.MaxFlowLen {
		t.Fatalf("store.MaxFlowLen %d, fair.MaxFlowLen %d: they must agree", store.MaxFlowLen, fair.MaxFlowLen)
	}
}

// BenchmarkAcquireTurn compares one Acquire under one limit, allowed,
// without a Turn (plain) and with one: alone (no other room waits), and
// contended (another room, of another class, holds a place behind it, so
// each admission weighs its tag too).
func BenchmarkAcquireTurn(b *testing.B) {
	g := limit.GCRA{Interval: 1, Tolerance: 1e12} // never refuses within a benchmark
	plain := store.Request{Scope: "acme/github/3fa9c0de", Limits: []store.Limit{{Key: "0", GCRA: g}}}
	turn := plain
	turn.Turn = &store.Turn{Member: "host-1/4242", Class: "interactive", Share: 3, Flow: "tenant-7", Cost: 1}
	for _, bb := range []struct {
		name      string
		req       store.Request
		contended bool
	}{{"plain", plain, false}, {"turn", turn, false}, {"turn_contended", turn, true}} {
		b.Run(bb.name, func(b *testing.B) {
			s := memory.New(memory.Options{})
			ctx := context.Background()
			if bb.contended {
				holdPlace(b, s, plain.Scope)
			}
			b.ReportAllocs()
			for b.Loop() {
				if g, err := s.Acquire(ctx, bb.req); err != nil || !g.Allowed {
					b.Fatalf("got %+v, %v; want allowed", g, err)
				}
			}
		})
	}
}

// holdPlace makes another room of scope hold a place for an hour, in
// class batch, far behind: admitted once at a huge cost, then refused by a
// limit of one an hour.
func holdPlace(b *testing.B, s store.Store, scope string) {
	b.Helper()
	hourly, _ := limit.NewGCRA(1, time.Hour, 1, 0)
	other := store.Request{Scope: scope, Limits: []store.Limit{{Key: "hourly", GCRA: hourly}},
		Turn: &store.Turn{Member: "host-2/99", Class: "batch", Share: 1, Flow: "bulk", Cost: 1 << 40}}
	for i, want := range []store.Reason{store.ReasonNone, store.ReasonLimit} {
		if g, err := s.Acquire(context.Background(), other); err != nil || g.Reason != want {
			b.Fatalf("holding a place, step %d: got %+v, %v; want %v", i, g, err, want)
		}
	}
}
