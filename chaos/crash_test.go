package chaos

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
)

// kill -9 of heed serve with jobs: on SQLite (one process, restarted on
// the same file) and on PostgreSQL (two processes sharing a queue and a
// Redis; one killed, then restarted). Every job submitted must succeed,
// each reaching the API as a success once, or again only with its
// idempotency key when it was running in the killed process; every job
// must call back (a job id twice only across the crash); the jobs the
// killed process was running must run again within recoverWithin of the
// kill; and a wait the API tells during the recovery must be kept.

const (
	// recoverWithin is issue 11's target: a job left running by a process
	// that died runs again, and here finishes, within 15s of its death.
	recoverWithin = 15 * time.Second
	// finishWithin bounds the wait for every job after the kill: long
	// enough to measure the recovery when it misses the target (River's
	// rescuer alone takes job_timeout + 15s, found every 30s).
	finishWithin = 150 * time.Second
	// jobsPollEvery is how often the cases read the queue while waiting.
	jobsPollEvery = 250 * time.Millisecond
	// jobsWait is the wait the API tells during the recovery: shorter than
	// jobs.snooze_after (2s), so that the jobs wait in their workers. A
	// longer wait snoozes them, and a snoozed job goes behind every job
	// scheduled before its wait ends: the recovered jobs would finish
	// behind the whole backlog, which is the backlog's time, not the
	// recovery's.
	jobsWait = time.Second
)

// crash is one crash case under way.
type crash struct {
	t        *testing.T
	f        *figures
	m        *mockapi.Server
	mockURL  string
	recv     *receiver
	jc       *jobsClient
	ids      []int64
	killedAt time.Time
	atKill   int // requests the mock had accepted at the kill
}

// newCrash starts the mock and the callback receiver of a crash case.
func newCrash(t *testing.T, f *figures) *crash {
	t.Helper()
	m, url := startFleetMock(t)
	return &crash{t: t, f: f, m: m, mockURL: url, recv: startReceiver(t), jc: newJobsClient(t)}
}

// kill waits until the mock has accepted suite.killAfter requests, kills
// p with SIGKILL and notes when; the kill must land mid-way.
func (c *crash) kill(p *serveProc) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for c.m.Stats().Total.Accepted < suite.killAfter {
		if time.Now().After(deadline) {
			c.t.Fatalf("the mock accepted %d requests in 60s, want %d before the kill", c.m.Stats().Total.Accepted, suite.killAfter)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.kill(c.t)
	c.killedAt = time.Now()
	c.atKill = c.m.Stats().Total.Accepted
	if c.atKill >= suite.jobs {
		c.t.Fatalf("the mock had accepted %d requests at the kill: it came after the work, not mid-way", c.atKill)
	}
}

// waitDone waits, up to finishWithin after the kill, until every job has
// succeeded and called back, reading the queue through base; it returns
// how long after the kill that was.
func (c *crash) waitDone(base string) time.Duration {
	c.t.Helper()
	for {
		succeeded := 0
		for _, j := range c.jc.list(base) {
			if j.State == jobs.StateSucceeded {
				succeeded++
			}
		}
		got, _ := c.recv.deliveries()
		if succeeded == suite.jobs && len(got) >= suite.jobs {
			return time.Since(c.killedAt)
		}
		if time.Since(c.killedAt) > finishWithin {
			c.t.Fatalf("%v after the kill: %d of %d jobs succeeded, %d called back", finishWithin, succeeded, suite.jobs, len(got))
		}
		time.Sleep(jobsPollEvery)
	}
}

// check checks the end of a crash case, the queue read through base, done
// being how long after the kill every job was done and w the wait told
// during the recovery.
func (c *crash) check(base string, done time.Duration, w told) {
	c.t.Helper()
	all := c.jc.list(base)
	byID := make(map[int64]jobs.Job, len(all))
	for _, j := range all {
		byID[j.ID] = j
	}
	lost, orphans, recovered, keyOf := 0, 0, 0, make(map[string]jobs.Job, len(c.ids))
	var lastOrphan, lastOrphanCallback time.Duration
	got, _ := c.recv.deliveries()
	for n, id := range c.ids {
		j, ok := byID[id]
		keyOf[jobIdempotencyKey(n)] = j
		succeeded := ok && j.State == jobs.StateSucceeded && j.Response != nil && j.Response.Status == http.StatusOK
		if !succeeded {
			lost++
			c.t.Errorf("job %d (id %d): %+v, want it succeeded with a 200", n, id, j)
		}
		if j.Attempts <= 1 {
			continue
		}
		orphans++ // it was running in the killed process
		if succeeded {
			recovered++
			lastOrphan = max(lastOrphan, j.FinishedAt.Sub(c.killedAt))
		}
		if at := got[id]; len(at) > 0 {
			lastOrphanCallback = max(lastOrphanCallback, at[len(at)-1].Sub(c.killedAt))
		}
	}
	if len(all) != suite.jobs {
		c.t.Errorf("the queue lists %d jobs, want the %d submitted", len(all), suite.jobs)
	}
	if orphans == 0 {
		c.t.Errorf("no job ran twice: the kill left none running, so nothing was recovered")
	}
	if lastOrphan > recoverWithin {
		c.t.Errorf("the last job left running by the killed process finished %v after the kill, want within %v (issue 11)",
			lastOrphan.Round(time.Millisecond), recoverWithin)
	}
	resent := c.checkAPIView(keyOf)
	dups, most := c.checkCallbacks(byID)
	checkWaits(c.t, c.f, c.m, []told{w}, nil)
	c.f.add("all", "jobs submitted / accepted by the API at the kill", "%d / %d", suite.jobs, c.atKill)
	c.f.add("all", "jobs left running by the killed process / recovered; jobs lost", "%d / %d; %d", orphans, recovered, lost)
	c.f.add("all", "kill to the last recovered job finished (target 15s)", "%v", lastOrphan.Round(time.Millisecond))
	c.f.add("all", "kill to its callback", "%v", lastOrphanCallback.Round(time.Millisecond))
	c.f.add("all", "kill to every job done and called back", "%v", done.Round(time.Millisecond))
	c.f.add("all", "jobs whose request reached the API again (same idempotency key)", "%d", resent)
	c.f.add("all", "jobs called back more than once (the most deliveries of one)", "%d (%d)", dups, most)
}

// checkAPIView checks the jobs from the API's side: every request carried
// its job's idempotency key; every job's request succeeded at the API, and
// more than once only for a job that ran again. It returns how many jobs'
// requests succeeded more than once.
func (c *crash) checkAPIView(keyOf map[string]jobs.Job) int {
	c.t.Helper()
	ok := make(map[string]int)
	for _, e := range c.m.Log() {
		if _, known := keyOf[e.IdempotencyKey]; !known || !strings.HasPrefix(e.Path, "/jobs/") {
			c.t.Errorf("a request at the API without a job's idempotency key: %s %s key %q", e.Method, e.Path, e.IdempotencyKey)
			continue
		}
		if e.Status >= 200 && e.Status < 300 {
			ok[e.IdempotencyKey]++
		}
	}
	resent := 0
	for key, j := range keyOf {
		switch n := ok[key]; {
		case n == 0:
			c.t.Errorf("job %s (id %d) never succeeded at the API", key, j.ID)
		case n > 1 && j.Attempts <= 1:
			c.t.Errorf("job %s (id %d) succeeded %d times at the API, but ran once", key, j.ID, n)
		case n > 1:
			resent++
		}
	}
	return resent
}

// checkCallbacks checks the callbacks: each well signed, of a submitted
// job, every job called back, and one job more than once only across the
// crash (the documented at-least-once): a job that ran again, or whose
// deliveries came both before and after the kill (a callback in flight
// then). It returns how many jobs called back more than once, and the
// most deliveries of one job.
func (c *crash) checkCallbacks(byID map[int64]jobs.Job) (dups, most int) {
	c.t.Helper()
	got, problems := c.recv.deliveries()
	for _, p := range problems {
		c.t.Errorf("a bad callback: %s", p)
	}
	for _, id := range c.ids {
		if len(got[id]) == 0 {
			c.t.Errorf("job %d never called back", id)
		}
	}
	for id, at := range got {
		j, submitted := byID[id]
		if !submitted {
			c.t.Errorf("a callback for job %d, which was not submitted", id)
		}
		most = max(most, len(at))
		if len(at) < 2 {
			continue
		}
		dups++
		across := at[0].Before(c.killedAt) && at[len(at)-1].After(c.killedAt)
		if j.Attempts <= 1 && !across {
			c.t.Errorf("job %d, run once, called back %d times, all %s the kill: a duplicate not explained by the crash",
				id, len(at), map[bool]string{true: "before", false: "after"}[at[len(at)-1].Before(c.killedAt)])
		}
	}
	return dups, most
}

// TestServeKilledSQLite: heed serve with jobs on SQLite is killed with
// SIGKILL mid-way and restarted at once on the same database; the API
// tells a wait while the restarted process recovers.
func TestServeKilledSQLite(t *testing.T) {
	skipShort(t)
	f := newFigures(t)
	checkGoroutines(t, f)
	c := newCrash(t, f)
	dir := t.TempDir()
	cfg := jobsServeConfig("", c.mockURL, "sqlite://"+filepath.Join(dir, "jobs.db"), c.recv.url)
	first := startServe(t, "first", dir, cfg)
	c.ids = c.jc.submit(first.url, c.recv.url)
	c.kill(first)
	second := startServe(t, "restarted", dir, cfg)
	f.add("all", "kill to the restarted process listening", "%v", time.Since(c.killedAt).Round(time.Millisecond))
	w := forceWait(t, c.m, "told during the recovery", http.StatusTooManyRequests, jobsWait, baseGrace)
	done := c.waitDone(second.url)
	c.check(second.url, done, w)
}

// TestServeKilledPostgres: two heed serve processes work one queue on
// PostgreSQL and pace through one Redis; one is killed with SIGKILL
// mid-way and restarted a second later; the API tells a wait during the
// recovery, which all must keep.
func TestServeKilledPostgres(t *testing.T) {
	skipShort(t)
	f := newFigures(t)
	checkGoroutines(t, f)
	database := testenv.Postgres(t)
	redis := testenv.RedisServer(t)
	c := newCrash(t, f)
	dir := t.TempDir()
	shared := fmt.Sprintf("store: redis://%s/0\nfingerprint_secret: %s\n", redis.Addr(), fleetSecret)
	cfg := jobsServeConfig(shared, c.mockURL, database, c.recv.url)
	victim, survivor := startServe(t, "victim", dir, cfg), startServe(t, "survivor", dir, cfg)
	c.ids = c.jc.submit(victim.url, c.recv.url)
	c.kill(victim)
	time.Sleep(time.Second)
	startServe(t, "victim-restarted", dir, cfg)
	w := forceWait(t, c.m, "told during the recovery", http.StatusTooManyRequests, jobsWait, baseGrace)
	done := c.waitDone(survivor.url)
	c.check(survivor.url, done, w)
}
