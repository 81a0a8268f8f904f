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
// per flow, with real traffic to the mock API, sent one at a time so that
// each is in the room before the next: acme's interactive request goes at
// once; globex's interactive request becomes the room's head (it asks the
// store, and waits for next minute's slot); globex's second (of the
// default class, interactive) and acme's three batch requests wait their
// turn behind it, and acme's fourth batch request finds its queue full
// and is refused at once. The dashboard shows the shares (75%, 25%), the
// use of the minute (all of the one admitted: interactive 100%, batch
// 0%), the requests waiting (2 interactive, the head among them, and 3
// batch) and refused (0, 1), and the flows waiting most (acme's batch 3,
// then globex's interactive 2).
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
	answers := make(chan int, 6)
	send := func(tenant, class string) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/openai/v1/models", nil)
		req.Header.Set("Authorization", "Bearer tok-fair")
		req.Header.Set("X-Tenant", tenant)
		if class != "" {
			req.Header.Set(serve.PriorityHeader, class)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil { // given up at the test's end
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answers <- resp.StatusCode
	}
	send("acme", "")
	if code := <-answers; code != http.StatusOK {
		t.Fatalf("the first request: %d, want 200 at once", code)
	}
	for i, r := range []struct{ tenant, class string }{
		{"globex", "interactive"}, {"globex", ""}, {"acme", "batch"}, {"acme", "batch"}, {"acme", "batch"},
	} {
		go send(r.tenant, r.class)
		awaitScopeWaiting(t, base, i+1)
	}
	go send("acme", "batch")
	select {
	case code := <-answers:
		if code != http.StatusTooManyRequests {
			t.Fatalf("acme's fourth batch request: %d, want 429 at once (its queue holds 3)", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("acme's fourth batch request was not refused in 30s")
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
	if got := page.Text(card + ".up-waiting"); got != "5" {
		t.Errorf("the card's waiting: %q, want 5 (the head and the 4 behind it)", got)
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

// state returns heed serve's /-/state.
func state(t *testing.T, base string) heed.Snapshot {
	t.Helper()
	resp, err := http.Get(base + "/-/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st heed.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// awaitScopeWaiting polls /-/state until openai's scopes have n requests
// waiting in all, for up to 30 seconds.
func awaitScopeWaiting(t *testing.T, base string, n int) {
	t.Helper()
	got := 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got = 0
		for _, u := range state(t, base).Upstreams {
			for _, sc := range u.Scopes {
				if u.Name == "openai" {
					got += int(sc.Waiting)
				}
			}
		}
		if got == n {
			return
		}
	}
	t.Fatalf("openai's scopes: %d waiting, want %d", got, n)
}

// awaitFairState polls /-/state until openai's classes have the requests
// waiting that want says, for up to 30 seconds.
func awaitFairState(t *testing.T, base string, want map[string]int) {
	t.Helper()
	var last *heed.FairState
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, u := range state(t, base).Upstreams {
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
