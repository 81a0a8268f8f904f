package jobs_test

import (
	"context"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
)

// TestCountsAgreeWithTheAPI: after jobs that ended succeeded, failed (a
// 400), cancelled (DELETE) and expired (a deadline past), Counts names each
// job's state as GET /v1/jobs/{id} does, on SQLite and on PostgreSQL.
func TestCountsAgreeWithTheAPI(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		testCountsAgree(t, "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		testCountsAgree(t, testenv.Postgres(t))
	})
}

func testCountsAgree(t *testing.T, database string) {
	m, _ := mockapi.New(mockapi.Config{})
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{Name: "mock", BaseURL: srv.URL, Retry: heed.RetryPolicy{Attempts: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	e := startEngine(t, jobs.Options{Database: database, Transport: tr,
		Upstreams: map[string]string{"mock": srv.URL}, SnoozeAfter: 200 * time.Millisecond})
	api := httptest.NewServer(e.Handler(jobs.APIOptions{}))
	t.Cleanup(api.Close)
	// The credential "cold" waits a minute: its job waits for the quota
	// until it is cancelled.
	if err := m.Force(mockapi.Force{Credential: "cold", Status: 429, RetryAfter: time.Minute}); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	submitted := map[string]string{ // by the state the job is to end in
		jobs.StateSucceeded: `{"upstream":"mock","path":"/items"}`,
		jobs.StateFailed:    `{"upstream":"mock","path":"/status/400"}`,
		jobs.StateCancelled: `{"upstream":"mock","path":"/items","headers":{"Authorization":"Bearer cold"}}`,
		jobs.StateExpired:   `{"upstream":"mock","path":"/items","deadline":"` + past + `"}`,
	}
	ids := map[string]int64{}
	for want, body := range submitted {
		var a struct {
			ID int64 `json:"id"`
		}
		if st := call(t, "POST", api.URL+"/v1/jobs", body, &a); st != 202 {
			t.Fatalf("submit %s: status %d", body, st)
		}
		ids[want] = a.ID
	}
	jobURL := func(state string) string { return api.URL + "/v1/jobs/" + strconv.FormatInt(ids[state], 10) }
	waitAPIState(t, jobURL(jobs.StateCancelled), jobs.StateWaitingQuota)
	var j jobs.Job
	if st := call(t, "DELETE", jobURL(jobs.StateCancelled), "", &j); st != 200 || j.State != jobs.StateCancelled {
		t.Fatalf("cancel: %d %+v", st, j)
	}
	want := map[string]int{jobs.StateQueued: 0, jobs.StateWaitingQuota: 0, jobs.StateRunning: 0,
		jobs.StateSucceeded: 0, jobs.StateFailed: 0, jobs.StateCancelled: 0, jobs.StateExpired: 0}
	for state := range ids {
		waitAPIState(t, jobURL(state), state)
		want[state]++
	}
	got, err := e.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("counts %v, want the API's %v", got, want)
	}
}

// waitAPIState polls GET url, a job's status URL, until the job is in
// state, for at most 15 seconds.
func waitAPIState(t *testing.T, url, state string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var j jobs.Job
		if st := call(t, "GET", url, "", &j); st != 200 {
			t.Fatalf("GET %s: status %d", url, st)
		}
		if j.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s after 15s (error %q), want %s", url, j.State, j.Error, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
