package jobs_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
)

// newEngine starts an engine on a fresh SQLite file over a heed Transport
// to the mock API, with the Transport configured by up.
func newEngine(t *testing.T, m *mockapi.Server, up heed.Upstream, workers int) *jobs.Engine {
	t.Helper()
	return openEngine(t, m, up, jobs.Options{Workers: workers})
}

// newEngineWithSecret is newEngine with callbacks signed by testSecret.
func newEngineWithSecret(t *testing.T, m *mockapi.Server) *jobs.Engine {
	t.Helper()
	return openEngine(t, m, heed.Upstream{}, jobs.Options{CallbackSecret: []byte(testSecret)})
}

// openEngine opens and starts an engine with opts over the mock API.
func openEngine(t *testing.T, m *mockapi.Server, up heed.Upstream, opts jobs.Options) *jobs.Engine {
	t.Helper()
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	up.Name, up.BaseURL = "mock", srv.URL
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{up}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() }) // after the engine stops: cleanups run last first
	opts.Database = "sqlite://" + filepath.Join(t.TempDir(), "jobs.db")
	opts.Transport, opts.Upstreams, opts.SnoozeAfter = tr, map[string]string{"mock": srv.URL}, 200*time.Millisecond
	return startEngine(t, opts)
}

// testKey is the tests' encryption key, which startEngine gives an
// engine whose options have none.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// startEngine opens and starts an engine with opts, sealing under testKey
// unless opts has a key, stopped when the test ends.
func startEngine(t *testing.T, opts jobs.Options) *jobs.Engine {
	t.Helper()
	if opts.EncryptionKey == nil {
		opts.EncryptionKey = testKey
	}
	return startKeyless(t, opts)
}

// startKeyless is startEngine without a default key.
func startKeyless(t *testing.T, opts jobs.Options) *jobs.Engine {
	t.Helper()
	e, err := jobs.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Stop(ctx)
	})
	return e
}

// waitState polls a job until it reaches state or d passes.
func waitState(t *testing.T, e *jobs.Engine, id int64, state string, d time.Duration) jobs.Job {
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
		time.Sleep(50 * time.Millisecond)
	}
}

func TestJobRunsAndKeepsTheResponse(t *testing.T) {
	t.Parallel()
	m, _ := mockapi.New(mockapi.Config{})
	e := newEngine(t, m, heed.Upstream{}, 2)
	body := `{"n":1}`
	req := jobs.Request{Upstream: "mock", Method: "POST", Path: "/items", Body: &body, IdempotencyKey: "job-1",
		Headers: map[string]jobs.StringList{"Authorization": {"Bearer tok"}}}
	if err := req.Validate(e.Upstreams(), jobs.Limits{}); err != nil {
		t.Fatal(err)
	}
	j, existed, err := e.Submit(context.Background(), req)
	if err != nil || existed {
		t.Fatalf("submit: %+v %v %v", j, existed, err)
	}
	again, existed, err := e.Submit(context.Background(), req)
	if err != nil || !existed || again.ID != j.ID {
		t.Fatalf("the same idempotency key: %+v %v %v, want the first job", again, existed, err)
	}
	done := waitState(t, e, j.ID, jobs.StateSucceeded, 10*time.Second)
	if done.Response == nil || done.Response.Status != 200 || done.Response.Body == nil || done.Attempts != 1 {
		t.Fatalf("done: %+v", done)
	}
	if log := m.Log(); len(log) != 1 || log[0].IdempotencyKey != "job-1" {
		t.Fatalf("the mock saw %+v, want one POST carrying Idempotency-Key job-1", log)
	}
}

// TestCooldownSnoozesWithoutSpendingAttempts: a job whose credential is
// cooling down is put aside until the cooldown ends, and then succeeds
// with its attempts unspent by the waiting.
func TestCooldownSnoozesWithoutSpendingAttempts(t *testing.T) {
	t.Parallel()
	m, _ := mockapi.New(mockapi.Config{})
	e := newEngine(t, m, heed.Upstream{Retry: heed.RetryPolicy{Attempts: 1}}, 1)
	if err := m.Force(mockapi.Force{Credential: "tok", Status: 429, RetryAfter: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	submit := func() int64 {
		j, _, err := e.Submit(context.Background(), jobs.Request{Upstream: "mock", Method: "GET", Path: "/items", Priority: 2,
			Headers: map[string]jobs.StringList{"Authorization": {"Bearer tok"}}})
		if err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	first, second := submit(), submit()
	j1 := waitState(t, e, first, jobs.StateSucceeded, 15*time.Second)
	j2 := waitState(t, e, second, jobs.StateSucceeded, 15*time.Second)
	if st := m.Stats().Total; st.DuringWait != 0 {
		t.Fatalf("%d requests inside the cooldown", st.DuringWait)
	}
	// Neither the 429 nor the cooldown costs an attempt: both only put the
	// jobs aside (TestAPIRefusalSnoozes counts exactly).
	if j1.Attempts+j2.Attempts > 3 {
		t.Errorf("attempts %d and %d: snoozes must not count", j1.Attempts, j2.Attempts)
	}
}

// TestPostgres runs a job and a snooze on PostgreSQL, in a database of the
// test's own.
func TestPostgres(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	m, _ := mockapi.New(mockapi.Config{})
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{Name: "mock", BaseURL: srv.URL, Retry: heed.RetryPolicy{Attempts: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	e := startEngine(t, jobs.Options{Database: dsn, Transport: tr,
		Upstreams: map[string]string{"mock": srv.URL}, SnoozeAfter: 200 * time.Millisecond})
	if err := m.Force(mockapi.Force{Credential: "tok", Status: 429, RetryAfter: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for range 3 {
		j, _, err := e.Submit(context.Background(), jobs.Request{Upstream: "mock", Method: "GET", Path: "/items", Priority: 2,
			Headers: map[string]jobs.StringList{"Authorization": {"Bearer tok"}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	for _, id := range ids {
		waitState(t, e, id, jobs.StateSucceeded, 20*time.Second)
	}
	counts, err := e.Counts(context.Background())
	if err != nil || counts[jobs.StateSucceeded] != 3 {
		t.Fatalf("counts %v %v", counts, err)
	}
	if st := m.Stats().Total; st.DuringWait != 0 {
		t.Fatalf("%d requests inside the cooldown", st.DuringWait)
	}
}
