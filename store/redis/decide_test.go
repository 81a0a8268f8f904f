package redis

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
)

// TestDecideAgreesWithOneAtATime runs random rounds of acquires and
// settlements on one scope twice: on one store one script call at a time
// (acquire.lua, settle.lua; pipelining off), on another as one batch that
// the pipeline sends as one call of decide.lua. Every reply, and the
// scope's hash after every round, must be the same: decide.lua decides a
// batch exactly as the scripts decide it one after the other, settlements
// and refusals included, under paces that end and cooldowns.
func TestDecideAgreesWithOneAtATime(t *testing.T) {
	addr := testenv.Redis(t)
	clock := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	open := func(prefix string, pipeline int) (*Store, *goredis.Client) {
		client := goredis.NewClient(&goredis.Options{Addr: addr})
		s := New(client, Options{Prefix: prefix, Now: now, Pipeline: pipeline})
		t.Cleanup(func() { _ = s.Close() })
		return s, goredis.NewClient(&goredis.Options{Addr: addr})
	}
	one, oneClient := open("one:", 1)
	batched, batchedClient := open("batch:", 0)
	const scope = "acme/api/decide"
	ctx := t.Context()
	limits := decideLimits(t)
	for _, s := range []*Store{one, batched} {
		for i, u := range []store.Unit{store.UnitRequests, store.UnitTokens, store.UnitOutputTokens} {
			g, err := limit.NewGCRA(int64(20+10*i), 100*time.Millisecond, int64(3+2*i), 0)
			if err != nil {
				t.Fatal(err)
			}
			p := store.Pace{Key: "pace" + strconv.Itoa(i), GCRA: g, Until: clock.Add(time.Duration(200*(i+1)) * time.Millisecond), Unit: u}
			if _, err := s.SetPace(ctx, scope, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	rng := rand.New(rand.NewPCG(12, 1))
	seen := make(map[string]int) // kinds of replies, so that every path is met
	for round := range 200 {
		clock = clock.Add(time.Duration(rng.IntN(20_000)) * time.Microsecond)
		if round == 120 {
			for _, s := range []*Store{one, batched} {
				if _, err := s.SetCooldown(ctx, scope, store.Cooldown{Until: clock.Add(30 * time.Millisecond), Status: 429, Source: "test"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		ops := decideOps(rng, scope, limits)
		var want []any
		for _, op := range ops {
			r, err := one.run(ctx, op(one)).Result()
			if err != nil {
				t.Fatalf("round %d: one at a time: %v", round, err)
			}
			want = append(want, r)
			seen[replyKind(r)]++
		}
		batch := make([]*call, len(ops))
		for i, op := range ops {
			batch[i] = op(batched)
			batch[i].done = make(chan struct{})
		}
		if wire := batched.pipe.group(batch); len(wire) != 1 && len(ops) > 1 {
			t.Fatalf("round %d: %d operations grouped into %d calls, want 1", round, len(ops), len(wire))
		}
		batched.pipe.send(context.Background(), batch)
		for i, c := range batch {
			got, err := c.cmd.Result()
			if err != nil {
				t.Fatalf("round %d, operation %d: batched: %v", round, i, err)
			}
			if !reflect.DeepEqual(got, want[i]) {
				t.Fatalf("round %d, operation %d of %d (%v): batched got %v, one at a time %v", round, i, len(ops), c.op, got, want[i])
			}
		}
		a := hashOf(t, oneClient, one.keys(scope)[0])
		b := hashOf(t, batchedClient, batched.keys(scope)[0])
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round %d: the scope's hash one at a time %v, batched %v", round, a, b)
		}
	}
	t.Logf("replies by kind: %v", seen)
	for _, kind := range []string{"allowed", "extra", "limit", "cooldown", "settled"} {
		if seen[kind] == 0 {
			t.Errorf("no reply of kind %s in %v: the rounds miss a path", kind, seen)
		}
	}
}

// replyKind names what a reply of acquire.lua or settle.lua says.
func replyKind(r any) string {
	switch r := r.(type) {
	case int64:
		return "settled"
	case []any:
		if r[0] == int64(1) && len(r) > 4 && r[4] != int64(0) {
			return "extra"
		}
		if r[0] == int64(1) {
			return "allowed"
		}
		return r[2].(string)
	}
	return "unknown"
}

// decideLimits are limits of every unit, small enough that random
// requests meet them often.
func decideLimits(t *testing.T) []store.Limit {
	var ls []store.Limit
	for u := store.UnitRequests; u <= store.UnitOutputTokens; u++ {
		g, err := limit.NewGCRA(int64(40+20*int(u)), 100*time.Millisecond, int64(4+3*int(u)), 0)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, store.Limit{Key: u.String(), GCRA: g, Unit: u})
	}
	return ls
}

// decideOps returns 1 to 16 random operations on scope: acquires of random
// limits (one of them maybe twice), costs and extra admissions, and
// settlements that give back or charge more.
func decideOps(rng *rand.Rand, scope string, limits []store.Limit) []func(*Store) *call {
	ops := make([]func(*Store) *call, 1+rng.IntN(16))
	for i := range ops {
		var ls []store.Limit
		for _, l := range limits {
			if rng.IntN(3) > 0 {
				ls = append(ls, l)
			}
		}
		if len(ls) > 0 && rng.IntN(8) == 0 {
			ls = append(ls, ls[0])
		}
		cost := func(lo, hi int) store.Cost {
			n := func() int64 { return int64(lo + rng.IntN(hi-lo+1)) }
			return store.Cost{Requests: 1, Tokens: n(), InputTokens: n(), OutputTokens: n()}
		}
		if rng.IntN(4) == 0 {
			delta := cost(-4, 3)
			delta.Requests = int64(rng.IntN(3) - 1)
			set := store.Settlement{Scope: scope, Limits: ls, Delta: delta}
			ops[i] = func(s *Store) *call { return s.settleCall(set) }
			continue
		}
		req := store.Request{Scope: scope, Limits: ls, Cost: cost(1, 6)}
		extra := 0
		if rng.IntN(4) == 0 {
			extra = rng.IntN(4)
		}
		ops[i] = func(s *Store) *call { return s.acquireCall(req, time.Minute, extra) }
	}
	return ops
}

// hashOf returns the fields of the hash at key but x (until when the key
// lives: batched, it grows once for the whole batch).
func hashOf(t *testing.T, client *goredis.Client, key string) map[string]string {
	t.Helper()
	h, err := client.HGetAll(t.Context(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	delete(h, "x")
	return h
}
