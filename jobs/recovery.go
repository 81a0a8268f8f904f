package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// Recovery after a crash. A job left running by a process that died is
// made available again, keeping its place in the queue, as soon as the
// process is known to be dead, and never while it is alive:
//
//   - SQLite (one machine): the process that opens the database holds an
//     exclusive lock on the file <database>.lock until it ends (the kernel
//     drops it when the process dies); a second process on the same file
//     fails to open it (ErrDatabaseInUse). So at Start every job still
//     running belongs to a process that died: all are reclaimed before
//     the workers start.
//   - PostgreSQL (several processes): each process beats, every beatEvery,
//     in heed's own table heed_jobs_process (River's tables have no place
//     for it: river_leader holds the leader alone, and River dropped its
//     unused river_client table in its migration 7). Every process, every
//     reclaimEvery, reclaims the running jobs whose attempting process has
//     not beaten for beatLapse. Only a lapsed beat counts: a process busy
//     with long jobs beats from a goroutine and a connection of its own. A
//     process reclaims only once its own beats have been steady for
//     beatSettle, so that after a database outage every live process has
//     beaten again before any is judged. Every process reclaims, not only
//     River's leader: a dead leader's lease outlives it by up to 15s.
//     Jobs of a process that never beat (an older heed) are left to
//     River's rescuer.
//
// River's rescuer (RescueStuckJobsAfter: job_timeout + 15s) stays the last
// resort. An attempt reclaimed while it still ran (its process paused or
// cut off from the database for longer than beatLapse) may end after its
// rerun; attemptGuard keeps it from overwriting the rerun's state or
// response. Either way a job runs at least once, with its idempotency key.
//
// What this relies on in River v0.49.0, TestRiverContract checking each on
// both drivers: a fetch sets river_job.state to running, sets attempted_at
// and appends the client's ID (river.Client.ID) to attempted_by, so its
// last element names the attempting process; Client.JobList reads those
// columns; the metadata key cancel_attempted_at marks a job asked to cancel
// while it ran; and the driver's Executor.JobRescueMany, the SQL of River's
// own rescuer for both drivers, sets state, scheduled_at and finalized_at
// and appends an error only where state = running and attempted_at <
// StuckHorizon, which heed uses as a compare-and-set on one attempt.
// riverdriver's interfaces are outside River's semantic versioning: a
// changed signature fails the build, a changed meaning that test. heed
// writes no SQL against river_job here.

// guardPoll is how often attemptGuard reads a taken job again.
const guardPoll = 250 * time.Millisecond

// ErrDatabaseInUse is returned by Open for a SQLite database another
// process has open: one process at a time works a SQLite file.
var ErrDatabaseInUse = errors.New("jobs: the SQLite database is in use by another process")

// errLocked is what openLock returns for a lock file another process holds.
var errLocked = errors.New("locked")

// lockDatabase takes the lock of the SQLite database at path, the file
// path + ".lock" (created 0600), held until the returned file is closed or
// the process ends.
func lockDatabase(path string) (*os.File, error) {
	name := path + ".lock"
	f, err := openLock(name)
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("%w (%s is locked): one heed serve works a SQLite file; stop the other, or use postgres:// for several", ErrDatabaseInUse, name)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: lock %s: %w", name, err)
	}
	return f, nil
}

// recovery reclaims, for one Engine, the jobs of processes that died, and
// guards its own attempts that were reclaimed (attemptGuard). Its methods
// are safe for concurrent use once start has returned.
type recovery struct {
	id  string // this process: River's client ID
	log *slog.Logger
	// list and get are River's Client.JobList and Client.JobGet; exec is
	// the driver's, for JobRescueMany.
	list func(context.Context, *river.JobListParams) (*river.JobListResult, error)
	get  func(context.Context, int64) (*rivertype.JobRow, error)
	exec riverdriver.Executor
	// takenAfter is how long an attempt runs before another may have
	// taken it: 0 on PostgreSQL, River's RescueStuckJobsAfter on SQLite.
	takenAfter time.Duration
	// maxWait bounds attemptGuard's wait for a rerun.
	maxWait time.Duration
	beats   *heartbeat // nil on SQLite
}

// newRecovery is the recovery of a River client over driver; beats is nil
// on SQLite.
func newRecovery[TTx any](client *river.Client[TTx], driver riverdriver.Driver[TTx], opts Options, beats *heartbeat) *recovery {
	r := &recovery{id: client.ID(), log: opts.Logger, list: client.JobList, get: client.JobGet,
		exec: driver.GetExecutor(), maxWait: rescueAfter(opts.JobTimeout), beats: beats}
	if beats == nil {
		r.takenAfter = rescueAfter(opts.JobTimeout)
	}
	return r
}

// processID names this process in River (river.Config.ID) and so in
// river_job.attempted_by, heed_jobs_process and a reclaimed job's error:
// its start time and random bytes, so that two processes (or two engines
// in one) never share a name, which would let one's beats keep the other's
// jobs. Unlike River's default it holds no host name, which a reclaimed
// job's error would show to the job API's clients; the log line "jobs:
// starting" ties it to the process.
func processID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "heed_" + time.Now().UTC().Format("20060102T150405") + "_" + hex.EncodeToString(b[:])
}

// rescueAfter is River's RescueStuckJobsAfter for a job timeout.
func rescueAfter(jobTimeout time.Duration) time.Duration { return jobTimeout + 15*time.Second }

// start reclaims what it can before the workers start: on SQLite every
// running job (this process holds the database alone), on PostgreSQL
// nothing yet, but this process beats once before it fetches any job and
// then keeps beating and reclaiming until stop.
func (r *recovery) start(ctx context.Context) error {
	r.log.Info("jobs: starting", "process", r.id)
	if r.beats == nil {
		_, err := r.reclaim(ctx, func(string) (string, bool) {
			return "had died (the job was running when this process opened the database)", true
		})
		return err
	}
	return r.beats.start(ctx, r)
}

// stop ends the beats; clean says the workers stopped with no job left
// running, so that the process can be forgotten at once.
func (r *recovery) stop(clean bool) {
	if r.beats != nil {
		r.beats.stop(clean)
	}
}

// reclaimBatch is how many running jobs reclaim reads at a time.
const reclaimBatch = 500

// reclaim makes available again every running job whose attempting
// process dead says is dead, with why in the error it appends, and
// returns how many it asked River to rescue.
func (r *recovery) reclaim(ctx context.Context, dead func(process string) (why string, ok bool)) (int, error) {
	params := river.NewJobListParams().States(rivertype.JobStateRunning).First(reclaimBatch)
	n := 0
	for {
		res, err := r.list(ctx, params)
		if err != nil {
			return n, fmt.Errorf("jobs: reclaim: %w", err)
		}
		for _, job := range res.Jobs {
			owner := attemptedBy(job)
			why, ok := dead(owner)
			if !ok || owner == r.id {
				continue
			}
			p, err := rescueOf(job, fmt.Sprintf("%sfrom process %s, which %s", reclaimedPrefix, owner, why), time.Now())
			if err != nil {
				return n, fmt.Errorf("jobs: reclaim job %d: %w", job.ID, err)
			}
			if _, err := r.exec.JobRescueMany(ctx, p); err != nil {
				return n, fmt.Errorf("jobs: reclaim job %d: %w", job.ID, err)
			}
			n++
			r.log.Info("jobs: reclaimed a job whose process died", "job", job.ID, "process", owner, "attempt", job.Attempt)
		}
		if len(res.Jobs) < reclaimBatch {
			return n, nil
		}
		params = params.After(res.LastCursor)
	}
}

// reclaimedPrefix starts the error a reclaimed job's attempt is given.
const reclaimedPrefix = "heed: reclaimed "

// attemptedBy is the process that fetched the job last ("" if none).
func attemptedBy(job *rivertype.JobRow) string {
	if n := len(job.AttemptedBy); n > 0 {
		return job.AttemptedBy[n-1]
	}
	return ""
}

// rescueOf is River's rescue of one running job whose process died at now,
// decided as River's rescuer decides: cancelled when its cancellation was
// asked, discarded when its attempts are spent, otherwise available again
// at its old place in the queue (its scheduled_at). The rescue applies only
// to the attempt the job row describes: River rescues where attempted_at
// < StuckHorizon, and a later fetch sets a later attempted_at (SQLite
// keeps milliseconds).
func rescueOf(job *rivertype.JobRow, why string, now time.Time) (*riverdriver.JobRescueManyParams, error) {
	if job.AttemptedAt == nil {
		return nil, errors.New("a running job without attempted_at")
	}
	var meta struct {
		CancelAttemptedAt *time.Time `json:"cancel_attempted_at"`
	}
	if len(job.Metadata) > 0 {
		if err := json.Unmarshal(job.Metadata, &meta); err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
	}
	state, finalized := rivertype.JobStateAvailable, (*time.Time)(nil)
	switch {
	case meta.CancelAttemptedAt != nil:
		state, finalized = rivertype.JobStateCancelled, &now
	case job.Attempt >= job.MaxAttempts:
		state, finalized = rivertype.JobStateDiscarded, &now
	}
	e, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: max(job.Attempt, 0), Error: why})
	if err != nil {
		return nil, err
	}
	return &riverdriver.JobRescueManyParams{ID: []int64{job.ID}, Error: [][]byte{e}, FinalizedAt: []*time.Time{finalized},
		ScheduledAt: []time.Time{job.ScheduledAt}, State: []string{string(state)}, StuckHorizon: job.AttemptedAt.Add(time.Millisecond)}, nil
}

// attemptGuard is River worker middleware. When an attempt ends that
// another process may have reclaimed (see recovery.takenAfter), it reads
// the job: if the job is no longer this attempt's, it waits until the
// rerun is no longer running and records the stored response as this
// attempt's output. River's completion of the stale attempt then changes
// nothing: it sets the state of a running job only, and merges the output
// whatever the state.
type attemptGuard struct {
	river.MiddlewareDefaults
	e *Engine
}

// Work implements rivertype.WorkerMiddleware.
func (g *attemptGuard) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	began := time.Now()
	err := doInner(ctx)
	r := g.e.recovery
	if time.Since(began) < r.takenAfter {
		return err
	}
	row, ok := r.current(ctx, job.ID, func(row *rivertype.JobRow) bool { return true })
	if !ok || !takenFrom(row, job) {
		return err
	}
	r.log.Warn("jobs: a job was reclaimed while this process ran it; keeping the rerun's result", "job", job.ID, "attempt", job.Attempt)
	if row, ok = r.current(ctx, job.ID, func(row *rivertype.JobRow) bool { return row.State != rivertype.JobStateRunning }); ok {
		if out := row.Output(); len(out) > 0 {
			_ = river.RecordOutput(ctx, json.RawMessage(out))
		}
	}
	return err
}

// current reads job id until done says the row is the one wanted, every
// guardPoll (the database may be unreachable, a rerun may be running), for
// at most maxWait; ok is false when it gave up.
func (r *recovery) current(ctx context.Context, id int64, done func(*rivertype.JobRow) bool) (*rivertype.JobRow, bool) {
	deadline := time.Now().Add(r.maxWait)
	for {
		row, err := r.get(ctx, id)
		if err == nil && done(row) {
			return row, true
		}
		if errors.Is(err, river.ErrNotFound) || time.Now().After(deadline) {
			return nil, false
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(guardPoll):
		}
	}
}

// takenFrom reports whether row, as stored now, is no longer the attempt
// job describes: rescued, or fetched again since.
func takenFrom(row, job *rivertype.JobRow) bool {
	return row.State != rivertype.JobStateRunning || row.Attempt != job.Attempt ||
		row.AttemptedAt == nil || job.AttemptedAt == nil || !row.AttemptedAt.Equal(*job.AttemptedAt)
}
