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
	t.Run("ContractDecide", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
			s := openCluster(t, raw, redis.Options{Prefix: "test:" + t.Name() + ":", Now: clock.Now})
			redis.DecideAlways(s)
			return s
		})
	})
	t.Run("ScopesSpreadAcrossNodes", func(t *testing.T) {
		testScopesSpread(t, nodes.Addrs(), raw)
	})
	t.Run("PipelinesAcrossNodes", func(t *testing.T) {
		testPipelinesAcrossNodes(t, nodes.Addrs())
	})
	t.Run("Blobs", func(t *testing.T) {
		testClusterBlobs(t, nodes.Addrs(), raw)
	})
}

// testPipelinesAcrossNodes sends one batch of admissions and then one of
// settlements and admissions whose scopes live on every node, and again
// after every node forgot its scripts.
func testPipelinesAcrossNodes(t *testing.T, addrs []string) {
	const scopes = 50
	client := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs, MaxRetries: -1})
	g := newGate()
	client.AddHook(g)
	s := redis.New(client, redis.Options{Prefix: "pipe:"})
	t.Cleanup(func() { _ = s.Close() })
	reqs := make([]store.Request, scopes)
	for i := range reqs {
		reqs[i] = perMinute(t, fmt.Sprintf("acme/github/%08x", uint32(i)*2654435761), 1)
	}
	// all makes every request at once, behind a round trip held in flight,
	// first settling each with delta, and checks each answer. Its first
	// Acquire meets NOSCRIPT when the nodes forgot their scripts; then the
	// batch's are loaded first, so that its settlements run before its
	// admissions.
	all := func(what string, delta int64, allowed bool) {
		t.Helper()
		mustAcquire(t, s, perMinute(t, "acme/github/warm", 1000), true) // scripts loaded
		release := g.hold()
		held := make(chan struct{})
		go func() { defer close(held); tryAcquire(t, s, perMinute(t, "acme/github/held", 1000), true) }()
		g.wait(t)
		before := s.Stats()
		var wg sync.WaitGroup
		for _, req := range reqs {
			if delta != 0 {
				if err := s.Settle(t.Context(), store.Settlement{Scope: req.Scope, Limits: req.Limits, Delta: store.Cost{Requests: delta}}); err != nil {
					t.Fatal(err)
				}
			}
			wg.Go(func() { tryAcquire(t, s, req, allowed) })
		}
		time.Sleep(50 * time.Millisecond)
		release()
		wg.Wait()
		<-held
		if trips := s.Stats().RoundTrips - before.RoundTrips; trips > 3 {
			t.Errorf("%s: %d round trips for %d admissions on every node, want 1 to 3", what, trips, scopes)
		}
	}
	all("first", 0, true)
	all("second", 0, false)
	all("after giving back", -1, true)
	err := client.ForEachMaster(t.Context(), func(ctx context.Context, master *goredis.Client) error {
		return master.ScriptFlush(ctx).Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	all("after SCRIPT FLUSH", -1, true)
	if st := s.Stats(); st.SettlesLost != 0 || st.Settles != 2*scopes {
		t.Errorf("stats %+v, want %d settlements sent, none lost", st, 2*scopes)
	}
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
