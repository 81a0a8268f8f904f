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
	if err := s.SetPace(ctx, "acme/openai/1234abcd", store.Pace{Key: "tokens", GCRA: limit.GCRA{Interval: 1000}, Until: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	g2, err := s.Acquire(ctx, store.Request{Scope: "acme/github/ffff0000"})
	if err != nil || g2.Reason != store.ReasonCooldown || g2.Wait <= time.Second || g2.Wait > 2*time.Second {
		t.Fatalf("with the server's clock: got %+v %v, want a cooldown of about 2s", g2, err)
	}
	keys, err := client.Keys(ctx, "*").Result()
	if err != nil || len(keys) < 4 {
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

// BenchmarkAcquire measures one Acquire under one limit against a private
// redis-server on loopback: one EVALSHA round trip. The baseline in the same
// run is a PING, the least any round trip costs.
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
}
