package jobs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
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
