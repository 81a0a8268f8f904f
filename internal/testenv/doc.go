// Package testenv starts the external services heed's tests need as
// private processes owned by one test.
//
// [Redis] and [RedisServer] start a redis-server of their own on a free
// loopback port, in the test's temporary directory, with persistence off,
// and stop exactly that process (by PID, never by name) when the test ends.
// They never connect to, reuse or stop any other Redis, such as one already
// listening on the default port 6379: a freshly started server only counts as
// ready once it answers PING and reports its own process ID.
//
// [RedisCluster] starts three such servers as Redis Cluster nodes (each with
// its own directory, client port and cluster bus port), joins them with
// "redis-cli --cluster create" into three masters without replicas, and
// returns once every node reports the cluster ok with all 16384 slots
// assigned, about two seconds after it began. It stops the three processes
// the same way.
//
// [Chromium] returns the path of the chromium binary for browser tests; it
// starts nothing, the test starts its own headless browser and stops it.
//
// When redis-server (or, for a cluster, redis-cli, or for a browser test,
// chromium) is not on PATH the helpers skip the test with a message saying
// how to install it, so a bare "go test ./..." passes on a machine without
// it. Under ./scripts/test, which installs redis-server and chromium when
// missing and sets HEED_REQUIRE_SERVICES=1, a missing binary fails the test
// instead.
//
// [ArtifactDir] is where a test keeps files for people to look at after the
// run, such as screenshots: the directory HEED_ARTIFACTS names (./scripts/test
// sets it to artifacts/), else the test's temporary directory.
//
// When another process takes a picked port before redis-server binds it, the
// helpers try again on other ports, a few times.
//
// The helpers speak just enough RESP over a net.Conn to check readiness; tests
// that need a client use the store's own.
package testenv
