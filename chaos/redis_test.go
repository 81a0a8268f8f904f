package chaos

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/mockapi"
)

// The shared store in trouble: a private redis-server killed with SIGKILL
// and restarted empty, or made slow and cut by a Proxy, under load from
// in-process Transports and heed serve processes that share it and one
// credential, with waits the mock tells before, during and after each
// fault. Every member must keep to every wait it knew of (ledger_test.go),
// answer every caller with a 200 (on_store_error: open, on_limit: wait),
// fall back to its memory while the store is away and share again once it
// is back.

// startFleetMock starts the mock the fleet sends to, without a limit of
// its own (heed's configured limit paces the fleet; the mock's waits are
// the forced ones), keeping every request in its log.
func startFleetMock(t *testing.T) (*mockapi.Server, string) {
	t.Helper()
	m, err := mockapi.New(mockapi.Config{LogSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv.URL
}

// startFleet starts suite.transports Transports and suite.serves heed
// serve processes on the Redis at storeAddr.
func startFleet(t *testing.T, storeAddr, mockURL string) []*member {
	t.Helper()
	var members []*member
	for i := range suite.transports {
		members = append(members, newTransportMember(t, fmt.Sprintf("transport-%d", i+1), storeAddr, mockURL, suite.limit))
	}
	dir := t.TempDir()
	for i := range suite.serves {
		members = append(members, newServeMember(t, fmt.Sprintf("serve-%d", i+1), dir, storeAddr, mockURL, suite.limit))
	}
	return members
}

// fleetRun is a fleet under load, watched.
type fleetRun struct {
	t       *testing.T
	f       *figures
	m       *mockapi.Server
	members []*member
	load    *load
	samp    *sampler
	waits   []told
	marks   []mark
	// redisLogs is redisLogLines when the run started.
	redisLogs int64
}

// mark is a moment of a case, for the figures of requests per stretch.
type mark struct {
	name string
	at   time.Time
}

// startFleetRun starts the load and the sampler and waits until every
// member shares the store.
func startFleetRun(t *testing.T, f *figures, m *mockapi.Server, members []*member) *fleetRun {
	t.Helper()
	r := &fleetRun{t: t, f: f, m: m, members: members, samp: startSampler(members), redisLogs: redisLogLines.Load()}
	r.load = startLoad(members, suite.workers)
	r.samp.waitAll(t, 10*time.Second, false)
	r.mark("no fault, no wait")
	time.Sleep(time.Second)
	return r
}

// mark notes the start of a stretch.
func (r *fleetRun) mark(name string) { r.marks = append(r.marks, mark{name, time.Now()}) }

// force tells a wait (status 429) to whichever member sends next.
func (r *fleetRun) force(phase string, grace time.Duration) told {
	r.t.Helper()
	w := forceWait(r.t, r.m, phase, http.StatusTooManyRequests, suite.wait, grace)
	r.waits = append(r.waits, w)
	return w
}

// finish stops the load and the sampler, closes the members and checks
// the run: every answer a 200, no request inside a wait after heed knew.
func (r *fleetRun) finish() {
	r.t.Helper()
	r.mark("end")
	tallies := r.load.stop()
	samples, failed := r.samp.stop()
	for _, m := range r.members {
		m.close()
	}
	checkTallies(r.t, tallies)
	for name, n := range failed {
		r.f.add("all", "questions to "+name+" about its store that failed", "%d", n)
	}
	checkWaits(r.t, r.f, r.m, r.waits, samples)
	r.stretchFigures()
	r.redisLogFigures()
}

// redisLogFigures adds how many lines go-redis wrote past heed's logger,
// in this process (see redisLogLines) and in each heed serve's stderr.
func (r *fleetRun) redisLogFigures() {
	first := ""
	if p := redisLogFirst.Load(); p != nil {
		first = ": " + *p
	}
	r.f.add("all", "go-redis log lines past heed's Logger, Transports in this process", "%d%s", redisLogLines.Load()-r.redisLogs, first)
	for _, m := range r.members {
		if m.proc != nil {
			r.f.add("all", "go-redis log lines on the stderr of "+m.name, "%d", strings.Count(m.proc.stderr.String(), "redis: connection pool:"))
		}
	}
}

// stretchFigures adds the requests the mock got in each stretch between
// two marks, and their rate.
func (r *fleetRun) stretchFigures() {
	log := r.m.Log()
	for i := 0; i+1 < len(r.marks); i++ {
		from, to := r.marks[i].at, r.marks[i+1].at
		n := 0
		for _, e := range log {
			if !e.Time.Before(from) && e.Time.Before(to) {
				n++
			}
		}
		r.f.add(r.marks[i].name, "requests at the API (limit "+strconv.FormatInt(suite.limit, 10)+"/s)", "%d in %v, %.1f/s",
			n, to.Sub(from).Round(time.Millisecond), float64(n)/to.Sub(from).Seconds())
	}
}

// sleepUntil sleeps until t.
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// afterWait is how long after a wait ends the next one is told, so that
// no two overlap.
const afterWait = 300 * time.Millisecond

// TestRedisKilledUnderLoad kills the fleet's redis-server with SIGKILL
// in the middle of a wait the members learned through it (they must keep
// to it from memory), tells another wait while it is dead (the member
// that got it keeps to it, and writes it back when Redis returns empty, so
// that every member keeps to it from then on), restarts it, and tells a
// third once the fleet shares again.
func TestRedisKilledUnderLoad(t *testing.T) {
	skipShort(t)
	f := newFigures(t)
	checkGoroutines(t, f)
	srv := testenv.RedisServer(t)
	m, mockURL := startFleetMock(t)
	r := startFleetRun(t, f, m, startFleet(t, srv.Addr(), mockURL))
	for cycle := 1; cycle <= suite.cycles; cycle++ {
		p := fmt.Sprintf("cycle %d: ", cycle)
		r.mark(p + "Redis up")
		w := r.force(p+"told before the kill", baseGrace)
		sleepUntil(w.at.Add(suite.wait / 2))
		killed := killRedis(t, srv)
		r.mark(p + "Redis killed")
		f.add(p+"kill", "every member on its fallback after", "%v", r.samp.waitAll(t, 5*time.Second, true).Round(time.Millisecond))
		sleepUntil(w.end().Add(afterWait))
		w = r.force(p+"told while Redis is dead", baseGrace)
		sleepUntil(w.at.Add(suite.wait / 2))
		srv.Start(t)
		r.mark(p + "Redis restarted")
		f.add(p+"restart", "Redis dead for", "%v", time.Since(killed).Round(time.Millisecond))
		f.add(p+"restart", "every member sharing again after", "%v", r.samp.waitAll(t, 10*time.Second, false).Round(time.Millisecond))
		sleepUntil(w.end().Add(afterWait))
		r.mark(p + "Redis back")
		w = r.force(p+"told after the restart", baseGrace)
		sleepUntil(w.end().Add(afterWait))
	}
	r.finish()
}

// TestRedisSlowAndCut puts a Proxy between the fleet and its
// redis-server and makes it slow within the store's timeout (50ms: the
// fleet keeps sharing), then beyond it (400ms, the timeout being 250ms:
// every member falls back, and comes back when the delay goes), then cuts
// every connection, twice, mid-stream; a wait is told in each stretch.
func TestRedisSlowAndCut(t *testing.T) {
	skipShort(t)
	f := newFigures(t)
	checkGoroutines(t, f)
	srv := testenv.RedisServer(t)
	px := newProxy(t, srv.Addr())
	m, mockURL := startFleetMock(t)
	r := startFleetRun(t, f, m, startFleet(t, px.Addr(), mockURL))

	const slow, slower = 50 * time.Millisecond, 400 * time.Millisecond
	px.SetDelay(slow)
	r.mark("50ms slower")
	slowFrom := time.Now()
	time.Sleep(500 * time.Millisecond)
	w := r.force("50ms slower", baseGrace+2*slow)
	sleepUntil(w.end().Add(afterWait))
	if down := r.samp.downBetween(slowFrom, time.Now()); len(down) > 0 {
		t.Errorf("50ms slower, within the store's timeout: members said their store was down (answers by member): %v", down)
	}

	px.SetDelay(slower)
	r.mark("400ms slower")
	f.add("400ms slower", "every member on its fallback after", "%v", r.samp.waitAll(t, 5*time.Second, true).Round(time.Millisecond))
	w = r.force("400ms slower", baseGrace)
	sleepUntil(w.at.Add(suite.wait / 2))
	px.SetDelay(0)
	r.mark("delay removed")
	f.add("delay removed", "every member sharing again after", "%v", r.samp.waitAll(t, 10*time.Second, false).Round(time.Millisecond))
	sleepUntil(w.end().Add(afterWait))

	r.mark("connections cut")
	cut := px.Drop()
	w = r.force("connections cut", baseGrace)
	sleepUntil(w.at.Add(suite.wait / 3))
	cut += px.Drop()
	f.add("connections cut", "connections cut (twice)", "%d", cut)
	sleepUntil(w.end().Add(afterWait))
	f.add("connections cut", "every member sharing again after", "%v", r.samp.waitAll(t, 10*time.Second, false).Round(time.Millisecond))

	r.mark("Redis fine")
	w = r.force("Redis fine", baseGrace)
	sleepUntil(w.end().Add(afterWait))
	r.finish()
	st := px.Stats()
	f.add("all", "proxy: connections accepted / cut", "%d / %d", st.Accepted, st.Dropped)
}

// killRedis kills the private redis-server at srv with SIGKILL, by the
// process id it reports itself, and returns when. The RedisProc is then
// told to forget it (Stop on a dead process returns at once), so that
// Start can bring it back on the same port, empty.
func killRedis(t *testing.T, srv *testenv.RedisProc) time.Time {
	t.Helper()
	pid := redisPID(t, srv.Addr())
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	_, port, _ := net.SplitHostPort(srv.Addr())
	if !strings.Contains(string(cmdline), "redis-server") || !strings.Contains(string(cmdline), port) {
		t.Fatalf("pid %d (%q) is not the private redis-server on port %s", pid, cmdline, port)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	at := time.Now()
	srv.Stop(t)
	return at
}

// redisPID asks the redis-server at addr for its process id (INFO server).
func redisPID(t *testing.T, addr string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("INFO server\r\n")); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	head, err := rd.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		t.Fatalf("INFO server: %q %v", head, err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(head[1:]))
	body := make([]byte, n)
	if _, err := io.ReadFull(rd, body); err != nil {
		t.Fatalf("INFO server: %v", err)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, err := strconv.Atoi(v)
			if err == nil {
				return pid
			}
		}
	}
	t.Fatalf("INFO server names no process_id:\n%s", body)
	return 0
}
