package serve_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
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

// TestDashboardShowsTheCache drives a real heed serve whose upstream
// "cached" has a private cache, over an API that sends ETags: four GETs of
// a resource fresh for a minute (1 miss, 3 hits) and two of one stale at
// once (1 miss, 1 revalidated by a 304 the API charges). The dashboard
// shows a hit rate of 4 in 6 and quota saved on the 3 hits; the upstream
// without a cache shows no cache figures.
func TestDashboardShowsTheCache(t *testing.T) {
	t.Parallel()
	var full, notModified atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tag := `"v1` + r.URL.Path + `"`
		w.Header().Set("ETag", tag)
		w.Header().Set("Cache-Control", "max-age=60")
		if r.URL.Path == "/stale" {
			w.Header().Set("Cache-Control", "max-age=0")
		}
		if r.Header.Get("If-None-Match") == tag {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"path":"`+r.URL.Path+`"}`)
	}))
	t.Cleanup(api.Close)
	_, base := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{
		{Name: "cached", BaseURL: api.URL, Cache: heed.CachePolicy{Enabled: true}},
		{Name: "plain", BaseURL: api.URL + "/plain"},
	}}})
	results := map[string]int{}
	for _, p := range []string{"/cached/fresh", "/cached/fresh", "/cached/fresh", "/cached/fresh", "/cached/stale", "/cached/stale", "/plain/fresh"} {
		resp := getDrained(t, base+p, "Authorization", "Bearer tok-cache")
		results[p+" "+resp.Header.Get(heed.CacheHeader)]++
	}
	if results["/cached/fresh hit"] != 3 || results["/cached/stale revalidated"] != 1 || full.Load() != 3 || notModified.Load() != 1 {
		t.Fatalf("the cache answered %v; the API sent %d full answers and %d 304s, want 3 hits, 1 revalidated, 3 and 1",
			results, full.Load(), notModified.Load())
	}

	page := dashboardtest.Open(t, base+"/-/")
	page.WaitText("cached", "plain", "private cache", "67%", "hit rate", "3 hits · 1 revalidated · 0 coalesced · 2 misses",
		"quota saved", "50% of 6 requests spent none")
	if got := page.Text(`section[data-upstream="cached"] .up-hit-rate`); got != "67%" {
		t.Errorf("hit rate: got %q, want 67%% (hits and revalidated, 4, of 6 looked up)", got)
	}
	if got := page.Text(`section[data-upstream="cached"] .up-saved`); got != "3" {
		t.Errorf("quota saved: got %q, want 3 (the hits; the 304 was charged)", got)
	}
	if got := page.Text(`section[data-upstream="plain"]`); strings.Contains(got, "hit rate") || strings.Contains(got, "quota saved") {
		t.Errorf("the upstream without a cache shows cache figures:\n%s", got)
	}
	page.Screenshot(dashboardtest.ScreenshotPath(t, ""))
	page.CheckErrors()
}
