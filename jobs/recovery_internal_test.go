package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/heedhq/heed/internal/testenv"
)

func TestPulse(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	const gap, settle = 5 * time.Second, 5 * time.Second
	tests := []struct {
		name  string
		beats []time.Duration // sent at t0 + each
		now   time.Duration
		want  bool
	}{
		{"NeverBeat", nil, 0, false},
		{"JustStarted", []time.Duration{0}, time.Second, false},
		{"SettledAndFresh", []time.Duration{0, 2 * time.Second, 4 * time.Second, 6 * time.Second}, 7 * time.Second, true},
		{"SettledButLastBeatOld", []time.Duration{0, 2 * time.Second, 4 * time.Second, 6 * time.Second}, 12 * time.Second, false},
		{"BrokenRunStartsAgain", []time.Duration{0, 2 * time.Second, 20 * time.Second, 22 * time.Second}, 23 * time.Second, false},
		{"BrokenRunSettlesAgain", []time.Duration{0, 2 * time.Second, 20 * time.Second, 22 * time.Second, 24 * time.Second}, 25 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p pulse
			for _, b := range tt.beats {
				p = p.beat(at(b), gap)
			}
			if got := p.steady(at(tt.now), gap, settle); got != tt.want {
				t.Errorf("steady after beats %v at %v: got %v, want %v (pulse %+v)", tt.beats, tt.now, got, tt.want, p)
			}
		})
	}
}

func TestProcessID(t *testing.T) {
	t.Parallel()
	a, b := processID(), processID()
	if re := regexp.MustCompile(`^heed_[0-9]{8}T[0-9]{6}_[0-9a-f]{12}$`); !re.MatchString(a) || a == b {
		t.Errorf("processID: got %q and %q, want two distinct heed_<time>_<12 hex>, no host name", a, b)
	}
}

func TestRescueOf(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	attempted, scheduled := now.Add(-time.Minute), now.Add(-2*time.Minute)
	job := func(attempt int, meta string) *rivertype.JobRow {
		return &rivertype.JobRow{ID: 7, Attempt: attempt, MaxAttempts: 10, AttemptedAt: &attempted, ScheduledAt: scheduled, Metadata: []byte(meta)}
	}
	tests := []struct {
		name      string
		job       *rivertype.JobRow
		state     rivertype.JobState
		finalized bool
	}{
		{"AvailableAgain", job(3, `{}`), rivertype.JobStateAvailable, false},
		{"NoMetadata", job(3, ``), rivertype.JobStateAvailable, false},
		{"CancelAsked", job(3, `{"cancel_attempted_at":"2026-01-01T11:59:30Z"}`), rivertype.JobStateCancelled, true},
		{"AttemptsSpent", job(10, `{}`), rivertype.JobStateDiscarded, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := rescueOf(tt.job, "why", now)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.ID) != 1 || p.ID[0] != 7 || p.State[0] != string(tt.state) || (p.FinalizedAt[0] != nil) != tt.finalized {
				t.Errorf("got ids %v, state %v, finalized %v; want [7], %s, finalized %v", p.ID, p.State, p.FinalizedAt, tt.state, tt.finalized)
			}
			if !p.ScheduledAt[0].Equal(scheduled) {
				t.Errorf("scheduled_at: got %v, want the job's own %v (its place in the queue)", p.ScheduledAt[0], scheduled)
			}
			if want := attempted.Add(time.Millisecond); !p.StuckHorizon.Equal(want) {
				t.Errorf("horizon: got %v, want %v (this attempt only)", p.StuckHorizon, want)
			}
			var e rivertype.AttemptError
			if err := json.Unmarshal(p.Error[0], &e); err != nil || e.Error != "why" || e.Attempt != tt.job.Attempt || !e.At.Equal(now) {
				t.Errorf("error: got %+v (%v), want why at attempt %d", e, err, tt.job.Attempt)
			}
		})
	}
	if _, err := rescueOf(&rivertype.JobRow{ID: 1}, "why", now); err == nil {
		t.Error("a job never attempted: got no error")
	}
}

// backends are the databases the recovery tests run on.
var backends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"SQLite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "jobs.db") }},
	{"Postgres", func(t *testing.T) string { return testenv.Postgres(t) }},
}

// fastTiming is the recovery's timing in tests: a process lapses after 1s
// without a beat.
var fastTiming = beatTiming{beatEvery: 100 * time.Millisecond, lapse: time.Second, settle: 200 * time.Millisecond, reclaimEvery: 100 * time.Millisecond}

// testEngine is an engine of a recovery test; stop stops it once.
type testEngine struct {
	*Engine
	once sync.Once
}

func (e *testEngine) stop(t *testing.T) {
	e.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
}

// openTest opens an engine on database with workers workers whose
// upstream "api" is url, timed by timing, stopped when the test ends; it
// starts it when start is set.
func openTest(t *testing.T, database, url string, workers int, timing beatTiming, start bool) *testEngine {
	t.Helper()
	e, err := Open(context.Background(), Options{Database: database, Transport: http.DefaultTransport,
		Upstreams: map[string]string{"api": url}, Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	te := &testEngine{Engine: e}
	t.Cleanup(func() { te.stop(t) })
	if e.recovery.beats != nil {
		e.recovery.beats.timing = timing
	}
	if start {
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return te
}

// fetchAs takes n available jobs as River's fetch does, for process: a
// process that then dies, or lives on without working them.
func fetchAs(t *testing.T, e *Engine, process string, n int) []*rivertype.JobRow {
	t.Helper()
	res, err := e.recovery.exec.JobGetAvailable(context.Background(), &riverdriver.JobGetAvailableParams{
		ClientID: process, MaxAttemptedBy: 100, MaxToLock: n, Queue: river.QueueDefault})
	if err != nil || len(res.Jobs) != n || len(res.DecodeErrors) != 0 {
		t.Fatalf("fetch %d as %s: got %+v, %v", n, process, res, err)
	}
	return res.Jobs
}

// submitN submits n GET jobs to "api".
func submitN(t *testing.T, e *Engine, n int) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		j, _, err := e.Submit(context.Background(), Request{Upstream: "api", Method: "GET", Path: "/items/" + string(rune('a'+i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	return ids
}

// row reads job id.
func row(t *testing.T, e *Engine, id int64) *rivertype.JobRow {
	t.Helper()
	r, err := e.recovery.get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// okServer answers 200 "ok" and counts the requests by path.
type okServer struct {
	mu    sync.Mutex // guards paths
	paths map[string]int
	url   string
}

func newOKServer(t *testing.T) *okServer {
	s := &okServer{paths: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths[r.URL.Path]++
		s.mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *okServer) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.paths {
		n += c
	}
	return n
}

// TestRiverContract checks, on each driver, what the recovery relies on
// in River (see recovery.go): what a fetch writes, what JobList reads, that
// JobRescueMany rescues one attempt only, and how River completes an
// attempt whose job is no longer running.
func TestRiverContract(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := openTest(t, b.dsn(t), "http://127.0.0.1:1", 1, fastTiming, false)
			ctx := context.Background()
			ids := submitN(t, e.Engine, 2)
			fetched := fetchAs(t, e.Engine, "proc-a", 1)[0]
			if fetched.State != rivertype.JobStateRunning || attemptedBy(fetched) != "proc-a" || fetched.AttemptedAt == nil || fetched.Attempt != 1 {
				t.Fatalf("fetched: state %s, attempted_by %v, attempted_at %v, attempt %d; want running, by proc-a, now, 1",
					fetched.State, fetched.AttemptedBy, fetched.AttemptedAt, fetched.Attempt)
			}
			res, err := e.recovery.list(ctx, river.NewJobListParams().States(rivertype.JobStateRunning))
			if err != nil || len(res.Jobs) != 1 || res.Jobs[0].ID != fetched.ID || attemptedBy(res.Jobs[0]) != "proc-a" ||
				res.Jobs[0].AttemptedAt == nil || !res.Jobs[0].AttemptedAt.Equal(*fetched.AttemptedAt) {
				t.Fatalf("JobList of running jobs: %+v, %v; want job %d by proc-a at %v", res, err, fetched.ID, fetched.AttemptedAt)
			}
			listed := res.Jobs[0]

			first, err := rescueOf(listed, "why", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			exact := *first
			exact.StuckHorizon = *listed.AttemptedAt // not before the attempt: no rescue
			if _, err := e.recovery.exec.JobRescueMany(ctx, &exact); err != nil {
				t.Fatal(err)
			}
			if r := row(t, e.Engine, listed.ID); r.State != rivertype.JobStateRunning {
				t.Fatalf("rescued with a horizon at attempted_at: state %s, want running", r.State)
			}
			if _, err := e.recovery.exec.JobRescueMany(ctx, first); err != nil {
				t.Fatal(err)
			}
			r := row(t, e.Engine, listed.ID)
			if r.State != rivertype.JobStateAvailable || r.Attempt != 1 || !r.ScheduledAt.Equal(listed.ScheduledAt) ||
				len(r.Errors) != 1 || r.Errors[0].Error != "why" || !strings.Contains(string(r.Metadata), `"river:rescue_count"`) {
				t.Fatalf("rescued: state %s, attempt %d, scheduled_at %v (was %v), errors %+v, metadata %s; want available, 1, unchanged, [why], a rescue count",
					r.State, r.Attempt, r.ScheduledAt, listed.ScheduledAt, r.Errors, r.Metadata)
			}

			// Fetched again by another process: the first rescue no longer
			// applies, and River's completion of the old attempt would set
			// the new attempt's state.
			again := fetchAs(t, e.Engine, "proc-b", 2)
			if again[0].ID != ids[0] || again[0].Attempt != 2 || len(again[0].AttemptedBy) != 2 || attemptedBy(again[0]) != "proc-b" ||
				!again[0].AttemptedAt.After(*listed.AttemptedAt) {
				t.Fatalf("fetched again: %+v, want job %d, attempt 2, by proc-a then proc-b, later", again[0], ids[0])
			}
			if _, err := e.recovery.exec.JobRescueMany(ctx, first); err != nil {
				t.Fatal(err)
			}
			if r := row(t, e.Engine, ids[0]); r.State != rivertype.JobStateRunning || attemptedBy(r) != "proc-b" {
				t.Fatalf("the old attempt's rescue, after a new fetch: state %s by %v, want running by proc-b", r.State, r.AttemptedBy)
			}
			complete := func(id int64, state rivertype.JobState, output string) *rivertype.JobRow {
				t.Helper()
				now := time.Now()
				rows, err := e.recovery.exec.JobSetStateIfRunningMany(ctx, &riverdriver.JobSetStateIfRunningManyParams{
					ID: []int64{id}, Attempt: []*int{nil}, ErrData: [][]byte{nil}, FinalizedAt: []*time.Time{&now},
					MetadataDoMerge: []bool{true}, MetadataUpdates: [][]byte{[]byte(`{"output":"` + output + `"}`)},
					ScheduledAt: []*time.Time{nil}, State: []rivertype.JobState{state}})
				if err != nil || len(rows) != 1 {
					t.Fatalf("complete %d: %v, %v", id, rows, err)
				}
				return row(t, e.Engine, id)
			}
			if r := complete(ids[0], rivertype.JobStateCompleted, "late"); r.State != rivertype.JobStateCompleted || string(r.Output()) != `"late"` {
				t.Fatalf("completing a running job: state %s, output %s; want completed, late", r.State, r.Output())
			}
			if r := complete(ids[0], rivertype.JobStateRetryable, "later"); r.State != rivertype.JobStateCompleted || string(r.Output()) != `"later"` {
				t.Fatalf("completing a completed job: state %s, output %s; want completed (unchanged), output later (merged whatever the state)", r.State, r.Output())
			}

			// A cancellation asked while the job runs is in the metadata.
			if _, err := e.client.JobCancel(ctx, ids[1]); err != nil {
				t.Fatal(err)
			}
			r = row(t, e.Engine, ids[1])
			p, err := rescueOf(r, "why", time.Now())
			if err != nil || r.State != rivertype.JobStateRunning || p.State[0] != string(rivertype.JobStateCancelled) {
				t.Fatalf("cancel asked while running: state %s, metadata %s, rescued as %v (%v); want running, then cancelled", r.State, r.Metadata, p, err)
			}
		})
	}
}

// TestSQLiteHeldAlone: a second Open of a SQLite file fails, with
// ErrDatabaseInUse, until the first engine stops; the lock file is 0600.
func TestSQLiteHeldAlone(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "jobs.db")
	first := openTest(t, "sqlite://"+path, "http://127.0.0.1:1", 1, fastTiming, true)
	_, err := Open(context.Background(), Options{Database: "sqlite://" + path, Transport: http.DefaultTransport})
	if !errors.Is(err, ErrDatabaseInUse) || !strings.Contains(err.Error(), path+".lock") || !strings.Contains(err.Error(), "postgres://") {
		t.Fatalf("a second Open: got %v, want ErrDatabaseInUse naming %s.lock and PostgreSQL", err, path)
	}
	info, err := os.Stat(path + ".lock")
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v, %v; want mode 0600", info, err)
	}
	first.stop(t)
	openTest(t, "sqlite://"+path, "http://127.0.0.1:1", 1, fastTiming, true)
}

// TestSQLiteReclaimsAtStart: jobs a process was running when it died are
// available again as soon as the next process starts, before its workers
// do, and run once more; the job it had not fetched runs once.
func TestSQLiteReclaimsAtStart(t *testing.T) {
	t.Parallel()
	up := newOKServer(t)
	db := "sqlite://" + filepath.Join(t.TempDir(), "jobs.db")
	dead := openTest(t, db, up.url, 2, fastTiming, false)
	ids := submitN(t, dead.Engine, 3)
	fetchAs(t, dead.Engine, "died-mid-run", 2)
	dead.stop(t) // as a kill would, but for the lock: the jobs stay running

	start := time.Now()
	e := openTest(t, db, up.url, 2, fastTiming, true)
	for _, id := range ids[:2] {
		if r := row(t, e.Engine, id); r.State == rivertype.JobStateRunning && attemptedBy(r) == "died-mid-run" {
			t.Fatalf("job %d still running by the dead process once Start returned", id)
		}
	}
	for i, id := range ids {
		j := waitJob(t, e.Engine, id, StateSucceeded, 10*time.Second)
		switch {
		case i < 2 && (j.Attempts != 2 || !strings.HasPrefix(j.Error, reclaimedPrefix) || !strings.Contains(j.Error, "died-mid-run")):
			t.Errorf("reclaimed job %d: %+v, want 2 attempts and an error naming died-mid-run", id, j)
		case i == 2 && (j.Attempts != 1 || j.Error != ""):
			t.Errorf("job %d, never fetched: %+v, want 1 attempt, no error", id, j)
		}
	}
	t.Logf("the dead process's jobs succeeded %v after the restart began", time.Since(start).Round(time.Millisecond))
	if n := up.total(); n != 3 {
		t.Errorf("requests upstream: got %d, want 3", n)
	}
}

// waitJob polls job id until it is in state, for at most d.
func waitJob(t *testing.T, e *Engine, id int64, state string, d time.Duration) Job {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		j, err := e.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d: %s after %v (%+v), want %s", id, j.State, d, j, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPostgresReclaimsLapsedProcesses: the jobs of a process whose beat
// lapsed are reclaimed and run again; those of a process that beats, and
// of one that never beat (an older heed: River's rescuer's), are not; a
// process lapsed for forgetAfter is forgotten, and one that stops cleanly
// at once.
func TestPostgresReclaimsLapsedProcesses(t *testing.T) {
	t.Parallel()
	up := newOKServer(t)
	dsn := testenv.Postgres(t)
	ctx := context.Background()
	e := openTest(t, dsn, up.url, 2, fastTiming, false)
	ids := submitN(t, e.Engine, 4)
	byDead, byLive, byUnknown := fetchAs(t, e.Engine, "dead", 1)[0], fetchAs(t, e.Engine, "live", 1)[0], fetchAs(t, e.Engine, "unknown", 1)[0]
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO heed_jobs_process (id, beat_at) VALUES ('dead', now() - interval '1 minute'), ('ancient', now() - interval '2 hours'), ('live', now())`)
	beating, stopBeating := context.WithCancel(ctx)
	go func() { // "live" beats as a process would
		for beating.Err() == nil {
			_, _ = pool.Exec(ctx, beatSQL, "live")
			time.Sleep(50 * time.Millisecond)
		}
	}()
	defer stopBeating()
	start := time.Now()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, e.Engine, byDead.ID, StateSucceeded, 10*time.Second)
	if j.Attempts != 2 || !strings.Contains(j.Error, "from process dead, which stopped beating") {
		t.Errorf("the dead process's job: %+v, want 2 attempts and the reclaim error", j)
	}
	t.Logf("the lapsed process's job succeeded %v after Start", time.Since(start).Round(time.Millisecond))
	time.Sleep(3 * fastTiming.lapse) // the live and the unknown process keep their jobs
	for _, r := range []*rivertype.JobRow{byLive, byUnknown} {
		if now := row(t, e.Engine, r.ID); now.State != rivertype.JobStateRunning || attemptedBy(now) != attemptedBy(r) {
			t.Errorf("job %d of %s: state %s by %v, want still running by %s", r.ID, attemptedBy(r), now.State, now.AttemptedBy, attemptedBy(r))
		}
	}
	waitJob(t, e.Engine, ids[3], StateSucceeded, 10*time.Second) // the one nobody fetched
	var ancient int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM heed_jobs_process WHERE id = 'ancient'`).Scan(&ancient); err != nil || ancient != 0 {
		t.Errorf("the process lapsed 2h ago: %d rows (%v), want forgotten", ancient, err)
	}

	stopBeating()
	j = waitJob(t, e.Engine, byLive.ID, StateSucceeded, 10*time.Second)
	if j.Attempts != 2 || !strings.Contains(j.Error, "from process live") {
		t.Errorf("the job of the process that stopped beating: %+v, want reclaimed", j)
	}
	if r := row(t, e.Engine, byUnknown.ID); r.State != rivertype.JobStateRunning {
		t.Errorf("the unknown process's job: %s, want left running (River's rescuer's)", r.State)
	}
	id := e.recovery.id
	e.stop(t)
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM heed_jobs_process WHERE id = $1`, id).Scan(&left); err != nil || left != 0 {
		t.Errorf("after a clean stop: %d rows for the process (%v), want none", left, err)
	}
}

// gate is an upstream whose n-th request (from 1) waits for release(n)
// before it answers, and whose answers say which request they were.
type gate struct {
	url string

	mu      sync.Mutex // guards arrived, open and status
	arrived []chan struct{}
	open    []chan struct{}
	status  []int
}

// newGate makes a gate whose requests answer status[i] (200 past the end);
// request i waits when hold[i].
func newGate(t *testing.T, status []int, hold []bool) *gate {
	g := &gate{status: status}
	for i := range 8 {
		g.arrived = append(g.arrived, make(chan struct{}))
		o := make(chan struct{})
		if i >= len(hold) || !hold[i] {
			close(o)
		}
		g.open = append(g.open, o)
	}
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		i := n
		n++
		g.mu.Unlock()
		close(g.arrived[i])
		<-g.open[i]
		code := http.StatusOK
		if i < len(g.status) {
			code = g.status[i]
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte("request " + string(rune('1'+i))))
	}))
	t.Cleanup(func() {
		for i := range g.open {
			g.release(i + 1)
		}
		srv.Close()
	})
	g.url = srv.URL
	return g
}

// wait waits for request n to arrive.
func (g *gate) wait(t *testing.T, n int) {
	t.Helper()
	select {
	case <-g.arrived[n-1]:
	case <-time.After(20 * time.Second):
		t.Fatalf("request %d never arrived", n)
	}
}

// release lets request n answer.
func (g *gate) release(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open[n-1]:
	default:
		close(g.open[n-1])
	}
}

// arrivals counts the requests that arrived.
func (g *gate) arrivals() int {
	n := 0
	for _, a := range g.arrived {
		select {
		case <-a:
			n++
		default:
		}
	}
	return n
}

// TestStaleAttemptKeepsTheRerunsResult: a process whose beat lapsed while
// it ran a job (paused, cut off) loses the job to another, which runs it
// again; when the stale attempt ends, with a 500 that River would retry,
// it neither makes the job retryable (a third run) nor replaces the
// rerun's response, whether the rerun has finished or still runs.
func TestStaleAttemptKeepsTheRerunsResult(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name          string
		rerunFinishes bool // before the stale attempt ends
	}{{"RerunFinishedFirst", true}, {"RerunStillRunning", false}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dsn := testenv.Postgres(t)
			up := newGate(t, []int{http.StatusInternalServerError}, []bool{true, !tt.rerunFinishes})
			frozen := fastTiming
			frozen.beatEvery = time.Hour // beats once, at start, then lapses
			stale := openTest(t, dsn, up.url, 1, frozen, true)
			id := submitN(t, stale.Engine, 1)[0]
			up.wait(t, 1)
			other := openTest(t, dsn, up.url, 2, fastTiming, true)
			up.wait(t, 2) // the rerun, in the other process
			if tt.rerunFinishes {
				waitJob(t, other.Engine, id, StateSucceeded, 10*time.Second)
			}
			up.release(1) // the stale attempt answers 500
			if !tt.rerunFinishes {
				time.Sleep(time.Second)
				if r := row(t, other.Engine, id); r.State != rivertype.JobStateRunning || attemptedBy(r) != other.recovery.id {
					t.Fatalf("while the rerun runs, the stale attempt ended: state %s by %v, want running by the other process", r.State, r.AttemptedBy)
				}
				up.release(2)
			}
			stale.stop(t) // its attempt, and River's completion of it, are over
			j := waitJob(t, other.Engine, id, StateSucceeded, 10*time.Second)
			time.Sleep(500 * time.Millisecond) // a third run would have begun
			if j.Attempts != 2 || j.Response == nil || j.Response.Status != http.StatusOK || j.Response.Body == nil || *j.Response.Body != "request 2" {
				t.Errorf("job: %+v (response %+v), want succeeded after 2 attempts with the rerun's 200", j, j.Response)
			}
			if n := up.arrivals(); n != 2 {
				t.Errorf("requests upstream: got %d, want 2", n)
			}
		})
	}
}

// TestLiveProcessKeepsItsLongJob: a job that runs for several lapses in a
// process that beats is never taken by another process.
func TestLiveProcessKeepsItsLongJob(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	up := newGate(t, nil, []bool{true})
	owner := openTest(t, dsn, up.url, 1, fastTiming, true)
	id := submitN(t, owner.Engine, 1)[0]
	up.wait(t, 1)
	openTest(t, dsn, up.url, 2, fastTiming, true)
	time.Sleep(4 * fastTiming.lapse)
	up.release(1)
	j := waitJob(t, owner.Engine, id, StateSucceeded, 10*time.Second)
	if j.Attempts != 1 || j.Error != "" || up.arrivals() != 1 {
		t.Errorf("job: %+v after %d requests, want one attempt, no error, one request", j, up.arrivals())
	}
}
