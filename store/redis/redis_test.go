package redis_test

import (
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/redis"
	"github.com/heedhq/heed/store/storetest"
)

// TestContract runs the store contract against a private redis-server.
func TestContract(t *testing.T) {
	addr := testenv.Redis(t)
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		client := goredis.NewClient(&goredis.Options{Addr: addr})
		if err := client.FlushAll(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		return redis.New(client, redis.Options{Now: clock.Now})
	})
}

// TestContractDecide runs the store contract with every acquire (without a
// concurrency cap) and every settlement sent through decide.lua, as the
// pipeline sends those of one scope that share a round trip: it decides
// as acquire.lua and settle.lua do.
func TestContractDecide(t *testing.T) {
	addr := testenv.Redis(t)
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		client := goredis.NewClient(&goredis.Options{Addr: addr})
		if err := client.FlushAll(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		s := redis.New(client, redis.Options{Now: clock.Now})
		redis.DecideAlways(s)
		return s
	})
}

// TestEveryKeyExpiresAndServerTime uses the server's clock (no injected
// time) and checks that every key the store writes carries a TTL, so that
// nothing grows without bound.
func TestEveryKeyExpiresAndServerTime(t *testing.T) {
	addr := testenv.Redis(t)
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	s := redis.New(client, redis.Options{Prefix: "test:"})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	g, _ := limit.NewGCRA(10, time.Second, 2, 0)
	req := store.Request{Scope: "acme/github/3fa9c0de", Limits: []store.Limit{{Key: "0", GCRA: g}}, Concurrency: 5}
	if got, err := s.Acquire(ctx, req); err != nil || !got.Allowed {
		t.Fatalf("Acquire: %+v %v", got, err)
	}
	if _, err := s.SetCooldown(ctx, "acme/github/ffff0000", store.Cooldown{Until: time.Now().Add(2 * time.Second), Status: 429}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPace(ctx, "acme/openai/1234abcd", store.Pace{Key: "tokens", GCRA: limit.GCRA{Interval: 1000}, Until: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	tpm := store.Limit{Key: "tpm", GCRA: limit.GCRA{Interval: 1000, Tolerance: 9000}, Unit: store.UnitTokens}
	if err := s.Settle(ctx, store.Settlement{Scope: "acme/openai/5678abcd", Limits: []store.Limit{tpm}, Delta: store.Cost{Tokens: 50}}); err != nil {
		t.Fatal(err) // a fresh scope: Settle makes its hash
	}
	g2, err := s.Acquire(ctx, store.Request{Scope: "acme/github/ffff0000"})
	if err != nil || g2.Reason != store.ReasonCooldown || g2.Wait <= time.Second || g2.Wait > 2*time.Second {
		t.Fatalf("with the server's clock: got %+v %v, want a cooldown of about 2s", g2, err)
	}
	keys, err := client.Keys(ctx, "*").Result()
	if err != nil || len(keys) < 5 {
		t.Fatalf("keys %v (%v), want the scopes' hashes and lease set", keys, err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "test:{") {
			t.Errorf("key %q does not start with the prefix and a hash tag", k)
		}
		if ttl := client.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %q has no TTL (%v)", k, ttl)
		}
	}
}

// TestSettleKeepsTheKeyForItsDebt: a debt that Settle charges lives as long
// as the TAT it leaves, on the server's clock.
func TestSettleKeepsTheKeyForItsDebt(t *testing.T) {
	addr := testenv.Redis(t)
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	s := redis.New(client, redis.Options{Prefix: "debt:"})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	l := store.Limit{Key: "tpm", GCRA: limit.GCRA{Interval: 1_000_000}, Unit: store.UnitTokens} // one token a second
	req := store.Request{Scope: "acme/openai/1234abcd", Limits: []store.Limit{l}, Cost: store.Cost{Tokens: 1}}
	if g, err := s.Acquire(ctx, req); err != nil || !g.Allowed {
		t.Fatalf("Acquire: %+v %v", g, err)
	}
	if err := s.Settle(ctx, store.Settlement{Scope: req.Scope, Limits: req.Limits, Delta: store.Cost{Tokens: 3600}}); err != nil {
		t.Fatal(err)
	}
	// The settlement goes with the next Acquire, ahead of it.
	g, err := s.Acquire(ctx, req)
	if err != nil || g.Allowed || g.Wait < time.Hour || g.Wait > time.Hour+time.Second {
		t.Errorf("after the debt: got %+v %v, want refused for about an hour", g, err)
	}
	if ttl := client.PTTL(ctx, "debt:{acme/openai/1234abcd}:s").Val(); ttl < time.Hour {
		t.Errorf("TTL %v after an hour of debt, want at least an hour", ttl)
	}
}

// TestPaceRecords: a pace's unit is a fifth field of its record, written
// only when it is not requests, so that a requests pace reads as it did
// before units, and a record of four fields is a requests pace.
func TestPaceRecords(t *testing.T) {
	addr := testenv.Redis(t)
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	now := time.UnixMicro(1_800_000_000_000_000)
	s := redis.New(client, redis.Options{Prefix: "rec:", Now: func() time.Time { return now }})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	const scope, hash = "acme/openai/1234abcd", "rec:{acme/openai/1234abcd}:s"
	until := now.Add(time.Minute)
	for _, p := range []store.Pace{
		{Key: "rpm", GCRA: limit.GCRA{Interval: 1000, Tolerance: 2000}, Until: until},
		{Key: "tpm", GCRA: limit.GCRA{Interval: 10, Tolerance: 90}, Until: until, Unit: store.UnitTokens},
	} {
		if _, err := s.SetPace(ctx, scope, p); err != nil {
			t.Fatal(err)
		}
	}
	for field, want := range map[string]string{
		"p:rpm": "1000 2000 1800000060000000 0",
		"p:tpm": "10 90 1800000060000000 0 1",
	} {
		if got := client.HGet(ctx, hash, field).Val(); got != want {
			t.Errorf("%s: got %q, want %q", field, got, want)
		}
	}
	// A record as the store wrote it before units: charged 1 per request,
	// whatever its tokens.
	if err := client.HSet(ctx, hash, "P", "old", "p:old", "1000000 0 1800000060000000 0").Err(); err != nil {
		t.Fatal(err)
	}
	req := store.Request{Scope: scope, Cost: store.Cost{Tokens: 5}}
	if g, err := s.Acquire(ctx, req); err != nil || !g.Allowed {
		t.Fatalf("first: %+v %v", g, err)
	}
	if got, want := client.HGet(ctx, hash, "p:old").Val(), "1000000 0 1800000060000000 1800000001000000"; got != want {
		t.Errorf("the old record after an Acquire: got %q, want %q (charged 1, still four fields)", got, want)
	}
	if g, err := s.Acquire(ctx, req); err != nil || g.Limit != "old" || g.Wait != time.Second {
		t.Errorf("second: got %+v %v, want refused by the old pace for 1s", g, err)
	}
}

// TestCooldownAtOfAnOlderWriter: a version of the store that did not know
// At replaces a cooldown's other fields and leaves cda; the cooldown it
// wrote has no At, not the one before it.
func TestCooldownAtOfAnOlderWriter(t *testing.T) {
	addr := testenv.Redis(t)
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	now := time.UnixMicro(1_800_000_000_000_000)
	s := redis.New(client, redis.Options{Prefix: "older:", Now: func() time.Time { return now }})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	const scope, hash = "acme/github/3fa9c0de", "older:{acme/github/3fa9c0de}:s"
	if _, err := s.SetCooldown(ctx, scope, store.Cooldown{Until: now.Add(time.Second), Status: 429, At: now}); err != nil {
		t.Fatal(err)
	}
	// What the older set_cooldown.lua wrote for a later cooldown.
	if err := client.HSet(ctx, hash, "cd", "1800000060000000", "cds", "503", "cdsrc", "", "cdh", "null").Err(); err != nil {
		t.Fatal(err)
	}
	cd, ok, err := s.Cooldown(ctx, scope)
	if err != nil || !ok || cd.Status != 503 || !cd.At.IsZero() {
		t.Fatalf("got %+v ok=%v err=%v, want the 503 without an At", cd, ok, err)
	}
}

// BenchmarkAcquire measures one Acquire at a time under one limit against a
// private redis-server on loopback: one EVALSHA round trip, through the
// pipeline (a lone command goes at once) and without it. The baseline in
// the same run is a PING, the least any round trip costs.
func BenchmarkAcquire(b *testing.B) {
	addr := testenv.Redis(b)
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	s := redis.New(client, redis.Options{})
	b.Cleanup(func() { _ = s.Close() })
	g, _ := limit.NewGCRA(1_000_000_000, time.Second, 1, 0)
	req := store.Request{Scope: "acme/github/3fa9c0de", Limits: []store.Limit{{Key: "0", GCRA: g}}}
	b.Run("ping", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := client.Ping(b.Context()).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("acquire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Acquire(b.Context(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
	// As before pipelining: the caller's goroutine makes the round trip.
	alone := redis.New(goredis.NewClient(&goredis.Options{Addr: addr}), redis.Options{Pipeline: 1})
	b.Cleanup(func() { _ = alone.Close() })
	b.Run("acquire_unpipelined", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := alone.Acquire(b.Context(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
