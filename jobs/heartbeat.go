package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The heartbeat's timing (recovery.go): a job of a process that died runs
// again at most about beatLapse + reclaimEvery after the process's last
// beat, which was at most beatEvery before it died.
const (
	beatEvery    = 2 * time.Second
	beatLapse    = 10 * time.Second
	beatSettle   = beatLapse / 2
	reclaimEvery = time.Second
	// forgetAfter is how long a lapsed process is remembered (its jobs are
	// long reclaimed by then).
	forgetAfter = time.Hour
)

// beatTiming is the heartbeat's timing; tests shorten it.
type beatTiming struct {
	beatEvery, lapse, settle, reclaimEvery time.Duration
}

var defaultTiming = beatTiming{beatEvery: beatEvery, lapse: beatLapse, settle: beatSettle, reclaimEvery: reclaimEvery}

// heartbeat is a process's beat on PostgreSQL, and its reclaiming of the
// jobs of processes whose beat lapsed. Its SQL is here and in
// heartbeatSchema.
type heartbeat struct {
	id     string          // this process (River's client ID)
	config *pgxpool.Config // of beatPool, one connection of its own
	pool   *pgxpool.Pool   // the engine's, for reclaiming
	timing beatTiming
	log    *slog.Logger

	beatPool *pgxpool.Pool
	cancel   context.CancelFunc
	done     sync.WaitGroup

	mu    sync.Mutex // guards pulse
	pulse pulse
}

// heartbeatSchema is heed's migration on PostgreSQL: heed_jobs_process
// holds each process's last beat. id is River's client ID, as in
// river_job.attempted_by; beat_at is the database's clock, so that the
// processes' clocks never matter.
const heartbeatSchema = `CREATE TABLE IF NOT EXISTS heed_jobs_process (
	id text PRIMARY KEY,
	beat_at timestamptz NOT NULL
)`

// The heartbeat's statements; durations are milliseconds.
const (
	beatSQL   = `INSERT INTO heed_jobs_process (id, beat_at) VALUES ($1, now()) ON CONFLICT (id) DO UPDATE SET beat_at = now()`
	lapsedSQL = `SELECT id FROM heed_jobs_process WHERE beat_at < now() - $1::float8 * interval '1 millisecond'`
	forgetSQL = `DELETE FROM heed_jobs_process WHERE beat_at < now() - $1::float8 * interval '1 millisecond'`
	leaveSQL  = `DELETE FROM heed_jobs_process WHERE id = $1`
)

// newHeartbeat migrates heed's table on pool and prepares the beats of a
// process on the database dsn.
func newHeartbeat(ctx context.Context, pool *pgxpool.Pool, dsn string, log *slog.Logger) (*heartbeat, error) {
	config, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("jobs: database %s: %w", redactDSN(dsn), err)
	}
	config.MaxConns = 1
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('heed_jobs_process'))`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, heartbeatSchema)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: migrate heed_jobs_process: %w", err)
	}
	return &heartbeat{config: config, pool: pool, timing: defaultTiming, log: log}, nil
}

// start beats once, so that this process is known before it fetches a
// job, then beats and reclaims in the background until stop.
func (h *heartbeat) start(ctx context.Context, r *recovery) error {
	h.id = r.id
	pool, err := pgxpool.NewWithConfig(ctx, h.config)
	if err != nil {
		return fmt.Errorf("jobs: heartbeat: %w", err)
	}
	h.beatPool = pool
	if err := h.beat(ctx); err != nil {
		pool.Close()
		h.beatPool = nil
		return fmt.Errorf("jobs: heartbeat: %w", err)
	}
	ctx, h.cancel = context.WithCancel(ctx)
	h.done.Add(2)
	go h.every(ctx, h.timing.beatEvery, "heartbeat", h.beat)
	go h.every(ctx, h.timing.reclaimEvery, "reclaim", func(ctx context.Context) error { return h.reclaim(ctx, r) })
	return nil
}

// every runs f every d until ctx ends, logging when it starts failing and
// when it works again.
func (h *heartbeat) every(ctx context.Context, d time.Duration, what string, f func(context.Context) error) {
	defer h.done.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := f(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			h.log.Warn("jobs: "+what+" failing", "error", err)
		case err == nil && failing:
			h.log.Info("jobs: " + what + " works again")
		}
		failing = err != nil
	}
}

// beat records that this process is alive, bounded by half the lapse.
func (h *heartbeat) beat(ctx context.Context) error {
	sent := time.Now()
	ctx, cancel := context.WithTimeout(ctx, h.timing.lapse/2)
	defer cancel()
	if _, err := h.beatPool.Exec(ctx, beatSQL, h.id); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pulse = h.pulse.beat(sent, h.timing.lapse/2)
	return nil
}

// reclaim reclaims the jobs of the processes whose beat lapsed, when this
// process's own beats are steady, and then forgets the processes lapsed
// for forgetAfter.
func (h *heartbeat) reclaim(ctx context.Context, r *recovery) error {
	h.mu.Lock()
	steady := h.pulse.steady(time.Now(), h.timing.lapse/2, h.timing.settle)
	h.mu.Unlock()
	if !steady {
		return nil
	}
	lapsed, err := h.lapsed(ctx, h.timing.lapse)
	if err != nil || len(lapsed) == 0 {
		return err
	}
	if _, err := r.reclaim(ctx, func(process string) (string, bool) {
		return "stopped beating", lapsed[process]
	}); err != nil {
		return err
	}
	_, err = h.pool.Exec(ctx, forgetSQL, float64(forgetAfter.Milliseconds()))
	return err
}

// lapsed returns the processes that have not beaten for d.
func (h *heartbeat) lapsed(ctx context.Context, d time.Duration) (map[string]bool, error) {
	rows, err := h.pool.Query(ctx, lapsedSQL, float64(d.Milliseconds()))
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// stop ends the beats and the reclaiming; clean (no job left running)
// forgets this process at once, else it lapses and its jobs are reclaimed.
func (h *heartbeat) stop(clean bool) {
	if h.cancel != nil {
		h.cancel()
		h.done.Wait()
	}
	if h.beatPool == nil {
		return
	}
	if clean {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := h.beatPool.Exec(ctx, leaveSQL, h.id); err != nil {
			h.log.Warn("jobs: heartbeat: forgetting this process", "error", err)
		}
	}
	h.beatPool.Close()
}

// pulse is what a process knows of its own beats: since began the current
// run of beats each sent within gap of the one before, last is the last
// that succeeded (times the beats were sent: the database's beat_at is no
// earlier). The zero pulse has never beaten.
type pulse struct{ since, last time.Time }

// beat is p after a beat sent at t succeeded.
func (p pulse) beat(t time.Time, gap time.Duration) pulse {
	if p.last.IsZero() || t.Sub(p.last) > gap {
		p.since = t
	}
	p.last = t
	return p
}

// steady reports whether, at now, the beats have been unbroken (within
// gap) for at least settle.
func (p pulse) steady(now time.Time, gap, settle time.Duration) bool {
	return !p.last.IsZero() && now.Sub(p.last) <= gap && now.Sub(p.since) >= settle
}
