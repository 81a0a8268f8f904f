package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// clusterSize is how many masters RedisCluster starts; no replicas.
	clusterSize = 3
	// clusterSlots is how many hash slots a Redis Cluster has.
	clusterSlots = 16384
	// clusterNodeTimeout is the nodes' cluster-node-timeout in milliseconds:
	// how long a node may be unreachable before the others count it failed.
	clusterNodeTimeout = 2000
	// clusterTimeout bounds "redis-cli --cluster create" and, separately,
	// the wait for every node to report a healthy cluster.
	clusterTimeout = 30 * time.Second
	// clusterPoll is how often RedisCluster asks the nodes whether the
	// cluster is ready.
	clusterPoll = 50 * time.Millisecond
)

// RedisClusterProcs is a private three-node Redis Cluster started by
// [RedisCluster]. It is safe for concurrent use.
type RedisClusterProcs struct {
	nodes []*RedisProc // the masters, in the order of their slot ranges
}

// RedisCluster starts a private Redis Cluster of three masters and no
// replicas, each a redis-server on free loopback ports in a directory of its
// own under the test's temporary directory, joins them with "redis-cli
// --cluster create" and returns once every node reports cluster_state:ok with
// all 16384 slots assigned. The first node serves slots 0-5460, the second
// 5461-10922, the third 10923-16383. Cleanups registered on t stop the three
// processes (those only, by PID) when the test ends. It skips or fails the
// test when redis-server or redis-cli is missing (see the package doc).
//
// Starting takes about two seconds: a new master waits two seconds after it
// starts before it reports the cluster ok.
func RedisCluster(t testing.TB) *RedisClusterProcs {
	t.Helper()
	cli := lookService(t, "redis-cli", redisCLIHint)
	c := &RedisClusterProcs{}
	for range clusterSize {
		c.nodes = append(c.nodes, startRedisProc(t, true))
	}
	if err := c.create(cli); err != nil {
		t.Fatalf("%v\n%s", err, c.diagnostics())
	}
	if err := c.waitReady(); err != nil {
		t.Fatalf("%v\n%s", err, c.diagnostics())
	}
	return c
}

// Addrs returns the nodes' addresses, "127.0.0.1:port", in the order of
// their slot ranges.
func (c *RedisClusterProcs) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// clusterArgs returns the redis-server arguments that make a cluster node
// whose cluster bus listens on busPort. The bus port is given, not the
// default client port + 10000, which is out of range for high free ports.
func clusterArgs(busPort int) []string {
	return []string{
		"--cluster-enabled", "yes",
		"--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", strconv.Itoa(clusterNodeTimeout),
		"--cluster-port", strconv.Itoa(busPort),
	}
}

// create joins the nodes into one cluster with redis-cli, which assigns the
// slots, sets distinct config epochs and introduces the nodes to each other.
func (c *RedisClusterProcs) create(cli string) error {
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("testenv: redis-cli --cluster create: %w\n%s", err, out)
	}
	return nil
}

// waitReady waits until every node reports a healthy cluster (see
// clusterReady). It gives up when a node exits or after clusterTimeout.
func (c *RedisClusterProcs) waitReady() error {
	deadline := time.Now().Add(clusterTimeout)
	for {
		err := c.ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testenv: Redis Cluster not ready within %v: %w", clusterTimeout, err)
		}
		time.Sleep(clusterPoll)
	}
}

// ready returns nil when every node is running and reports a healthy
// cluster, and otherwise what is not yet so.
func (c *RedisClusterProcs) ready() error {
	for _, n := range c.nodes {
		select {
		case <-n.proc.done:
			return fmt.Errorf("testenv: cluster node %s exited", n.Addr())
		default:
		}
		if err := clusterReady(n.Addr(), len(c.nodes)); err != nil {
			return err
		}
	}
	return nil
}

// clusterReady returns nil when the node at addr reports the cluster ok, all
// slots assigned and served, and size masters, all of which it knows.
func clusterReady(addr string, size int) error {
	info, err := command(addr, probeTimeout, "CLUSTER", "INFO")
	if err != nil {
		return err
	}
	want := [][2]string{
		{"cluster_state", "ok"},
		{"cluster_slots_assigned", strconv.Itoa(clusterSlots)},
		{"cluster_slots_ok", strconv.Itoa(clusterSlots)},
		{"cluster_known_nodes", strconv.Itoa(size)},
		{"cluster_size", strconv.Itoa(size)},
	}
	for _, w := range want {
		if got, _ := infoField(info, w[0]); got != w[1] {
			return fmt.Errorf("testenv: cluster node %s reports %s:%s, want %s", addr, w[0], got, w[1])
		}
	}
	return nil
}

// diagnostics returns every node's stderr and the end of its log.
func (c *RedisClusterProcs) diagnostics() string {
	var b strings.Builder
	for _, n := range c.nodes {
		fmt.Fprintf(&b, "node %s:\n%s\n", n.Addr(), n.diagnostics(n.proc))
	}
	return b.String()
}
