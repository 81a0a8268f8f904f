package jobs_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
)

// TestFinalAnswers: a final refusal (404) fails the job with the last
// response kept; a job past its deadline expires without being sent.
func TestFinalAnswers(t *testing.T) {
	t.Parallel()
	m, _ := mockapi.New(mockapi.Config{})
	e := newEngine(t, m, heed.Upstream{}, 2)
	ctx := context.Background()
	notFound, _, err := e.Submit(ctx, jobs.Request{Upstream: "mock", Method: "GET", Path: "/status/404", Priority: 2})
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	late, _, err := e.Submit(ctx, jobs.Request{Upstream: "mock", Method: "GET", Path: "/items", Priority: 2, Deadline: &past})
	if err != nil {
		t.Fatal(err)
	}
	j := waitState(t, e, notFound.ID, jobs.StateFailed, 10*time.Second)
	if j.Response == nil || j.Response.Status != http.StatusNotFound || j.Attempts != 1 {
		t.Fatalf("failed job %+v, want the 404 kept after one attempt", j)
	}
	waitState(t, e, late.ID, jobs.StateExpired, 10*time.Second)
	for _, entry := range m.Log() {
		if entry.Path == "/items" {
			t.Fatalf("the expired job was sent: %+v", entry)
		}
	}
}
