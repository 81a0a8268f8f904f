package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

	"github.com/heedhq/heed"
)

// Options configure an Engine.
type Options struct {
	// Database is sqlite://path/to/file.db, or postgres://user@host/db
	// (several processes may then work one queue).
	Database string
	// Transport sends the jobs' requests: heed's, so that they are paced,
	// cooled down, retried and cut off like every other request.
	Transport http.RoundTripper
	// Upstreams maps each upstream's name to its base URL.
	Upstreams map[string]string
	// Credentials returns the places, beyond scope.CredentialHeaders, where
	// an upstream's requests carry credentials (heed.Upstream.Credentials):
	// their values are sealed too. It is called at each submission, so that
	// a reloaded config takes effect; nil means none.
	Credentials func(upstream string) heed.CredentialPolicy
	// Classes returns the priority classes of an upstream's fair shares
	// (heed.Upstream.Fairness), nil when it has none: a job naming a
	// class (Request.Class) its upstream lacks is then refused on
	// submission. It is called at each submission, so that a reloaded
	// config takes effect. nil means the engine cannot see them: such a
	// job is accepted and fails, once, when it runs.
	Classes func(upstream string) []string
	// EncryptionKey (KeySize bytes) seals the credentials jobs carry; nil
	// means none, and a job carrying a credential is refused.
	// PreviousEncryptionKeys only open what they sealed before a rotation.
	// See seal.go for the format.
	EncryptionKey          []byte
	PreviousEncryptionKeys [][]byte
	// Workers is how many jobs run at once; 0 means 4.
	Workers int
	// SnoozeAfter is the longest a job waits in a worker for the quota;
	// a longer wait puts it aside (snoozed: no attempt spent, no worker
	// held) until then. 0 means 2 seconds.
	SnoozeAfter time.Duration
	// MaxResponse bounds the response body kept; a longer one is cut and
	// flagged truncated. 0 means 1 MiB.
	MaxResponse int
	// Logger receives the engine's log lines; nil means discard.
	Logger *slog.Logger
	// CallbackSecret signs callbacks (see Sign).
	CallbackSecret []byte
	// CallbackRetryFor is how long a callback is retried; 0 means 24h.
	CallbackRetryFor time.Duration
	// Retention is how long finished jobs are kept; 0 means 7 days.
	Retention time.Duration
	// JobTimeout bounds one run of a job; 0 means 2 minutes. A job whose
	// process died while running it runs again, however long JobTimeout,
	// as soon as the next process opens a SQLite database, or within about
	// 12s of the death on PostgreSQL (recovery.go); River's rescuer,
	// JobTimeout + 15s to about 45s later, is the last resort.
	JobTimeout time.Duration
}

// Engine runs jobs on River over a database. Make one with Open.
type Engine struct {
	opts   Options
	client riverClient
	// count runs Counts' query on the engine's database; close closes it.
	count     func(ctx context.Context) (map[string]int, error)
	close     func()
	upstreams atomic.Pointer[map[string]string] // name → base URL
	keys      *keyring                          // nil: no key, credentials refused
	// recovery reclaims the jobs of processes that died (recovery.go).
	recovery *recovery
	// callbackClient posts callbacks; it follows no redirect, which could
	// lead outside the allow-list.
	callbackClient *http.Client
}

// requestArgs is a job's River arguments: the request and its idempotency
// key (unique among jobs when set).
type requestArgs struct {
	Request Request `json:"request"`
	// Sealed holds the request's credentials, taken out of Request.
	Sealed *sealed `json:"sealed,omitempty"`
	Key    string  `json:"key,omitempty" river:"unique"`
}

// Kind implements river.JobArgs.
func (requestArgs) Kind() string { return "heed_request" }

// Open opens (creating and migrating as needed) the database and prepares
// the engine; Start runs its workers.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Transport == nil {
		return nil, errors.New("jobs: Options.Transport is required")
	}
	keys, err := newKeyring(opts.EncryptionKey, opts.PreviousEncryptionKeys)
	if err != nil {
		return nil, err
	}
	opts.Workers = orInt(opts.Workers, 4)
	if opts.SnoozeAfter <= 0 {
		opts.SnoozeAfter = 2 * time.Second
	}
	opts.MaxResponse = orInt(opts.MaxResponse, 1<<20)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CallbackRetryFor <= 0 {
		opts.CallbackRetryFor = 24 * time.Hour
	}
	if opts.Retention <= 0 {
		opts.Retention = 7 * 24 * time.Hour
	}
	if opts.JobTimeout <= 0 {
		opts.JobTimeout = 2 * time.Minute
	}
	e := &Engine{opts: opts, keys: keys, callbackClient: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	e.SetUpstreams(opts.Upstreams)
	workers := river.NewWorkers()
	if err := errors.Join(river.AddWorkerSafely(workers, &worker{e: e}), river.AddWorkerSafely(workers, &callbackWorker{e: e})); err != nil {
		return nil, err
	}
	cfg := &river.Config{
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: opts.Workers},
			callbackQueue:      {MaxWorkers: opts.Workers},
		},
		ID:                          processID(),
		Workers:                     workers,
		Middleware:                  []rivertype.Middleware{&attemptGuard{e: e}},
		Logger:                      opts.Logger,
		CompletedJobRetentionPeriod: opts.Retention,
		CancelledJobRetentionPeriod: opts.Retention,
		DiscardedJobRetentionPeriod: opts.Retention,
		JobTimeout:                  opts.JobTimeout,
		RescueStuckJobsAfter:        rescueAfter(opts.JobTimeout),
		// SQLite has no notifications: new jobs are found by polling, a
		// few times a second, which also bounds a job's wait in the queue.
		FetchPollInterval: 250 * time.Millisecond,
		FetchCooldown:     25 * time.Millisecond,
	}
	switch {
	case strings.HasPrefix(opts.Database, "sqlite://"):
		err = e.openSQLite(ctx, strings.TrimPrefix(opts.Database, "sqlite://"), cfg)
	case strings.HasPrefix(opts.Database, "postgres://"), strings.HasPrefix(opts.Database, "postgresql://"):
		err = e.openPostgres(ctx, opts.Database, cfg)
	default:
		err = fmt.Errorf("jobs: database %q: want sqlite://path/to/file.db or postgres://user@host/db", redactDSN(opts.Database))
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// openSQLite opens the jobs on a SQLite file (created as needed), which
// this process then holds alone (lockDatabase).
func (e *Engine) openSQLite(ctx context.Context, path string, cfg *river.Config) error {
	if path == "" {
		return errors.New("jobs: database sqlite://: the path is missing")
	}
	lock, err := lockDatabase(path)
	if err != nil {
		return err
	}
	if err := createSQLite(path); err != nil {
		lock.Close()
		return err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)")
	if err != nil {
		lock.Close()
		return fmt.Errorf("jobs: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // SQLite has one writer; one connection avoids SQLITE_BUSY
	closeDB := func() { db.Close(); lock.Close() }
	driver := riversqlite.New(db)
	if err := errors.Join(migrate(ctx, driver), privateSQLite(path, e.opts.Logger)); err != nil {
		closeDB()
		return err
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		closeDB()
		return fmt.Errorf("jobs: %w", err)
	}
	e.client, e.close = client, closeDB
	e.recovery = newRecovery(client, driver, e.opts, nil)
	query, args := countQuery(sqliteLastError, func(int) string { return "?" })
	e.count = func(ctx context.Context) (map[string]int, error) {
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		return scanCounts(rows.Next, rows.Scan, rows.Err)
	}
	return nil
}

// openPostgres opens the jobs on PostgreSQL.
func (e *Engine) openPostgres(ctx context.Context, dsn string, cfg *river.Config) error {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return fmt.Errorf("jobs: database %s: %w", redactDSN(dsn), err)
	}
	driver := riverpgxv5.New(pool)
	if err := migrate(ctx, driver); err != nil {
		pool.Close()
		return err
	}
	beats, err := newHeartbeat(ctx, pool, dsn, e.opts.Logger)
	if err != nil {
		pool.Close()
		return err
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		pool.Close()
		return fmt.Errorf("jobs: %w", err)
	}
	e.client, e.close = client, pool.Close
	e.recovery = newRecovery(client, driver, e.opts, beats)
	query, args := countQuery(postgresLastError, func(n int) string { return "$" + strconv.Itoa(n) })
	e.count = func(ctx context.Context) (map[string]int, error) {
		rows, err := pool.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		return scanCounts(rows.Next, rows.Scan, rows.Err)
	}
	return nil
}

// redactDSN hides a database URL's password.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
		return u.String()
	}
	return dsn
}

// riverClient is what the engine uses of River's client, whichever the
// driver.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// migrate brings River's tables up to date.
func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	return nil
}

// Start runs the workers until Stop, having first made available again
// the jobs left running by processes that died (recovery.go).
func (e *Engine) Start(ctx context.Context) error {
	if err := e.recovery.start(ctx); err != nil {
		return err
	}
	return e.client.Start(ctx)
}

// Stop lets running jobs finish (until ctx ends), then closes the database.
func (e *Engine) Stop(ctx context.Context) error {
	err := e.client.Stop(ctx)
	e.recovery.stop(err == nil)
	e.close()
	return err
}

// Upstreams returns the names jobs may target, sorted.
func (e *Engine) Upstreams() []string {
	m := *e.upstreams.Load()
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// SetUpstreams replaces the upstreams jobs may target (a reloaded config).
// A queued job for an upstream no longer configured fails when it runs.
func (e *Engine) SetUpstreams(m map[string]string) {
	c := maps.Clone(m)
	e.upstreams.Store(&c)
}

// stateOf is the API's name of a job in River state s whose last error
// gives cause (see causeOf): a cancelled job the worker failed or expired
// is failed or expired.
func stateOf(s rivertype.JobState, cause string) string {
	switch s {
	case rivertype.JobStateCancelled:
		if cause != "" {
			return cause
		}
		return StateCancelled
	case rivertype.JobStateCompleted:
		return StateSucceeded
	case rivertype.JobStateDiscarded:
		return StateFailed
	case rivertype.JobStateRunning:
		return StateRunning
	case rivertype.JobStateScheduled:
		return StateWaitingQuota
	}
	return StateQueued
}

// Submit stores a validated request as a job, its credentials sealed (a
// request carrying a credential without an EncryptionKey is refused with a
// *FieldError naming each place, as is a class its upstream lacks when
// Options.Classes says). With an idempotency key already used, it
// returns the existing job and existed true.
func (e *Engine) Submit(ctx context.Context, req Request) (job Job, existed bool, err error) {
	opts := &river.InsertOpts{Priority: req.Priority, MaxAttempts: 10}
	if req.IdempotencyKey != "" {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: allStates}
	}
	args, err := e.argsOf(req)
	if err != nil {
		return Job{}, false, err
	}
	res, err := e.client.Insert(ctx, args, opts)
	if err != nil {
		return Job{}, false, fmt.Errorf("jobs: submit: %w", err)
	}
	return jobOf(res.Job), res.UniqueSkippedAsDuplicate, nil
}

// SubmitMany stores validated requests as jobs in one transaction: all or
// none. dup[i] reports that request i's idempotency key was already used.
func (e *Engine) SubmitMany(ctx context.Context, reqs []Request) (jobs []Job, dup []bool, err error) {
	params := make([]river.InsertManyParams, len(reqs))
	for i, req := range reqs {
		opts := &river.InsertOpts{Priority: req.Priority, MaxAttempts: 10}
		if req.IdempotencyKey != "" {
			opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: allStates}
		}
		args, err := e.argsOf(req)
		if err != nil {
			return nil, nil, prefixed(err, fmt.Sprintf("jobs[%d].", i))
		}
		params[i] = river.InsertManyParams{Args: args, InsertOpts: opts}
	}
	res, err := e.client.InsertMany(ctx, params)
	if err != nil {
		return nil, nil, fmt.Errorf("jobs: submit %d: %w", len(reqs), err)
	}
	for _, r := range res {
		jobs = append(jobs, jobOf(r.Job))
		dup = append(dup, r.UniqueSkippedAsDuplicate)
	}
	return jobs, dup, nil
}

// allStates makes an idempotency key unique for the job's whole life.
var allStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateCancelled, rivertype.JobStateCompleted, rivertype.JobStateDiscarded,
	rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// ErrNotFound is returned for a job id that does not exist, or that is not
// a job of the API (heed's own callback deliveries are River jobs too).
var ErrNotFound = errors.New("jobs: no such job")

// Get returns a job.
func (e *Engine) Get(ctx context.Context, id int64) (Job, error) {
	row, err := e.client.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) || (err == nil && row.Kind != (requestArgs{}).Kind()) {
		return Job{}, ErrNotFound
	}
	if err != nil {
		return Job{}, fmt.Errorf("jobs: get %d: %w", id, err)
	}
	return jobOf(row), nil
}

// Cancel cancels a job that has not finished.
func (e *Engine) Cancel(ctx context.Context, id int64) (Job, error) {
	if _, err := e.Get(ctx, id); err != nil {
		return Job{}, err
	}
	row, err := e.client.JobCancel(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return Job{}, ErrNotFound
	}
	if err != nil {
		return Job{}, fmt.Errorf("jobs: cancel %d: %w", id, err)
	}
	return jobOf(row), nil
}

// callbackQueue keeps callbacks apart, so that a slow receiver never holds
// up requests.
const callbackQueue = "callbacks"

// Job is what the API says of a job.
type Job struct {
	ID          int64      `json:"id"`
	State       string     `json:"state"`
	Upstream    string     `json:"upstream"`
	Method      string     `json:"method"`
	Path        string     `json:"path"`
	Attempts    int        `json:"attempts"`
	CreatedAt   time.Time  `json:"created_at"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	// Sealed names the places of the request whose values heed keeps
	// sealed ("headers.Authorization", "query.api_key"): the API and the
	// callbacks never show a credential, and show no other header or query
	// parameter of the request either.
	Sealed   []string  `json:"sealed,omitempty"`
	Response *Response `json:"response,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// The job states the API reports.
const (
	StateQueued       = "queued"
	StateWaitingQuota = "waiting_quota"
	StateRunning      = "running"
	StateSucceeded    = "succeeded"
	StateFailed       = "failed"
	StateCancelled    = "cancelled"
	StateExpired      = "expired"
)

// jobOf describes a River job row.
func jobOf(row *rivertype.JobRow) Job {
	var args requestArgs
	_ = json.Unmarshal(row.EncodedArgs, &args)
	j := Job{ID: row.ID, Upstream: args.Request.Upstream, Method: args.Request.Method, Path: args.Request.Path,
		Attempts: row.Attempt, CreatedAt: row.CreatedAt, ScheduledAt: row.ScheduledAt, FinishedAt: row.FinalizedAt,
		Sealed: args.Sealed.names()}
	if out := row.Output(); len(out) > 0 {
		var r Response
		if json.Unmarshal(out, &r) == nil {
			j.Response = &r
		}
	}
	if n := len(row.Errors); n > 0 {
		j.Error = row.Errors[n-1].Error
	}
	j.State = stateOf(row.State, causeOf(j.Error))
	return j
}
