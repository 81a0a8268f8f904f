package jobs_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
)

// TestSnoozedJobsHoldNoWorker: with one worker, jobs of an upstream that
// is cooling down are put aside, and the jobs of another upstream still
// run and finish meanwhile.
func TestSnoozedJobsHoldNoWorker(t *testing.T) {
	t.Parallel()
	m, _ := mockapi.New(mockapi.Config{})
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{
		{Name: "cold", BaseURL: srv.URL + "/cold", Retry: heed.RetryPolicy{Attempts: 1}},
		{Name: "warm", BaseURL: srv.URL + "/warm"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	e := startEngine(t, jobs.Options{
		Database: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"), Transport: tr, Workers: 1, SnoozeAfter: 100 * time.Millisecond,
		Upstreams: map[string]string{"cold": srv.URL + "/cold", "warm": srv.URL + "/warm"},
	})
	if err := m.Force(mockapi.Force{Credential: "tok", Status: 429, RetryAfter: time.Minute}); err != nil {
		t.Fatal(err)
	}
	submit := func(up string) int64 {
		j, _, err := e.Submit(context.Background(), jobs.Request{Upstream: up, Method: "GET", Path: "/items", Priority: 2,
			Headers: map[string]jobs.StringList{"Authorization": {"Bearer tok"}}})
		if err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	var cold []int64
	for range 3 {
		cold = append(cold, submit("cold"))
	}
	time.Sleep(300 * time.Millisecond) // the cold jobs meet the 429 and then the cooldown
	var warm []int64
	for range 3 {
		warm = append(warm, submit("warm"))
	}
	for _, id := range warm {
		waitState(t, e, id, jobs.StateSucceeded, 10*time.Second)
	}
	for _, id := range cold {
		if j, _ := e.Get(context.Background(), id); j.State == jobs.StateSucceeded || j.State == jobs.StateRunning {
			t.Errorf("cold job %d is %s, want it put aside for the cooldown", id, j.State)
		}
	}
}
