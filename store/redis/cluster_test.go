package redis_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/redis"
	"github.com/heedhq/heed/store/storetest"
)

// clusterTimeout is the store's command timeout in these tests: generous,
// since the race detector and parallel tests slow loopback round trips.
const clusterTimeout = 2 * time.Second

// TestCluster runs the store against a private three-node Redis Cluster,
// opened from a redis-cluster:// URL. Its subtests share the cluster and keep
// apart by key prefix.
func TestCluster(t *testing.T) {
	t.Parallel()
	nodes := testenv.RedisCluster(t)
	raw := "redis-cluster://" + strings.Join(nodes.Addrs(), ",")
	t.Run("Contract", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
			return openCluster(t, raw, redis.Options{Prefix: "test:" + t.Name() + ":", Now: clock.Now})
		})
	})
	t.Run("ScopesSpreadAcrossNodes", func(t *testing.T) {
		testScopesSpread(t, nodes.Addrs(), raw)
	})
}

// openCluster opens the store at raw and fails t if it cannot.
func openCluster(t *testing.T, raw string, opts redis.Options) *redis.Store {
	t.Helper()
	opts.Timeout = clusterTimeout
	s, err := redis.Open(raw, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", raw, err)
	}
	return s
}

// testScopesSpread acquires on many scopes, whose hash tags fall into slots
// of every node, and checks that each scope's state works and that its keys
// share one slot, so that the scripts can touch them together.
func testScopesSpread(t *testing.T, addrs []string, raw string) {
	const scopes = 50
	prefix := "spread:"
	s := openCluster(t, raw+"?prefix="+url.QueryEscape(prefix), redis.Options{})
	t.Cleanup(func() { _ = s.Close() })
	g, err := limit.NewGCRA(1, time.Minute, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range scopes {
		req := store.Request{
			// Fingerprint-like scopes, as the Transport makes them.
			Scope:       fmt.Sprintf("acme/github/%08x", uint32(i)*2654435761),
			Limits:      []store.Limit{{Key: "0", GCRA: g}},
			Concurrency: 5,
		}
		if got, err := s.Acquire(t.Context(), req); err != nil || !got.Allowed {
			t.Fatalf("first Acquire on %s: got %+v, %v; want allowed", req.Scope, got, err)
		}
		if got, err := s.Acquire(t.Context(), req); err != nil || got.Reason != store.ReasonLimit {
			t.Fatalf("second Acquire on %s: got %+v, %v; want refused by the limit", req.Scope, got, err)
		}
	}
	client := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = client.Close() })
	nodeOf := keysByNode(t, client, prefix)
	checkSpread(t, client, nodeOf, scopes, len(addrs))
}

// keysByNode returns every key starting with prefix, each with the address
// of the master that holds it.
func keysByNode(t *testing.T, client *goredis.ClusterClient, prefix string) map[string]string {
	t.Helper()
	var mu sync.Mutex // guards nodeOf
	nodeOf := map[string]string{}
	err := client.ForEachMaster(t.Context(), func(ctx context.Context, master *goredis.Client) error {
		keys, err := master.Keys(ctx, prefix+"*").Result()
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			nodeOf[k] = master.Options().Addr
		}
		return nil
	})
	if err != nil {
		t.Fatalf("KEYS on every master: %v", err)
	}
	return nodeOf
}

// checkSpread checks that the keys of each of want scopes are two, on one
// node and in one slot, and that the scopes are spread over all nodes.
func checkSpread(t *testing.T, client *goredis.ClusterClient, nodeOf map[string]string, want, nodes int) {
	t.Helper()
	byScope := map[string][]string{}
	for k := range nodeOf {
		tag, _, _ := strings.Cut(k, "}")
		byScope[tag] = append(byScope[tag], k)
	}
	if len(byScope) != want {
		t.Fatalf("keys of %d scopes, want %d: %v", len(byScope), want, nodeOf)
	}
	used := map[string]bool{}
	for tag, keys := range byScope {
		if len(keys) != 2 {
			t.Errorf("scope %s}: got keys %q, want its hash and lease set", tag, keys)
			continue
		}
		a, b := slotOf(t, client, keys[0]), slotOf(t, client, keys[1])
		if a != b || nodeOf[keys[0]] != nodeOf[keys[1]] {
			t.Errorf("scope %s}: keys in slots %d and %d on %s and %s, want one slot", tag, a, b, nodeOf[keys[0]], nodeOf[keys[1]])
		}
		used[nodeOf[keys[0]]] = true
	}
	if len(used) != nodes {
		t.Errorf("scopes on %d nodes, want all %d", len(used), nodes)
	}
}

// slotOf returns the cluster slot of key.
func slotOf(t *testing.T, client *goredis.ClusterClient, key string) int64 {
	t.Helper()
	slot, err := client.ClusterKeySlot(t.Context(), key).Result()
	if err != nil {
		t.Fatalf("CLUSTER KEYSLOT %s: %v", key, err)
	}
	return slot
}
