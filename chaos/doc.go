// Package chaos is heed's fault suite: heed under the failures it exists
// to survive, over loopback, with private processes and databases only.
// Its one non-test type is Proxy, a TCP proxy that makes the network
// between two programs slow, cut or refusing on command; the cases are
// its tests.
//
// The cases, each asserting no panic (in this process, and no "panic:",
// "fatal error:" or data race in any heed serve it starts, which is built
// with -race when the suite is), no request reaching the API inside a
// wait it had told after heed knew of the wait, no job lost, no callback
// twice for one job unless across a crash, and the goroutine count back
// to where it was:
//
//   - TestRedisKilledUnderLoad: in-process Transports and heed serve
//     processes share a private redis-server and one credential under
//     load; it is killed with SIGKILL in the middle of a wait they learned
//     through it, a wait is told while it is dead, it is restarted empty,
//     and a wait is told once they share again.
//   - TestRedisSlowAndCut: the same fleet through a Proxy that delays
//     Redis's replies by 50ms (within store/redis's 250ms timeout), then
//     400ms (beyond it: every member must fall back, and come back when
//     the delay goes), then cuts every connection mid-stream, twice.
//   - TestUpstreamFaults: an API that resets connections after reading the
//     request, or at connect (a Proxy refusing), never answers (beyond
//     Upstream.Timeout), answers 502 for a while, answers 503 with
//     Retry-After, or is cut mid-stream: retries within Retry.Attempts,
//     counted at the API; sends bounded by the breaker while the fault
//     lasts; service back after it.
//   - TestServeKilledSQLite, TestServeKilledPostgres: kill -9 of heed
//     serve working jobs, on SQLite (restarted on the same file) and on
//     PostgreSQL (two processes, one killed and restarted); every job
//     succeeds, reaches the API again only with its idempotency key and
//     only if it was running in the killed process, calls back; the jobs
//     left running are recovered within 15s of the kill (issue 11); a wait
//     told during the recovery is kept.
//
// Who knew of a wait when is measured, not guessed (ledger_test.go): the
// mock counts every arrival inside a wait it told exactly, each request
// names its sender in its path, every member is asked every 50ms whether
// its store is down, and each arrival is sorted as in flight (within the
// wait's grace of the told answer), could not know (its sender, or the
// member that got the answer, was cut off from the shared store) or after
// heed knew, which must be none.
//
// Forms and how to run them:
//
//	go test -race ./chaos/              # short form, about 80s; go test ./... runs it too
//	go test -race -tags chaos ./chaos/  # full form: bigger fleet, 3 kill cycles, longer faults
//	go test -short ./chaos/             # skips the cases (the Proxy's own tests run)
//
// ./scripts/test runs the short form as a step of its own, after the other
// tests (CHAOS=full for the full form, CHAOS_TIMEOUT to change its time
// budget). redis-server and PostgreSQL come from internal/testenv: a case
// skips without them, or fails under HEED_REQUIRE_SERVICES=1.
//
// Every case prints its figures (requests inside waits, jobs recovered,
// time to recovery, sends per fault) as rows of a Markdown table:
//
//	go test -race -v ./chaos/ | grep 'chaos figure' | sed 's/.*chaos figure //' | awk '!seen[$0]++'
package chaos
