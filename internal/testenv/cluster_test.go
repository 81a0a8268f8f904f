package testenv

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func TestRedisClusterServesKeys(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := RedisCluster(t)
	t.Logf("cluster ready in %v", time.Since(start))
	addrs := c.Addrs()
	checkClusterAddrs(t, addrs)
	ctx := t.Context()
	client := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = client.Close() })
	checkSlotRanges(t, client, addrs)
	owners := map[int]bool{}
	for i := range 30 {
		key, value := fmt.Sprintf("key:%d", i), strconv.Itoa(i)
		if err := client.Set(ctx, key, value, time.Minute).Err(); err != nil {
			t.Fatalf("SET %s through the cluster client: %v", key, err)
		}
		if got, err := client.Get(ctx, key).Result(); err != nil || got != value {
			t.Fatalf("GET %s through the cluster client: got %q, %v; want %q", key, got, err, value)
		}
		slot, err := client.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		owner := slotOwner(slot)
		checkOwner(t, addrs, owner, key, value)
		owners[owner] = true
	}
	if len(owners) != len(addrs) {
		t.Errorf("keys landed on %d nodes, want all %d", len(owners), len(addrs))
	}
}

// checkClusterAddrs checks that addrs are distinct private loopback
// addresses and that every node reports a healthy cluster.
func checkClusterAddrs(t *testing.T, addrs []string) {
	t.Helper()
	if len(addrs) != clusterSize {
		t.Fatalf("Addrs: got %d, want %d", len(addrs), clusterSize)
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host != "127.0.0.1" || port == "6379" || seen[a] {
			t.Fatalf("Addrs() = %q, want distinct 127.0.0.1 addresses on private ports", addrs)
		}
		seen[a] = true
		if err := clusterReady(a, clusterSize); err != nil {
			t.Errorf("node %s: %v", a, err)
		}
	}
}

// slotRanges are the slots of each node, in the order of Addrs.
var slotRanges = [clusterSize][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}

// slotOwner returns the index in Addrs of the node that serves slot.
func slotOwner(slot int64) int {
	for i, r := range slotRanges {
		if int(slot) >= r[0] && int(slot) <= r[1] {
			return i
		}
	}
	return -1
}

// checkSlotRanges checks that the cluster reports slotRanges, each served by
// the node at the same index of addrs.
func checkSlotRanges(t *testing.T, client *goredis.ClusterClient, addrs []string) {
	t.Helper()
	slots, err := client.ClusterSlots(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int{}
	for _, s := range slots {
		if len(s.Nodes) != 1 {
			t.Errorf("slots %d-%d: got %d nodes, want one master and no replica", s.Start, s.End, len(s.Nodes))
			continue
		}
		got[s.Nodes[0].Addr] = [2]int{s.Start, s.End}
	}
	for i, a := range addrs {
		if got[a] != slotRanges[i] {
			t.Errorf("node %d (%s) serves slots %v, want %v", i, a, got[a], slotRanges[i])
		}
	}
}

// checkOwner checks that key holds value on node owner, asked directly, and
// that every other node redirects to it with MOVED.
func checkOwner(t *testing.T, addrs []string, owner int, key, value string) {
	t.Helper()
	for i, a := range addrs {
		node := goredis.NewClient(&goredis.Options{Addr: a})
		got, err := node.Get(t.Context(), key).Result()
		_ = node.Close()
		switch {
		case i == owner && (err != nil || got != value):
			t.Errorf("GET %s on its node %s: got %q, %v; want %q", key, a, got, err, value)
		case i != owner && (err == nil || !strings.HasPrefix(err.Error(), "MOVED ")):
			t.Errorf("GET %s on node %s, which does not own it: got %q, %v; want a MOVED error", key, a, got, err)
		}
	}
}

func TestRedisClusterStopsOnCleanup(t *testing.T) {
	t.Parallel()
	var addrs []string
	var pids []int
	t.Run("Cluster", func(t *testing.T) {
		addrs = RedisCluster(t).Addrs()
		for _, a := range addrs {
			pids = append(pids, pidOf(t, a))
		}
	})
	if len(pids) != clusterSize {
		t.Fatalf("got %d node pids, want %d", len(pids), clusterSize)
	}
	for i, a := range addrs {
		if conn, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			conn.Close()
			t.Errorf("dial %s after cleanup: got a connection, want the port closed", a)
		}
		if err := syscall.Kill(pids[i], 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("signal 0 to node pid %d after cleanup: got %v, want ESRCH", pids[i], err)
		}
	}
}

// TestClusterNodeBusPortTaken checks that a node whose cluster bus port is
// taken fails with errPortTaken, so that RedisCluster tries other ports.
func TestClusterNodeBusPortTaken(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	p := &RedisProc{
		bin:     lookService(t, "redis-server", redisHint),
		dir:     t.TempDir(),
		addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		cluster: true,
		busPort: taken.Addr().(*net.TCPAddr).Port,
	}
	if err := p.start(); !errors.Is(err, errPortTaken) {
		if err == nil {
			_ = p.stop()
		}
		t.Fatalf("start with the bus port taken: got %v, want errPortTaken", err)
	}
}

func TestFreePortsAreDistinct(t *testing.T) {
	t.Parallel()
	ports, err := freePorts(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] || p == 0 {
			t.Fatalf("freePorts(8) = %v, want 8 distinct ports", ports)
		}
		seen[p] = true
	}
}
