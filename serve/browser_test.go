package serve_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
	"github.com/heedhq/heed/serve"
	"github.com/heedhq/heed/serve/dashboard/dashboardtest"
)

// TestDashboardShowsAForcedCooldown drives the real dashboard of a real
// heed serve handler in headless Chromium: the page loads with no console
// error, shows the upstreams, and a cooldown forced at the mock API during
// the test appears on it, counting down. The screenshot is kept under
// $HEED_ARTIFACTS.
func TestDashboardShowsAForcedCooldown(t *testing.T) {
	t.Parallel()
	m, err := mockapi.New(mockapi.Config{Dialect: mockapi.DialectGitHub,
		Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmFixed, Requests: 1000, Per: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	up := newMockServer(t, m)
	_, base := newServer(t, serve.Config{Jobs: &jobs.Config{Database: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db")}, Config: heed.Config{Upstreams: []heed.Upstream{
		{Name: "github", BaseURL: up, OnLimit: heed.OnLimitFail, Retry: heed.RetryPolicy{Attempts: 1},
			Limits: []heed.Limit{{Requests: 50, Per: time.Second}}},
		{Name: "openai", BaseURL: up + "/openai"},
	}}})
	send := func(tok string) {
		req, _ := http.NewRequest("GET", base+"/github/repos/o/r", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for range 5 {
		send("tok-calm")
	}
	page := dashboardtest.Open(t, base+"/-/")
	page.WaitText("github", "openai", "breaker closed")

	if err := m.Force(mockapi.Force{Credential: "tok-hot", Status: 429, RetryAfter: time.Minute}); err != nil {
		t.Fatal(err)
	}
	send("tok-hot") // the real 429: the scope cools down for a minute
	send("tok-hot") // answered by heed
	page.WaitText("scope cooling down", "429 ·", "jobs: 0 queued")
	page.Screenshot(dashboardtest.ScreenshotPath(t, ""))
	page.CheckErrors()
	if st := m.Stats().Total; st.DuringWait != 0 {
		t.Fatalf("the mock saw %d requests inside the cooldown", st.DuringWait)
	}
}

// newMockServer serves m over loopback for the test and returns its URL.
func newMockServer(t *testing.T, m *mockapi.Server) string {
	t.Helper()
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return srv.URL
}
