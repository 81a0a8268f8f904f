package redis_test

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/memory"
	"github.com/heedhq/heed/store/redis"
)

// TestTurnsAgreeWithMemory runs random turns of 3 members, 4 flows and 2
// classes, of random costs, under a request limit, a token limit, a pace
// and now and then a cooldown or a concurrency cap, against the memory
// store (fair.Board in Go) and the Redis store (acquire.lua) on the same
// fake clock: every Grant must be the same (allowed, reason, wait), so
// the script mirrors the Board's float arithmetic exactly. Every key the
// Redis store wrote must expire.
func TestTurnsAgreeWithMemory(t *testing.T) {
	addr := testenv.Redis(t)
	clock := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	rs := redis.New(client, redis.Options{Prefix: "turns:", Now: now})
	t.Cleanup(func() { _ = rs.Close() })
	mem := memory.New(memory.Options{Now: now})
	stores := []store.Store{mem, rs}
	ctx := t.Context()
	const scope = "acme/api/turns"
	reqs, _ := limit.NewGCRA(20, time.Second, 2, 0)
	tokens, _ := limit.NewGCRA(400, time.Second, 60, 0)
	limits := []store.Limit{{Key: "rps", GCRA: reqs}, {Key: "tps", GCRA: tokens, Unit: store.UnitTokens}}
	paced, _ := limit.NewGCRA(30, time.Second, 3, 0)
	for _, s := range stores {
		if _, err := s.SetPace(ctx, scope, store.Pace{Key: "learned", GCRA: paced, Until: clock.Add(20 * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	classes := []struct {
		name  string
		share int
	}{{"interactive", 3}, {"batch", 1}}
	rng := rand.New(rand.NewPCG(7, 3))
	seen := make(map[store.Reason]int)
	leases := make([][]store.Lease, len(stores)) // held under the cap, per store
	for step := range 3000 {
		clock = clock.Add(time.Duration(rng.IntN(25_000)) * time.Microsecond)
		if step%700 == 350 {
			for _, s := range stores {
				if _, err := s.SetCooldown(ctx, scope, store.Cooldown{Until: clock.Add(40 * time.Millisecond), Status: 429}); err != nil {
					t.Fatal(err)
				}
			}
		}
		c := classes[rng.IntN(2)]
		cost := int64(1 + rng.IntN(40))
		req := store.Request{
			Scope:  scope,
			Limits: limits,
			Cost:   store.Cost{Requests: 1, Tokens: cost},
			Turn: &store.Turn{
				Member: "process-" + strconv.Itoa(rng.IntN(3)),
				Class:  c.name, Share: c.share,
				Flow: "tenant-" + strconv.Itoa(rng.IntN(4)),
				Cost: cost,
			},
		}
		if step >= 2000 && step < 2500 {
			req.Concurrency = 1
			if rng.IntN(5) == 0 {
				for i, s := range stores {
					if len(leases[i]) > 0 {
						if err := s.Release(ctx, scope, leases[i][0]); err != nil {
							t.Fatal(err)
						}
						leases[i] = leases[i][1:]
					}
				}
			}
		}
		var grants [2]store.Grant
		for i, s := range stores {
			g, err := s.Acquire(ctx, req)
			if err != nil {
				t.Fatalf("step %d: %T: %v", step, s, err)
			}
			if g.Lease != (store.Lease{}) {
				leases[i] = append(leases[i], g.Lease)
			}
			grants[i] = g
		}
		m, r := grants[0], grants[1]
		if m.Allowed != r.Allowed || m.Reason != r.Reason || m.Wait != r.Wait || m.Limit != r.Limit {
			t.Fatalf("step %d, turn %+v: memory %+v, redis %+v", step, *req.Turn, m, r)
		}
		seen[m.Reason]++
	}
	t.Logf("grants by reason: %v", seen)
	for _, r := range []store.Reason{store.ReasonNone, store.ReasonTurn, store.ReasonLimit, store.ReasonCooldown, store.ReasonConcurrency} {
		if seen[r] == 0 {
			t.Errorf("no grant of reason %v in %v: the steps miss a path", r, seen)
		}
	}
	keys, err := client.Keys(ctx, "turns:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 3 {
		t.Errorf("keys %v, want the scope's hash, board and flow tags", keys)
	}
	for _, k := range keys {
		if ttl := client.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %q has no TTL (%v)", k, ttl)
		}
	}
}

// BenchmarkAcquireTurn compares one Acquire under one limit, allowed,
// without a Turn (plain) and with one: alone (no other room waits), and
// contended (another room, of another class, holds a place behind it, so
// the script reads its class's tag too). Pipelined, one caller: one round
// trip each.
func BenchmarkAcquireTurn(b *testing.B) {
	addr := testenv.Redis(b)
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
			client := goredis.NewClient(&goredis.Options{Addr: addr})
			if err := client.FlushAll(b.Context()).Err(); err != nil { // -count runs again on the same server
				b.Fatal(err)
			}
			s := redis.New(client, redis.Options{})
			b.Cleanup(func() { _ = s.Close() })
			if bb.contended {
				holdPlace(b, s, plain.Scope)
			}
			admin := goredis.NewClient(&goredis.Options{Addr: addr})
			b.Cleanup(func() { _ = admin.Close() })
			if err := admin.ConfigResetStat(b.Context()).Err(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if g, err := s.Acquire(b.Context(), bb.req); err != nil || !g.Allowed {
					b.Fatalf("got %+v, %v; want allowed", g, err)
				}
			}
			b.ReportMetric(scriptMicros(b, admin), "server-µs/op")
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
		if g, err := s.Acquire(b.Context(), other); err != nil || g.Reason != want {
			b.Fatalf("holding a place, step %d: got %+v, %v; want %v", i, g, err, want)
		}
	}
}

// scriptMicros returns the server's CPU time per script call (EVALSHA)
// since its stats were reset, in µs: what a decision costs Redis, apart
// from the round trip.
func scriptMicros(b *testing.B, admin *goredis.Client) float64 {
	b.Helper()
	info, err := admin.Info(b.Context(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(info) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_evalsha:")
		if !ok {
			continue
		}
		for field := range strings.SplitSeq(rest, ",") {
			if v, ok := strings.CutPrefix(field, "usec_per_call="); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					b.Fatalf("commandstats %q: %v", rest, err)
				}
				return f
			}
		}
	}
	b.Fatalf("no evalsha in commandstats:\n%s", info)
	return 0
}
