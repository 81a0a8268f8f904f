package dashboard_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/serve/dashboard"
	"github.com/heedhq/heed/serve/dashboard/dashboardtest"
)

// TestDashboardJobCounts: the header shows the job queue by every state the
// job API names, in its order, each with its own count.
func TestDashboardJobCounts(t *testing.T) {
	t.Parallel()
	queue := map[string]int{jobs.StateQueued: 1, jobs.StateWaitingQuota: 2, jobs.StateRunning: 3,
		jobs.StateSucceeded: 4, jobs.StateFailed: 5, jobs.StateCancelled: 6, jobs.StateExpired: 7}
	mux := http.NewServeMux()
	mux.Handle("/-/", http.StripPrefix("/-/", dashboard.Handler()))
	mux.HandleFunc("GET /-/state", func(w http.ResponseWriter, r *http.Request) {
		writeTestJSON(w, struct {
			heed.Snapshot
			Jobs map[string]int `json:"jobs"`
		}{heed.Snapshot{Time: time.Now(), Store: "memory", Upstreams: []heed.UpstreamState{}}, queue})
	})
	mux.HandleFunc("GET /-/history", func(w http.ResponseWriter, r *http.Request) {
		writeTestJSON(w, history{StepSeconds: 1, End: time.Now().Truncate(time.Second), Upstreams: map[string]*counts{}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	page := dashboardtest.CheckPage(t, srv.URL+"/-/", dashboardtest.ScreenshotPath(t, ""), "jobs: ")
	const want = "jobs: 1 queued · 2 waiting for quota · 3 running · 4 succeeded · 5 failed · 6 cancelled · 7 expired"
	if got := page.Text("#jobs"); got != want {
		t.Errorf("jobs line %q, want %q", got, want)
	}
}

// writeTestJSON answers v as JSON.
func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
