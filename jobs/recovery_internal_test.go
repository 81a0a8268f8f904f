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

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/heedhq/heed/internal/testenv"
)

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
