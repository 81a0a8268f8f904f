package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/redis"
)

// TestHeartbeatCountsLiveMembers steps a fake clock through members joining,
// beating, going silent and leaving.
func TestHeartbeatCountsLiveMembers(t *testing.T) {
	addr := testenv.Redis(t)
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	s := redis.New(client, redis.Options{Prefix: "pres:", Now: func() time.Time { return now }})
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	const ttl = 15 * time.Second
	steps := []struct {
		at     time.Duration // since the start
		group  string
		member string
		ttl    time.Duration
		want   int
	}{
		{0, "acme/github", "a", ttl, 1},
		{time.Second, "acme/github", "b", ttl, 2},
		{2 * time.Second, "acme/github", "c", ttl, 3},
		{2 * time.Second, "acme/openai", "a", ttl, 1},  // groups are apart
		{3 * time.Second, "acme/github", "a", ttl, 3},  // a beat again: still 3
		{12 * time.Second, "acme/github", "c", 0, 2},   // c left cleanly
		{16 * time.Second, "acme/github", "a", ttl, 1}, // b fell silent at 16s
		{16 * time.Second, "acme/github", "b", ttl, 2}, // and came back
	}
	start := now
	for i, st := range steps {
		now = start.Add(st.at)
		got, err := s.Heartbeat(ctx, st.group, st.member, st.ttl)
		if err != nil || got != st.want {
			t.Fatalf("step %d (%s %s at +%v): got %d %v, want %d", i, st.group, st.member, st.at, got, err, st.want)
		}
	}
	keys := client.Keys(ctx, "pres:*").Val()
	if len(keys) != 2 {
		t.Fatalf("keys %v, want one per group", keys)
	}
	for _, k := range keys {
		if client.PTTL(ctx, k).Val() <= 0 {
			t.Errorf("key %q has no TTL", k)
		}
	}
}

func TestHeartbeatBadInputAndClosed(t *testing.T) {
	addr := testenv.Redis(t)
	s := redis.New(goredis.NewClient(&goredis.Options{Addr: addr}), redis.Options{})
	if _, err := s.Heartbeat(context.Background(), "", "a", time.Second); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty group: %v, want store.ErrInvalid", err)
	}
	if _, err := s.Heartbeat(context.Background(), "g", "", time.Second); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty member: %v, want store.ErrInvalid", err)
	}
	if n, err := s.Heartbeat(context.Background(), "g", "a", time.Second); err != nil || n != 1 {
		t.Errorf("with the server's clock: %d %v, want 1", n, err)
	}
	_ = s.Close()
	if _, err := s.Heartbeat(context.Background(), "g", "a", time.Second); !errors.Is(err, store.ErrClosed) {
		t.Errorf("after Close: %v, want store.ErrClosed", err)
	}
}
