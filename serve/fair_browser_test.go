package serve_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
	"github.com/heedhq/heed/serve"
	"github.com/heedhq/heed/serve/dashboard/dashboardtest"
)

// TestDashboardShowsFairShares drives a real heed serve whose upstream
// "openai" has the issue's fair shares (interactive 3, batch 1, by
// tenant), a limit of one request a minute and at most 3 requests waiting
// per flow, with real traffic to the mock API: one interactive request of
// acme goes at once; then acme sends 4 batch requests (3 wait, the 4th is
// refused at once) and globex 2 interactive ones (both wait). The
// dashboard shows the shares (75%, 25%), the use of the minute (all of
// the one admitted: interactive 100%, batch 0%), the waiting (2, 3) and
// refused (0, 1) requests, and the flows waiting most (acme's batch 3,
// globex's interactive 2). It needs the core's waiting room.
func TestDashboardShowsFairShares(t *testing.T) {
	t.Parallel()
	m, err := mockapi.New(mockapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	up := newMockServer(t, m)
	fair := issueFairness()
	fair.MaxQueue = 3
	_, base := newServer(t, serve.Config{TenantHeader: "X-Tenant", Config: heed.Config{Upstreams: []heed.Upstream{
		{Name: "openai", BaseURL: up, Fairness: fair, MaxWait: 30 * time.Minute, Retry: heed.RetryPolicy{Attempts: 1},
			Limits: []heed.Limit{{Requests: 1, Per: time.Minute}}},
		{Name: "plain", BaseURL: up + "/plain"},
	}}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // before the server closes: the waiting requests give up
	request := func(tenant, class string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/openai/v1/models", nil)
		req.Header.Set("Authorization", "Bearer tok-fair")
		req.Header.Set("X-Tenant", tenant)
		if class != "" {
			req.Header.Set(serve.PriorityHeader, class)
		}
		return http.DefaultClient.Do(req)
	}
	resp, err := request("acme", "")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the first request: %d, want 200 at once", resp.StatusCode)
	}
	answers := make(chan int, 6)
	for _, r := range []struct{ tenant, class string }{
		{"acme", "batch"}, {"acme", "batch"}, {"acme", "batch"}, {"globex", "interactive"}, {"globex", ""}, {"acme", "batch"},
	} {
		go func() {
			resp, err := request(r.tenant, r.class)
			if err != nil { // given up at the test's end
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answers <- resp.StatusCode
		}()
	}
	// One of acme's four batch requests finds its queue full: a synthetic
	// limit answer, at once; the other five wait.
	select {
	case code := <-answers:
		if code != http.StatusTooManyRequests {
			t.Fatalf("the first answer: %d, want 429 for the request over max_queue", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no request was refused for a full queue in 30s")
	}
	awaitFairState(t, base, map[string]int{"interactive": 2, "batch": 3})

	page := dashboardtest.Open(t, base+"/-/")
	page.WaitText("FAIR SHARES", "flows by tenant", "waiting most", "acme", "globex")
	const card = `section[data-upstream="openai"] `
	for _, r := range []struct{ class, share, use, waiting, refused string }{
		{"interactive", "75%", "100%", "2", "0"},
		{"batch", "25%", "0%", "3", "1"},
	} {
		row := card + `tr[data-class="` + r.class + `"] `
		for _, c := range []struct{ cell, want string }{
			{".fair-share", r.share}, {".fair-use", r.use}, {".fair-waiting", r.waiting}, {".fair-refused", r.refused},
		} {
			awaitText(t, page, row+c.cell, c.want)
		}
	}
	flows := page.Text(card + ".up-fair-flows")
	acme, globex := strings.Index(flows, "acme"), strings.Index(flows, "globex")
	if acme < 0 || globex < acme || !strings.Contains(flows[acme:globex], "batch") || !strings.Contains(flows[acme:globex], "3") ||
		!strings.Contains(flows[globex:], "interactive") || !strings.Contains(flows[globex:], "2") {
		t.Errorf("flows waiting most: %q, want acme batch 3, then globex interactive 2", flows)
	}
	if got := page.Text(`section[data-upstream="plain"]`); strings.Contains(strings.ToLower(got), "fair shares") {
		t.Errorf("the upstream without fair shares shows them:\n%s", got)
	}
	page.Screenshot(dashboardtest.ScreenshotPath(t, ""))
	page.CheckErrors()
	if n := m.Stats().Total.Requests; n != 1 {
		t.Errorf("the mock saw %d requests, want the first alone", n)
	}
}

// awaitFairState polls /-/state until openai's classes have the requests
// waiting that want says, for up to 30 seconds.
func awaitFairState(t *testing.T, base string, want map[string]int) {
	t.Helper()
	var last *heed.FairState
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/-/state")
		if err != nil {
			t.Fatal(err)
		}
		var st heed.Snapshot
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range st.Upstreams {
			if u.Name == "openai" {
				last = u.Fairness
			}
		}
		if last != nil && waitingAre(last, want) {
			return
		}
	}
	t.Fatalf("openai's fair state: %+v, want waiting %v", last, want)
}

// waitingAre reports whether each class of f has the requests waiting
// that want says.
func waitingAre(f *heed.FairState, want map[string]int) bool {
	n := 0
	for _, c := range f.Classes {
		if w, ok := want[c.Name]; ok && c.Waiting == w {
			n++
		}
	}
	return n == len(want)
}

// awaitText waits, up to the page's timeout, for the element selector
// picks to show want.
func awaitText(t *testing.T, page *dashboardtest.Page, selector, want string) {
	t.Helper()
	got := ""
	for deadline := time.Now().Add(page.Timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = strings.TrimSpace(page.Text(selector)); got == want {
			return
		}
	}
	t.Errorf("%s: got %q, want %q", selector, got, want)
}
