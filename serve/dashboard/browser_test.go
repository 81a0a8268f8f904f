package dashboard_test

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/serve/dashboard"
	"github.com/heedhq/heed/serve/dashboard/dashboardtest"
)

// historySeconds is how many per-second buckets /-/history returns.
const historySeconds = 300

// history is the JSON of /-/history: per-second counts per upstream, oldest
// first, the last bucket at End.
type history struct {
	StepSeconds int                `json:"step_seconds"`
	End         time.Time          `json:"end"`
	Upstreams   map[string]*counts `json:"upstreams"`
}

// counts are one upstream's series in a history.
type counts struct {
	Requests  []int `json:"requests"`
	Limited   []int `json:"limited"`
	Synthetic []int `json:"synthetic"`
	Waits     []int `json:"waits"`
	// Fair holds, by priority class, the cost admitted and the requests
	// refused each second.
	Fair map[string]*fairCounts `json:"fair,omitempty"`
}

// fairCounts is one class's series in counts.
type fairCounts struct {
	AdmittedCost []int `json:"admitted_cost"`
	Refused      []int `json:"refused"`
}

// fakeAPI serves the dashboard at /-/ with made-up /-/state and /-/history
// answers, standing in for heed serve.
type fakeAPI struct {
	start    time.Time
	state    func(now time.Time) heed.Snapshot
	history  func(now time.Time) history
	failWith atomic.Int32 // an HTTP status to answer state and history with; 0: answer
	stateHit atomic.Int64 // state requests served
}

// serve starts an httptest server for the fake and returns the page's URL.
func (f *fakeAPI) serve(t *testing.T) string {
	mux := http.NewServeMux()
	mux.Handle("/-/", http.StripPrefix("/-/", dashboard.Handler()))
	mux.HandleFunc("GET /-/state", func(w http.ResponseWriter, r *http.Request) {
		f.stateHit.Add(1)
		f.answer(w, f.state(time.Now()))
	})
	mux.HandleFunc("GET /-/history", func(w http.ResponseWriter, r *http.Request) {
		f.answer(w, f.history(time.Now()))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/-/"
}

// answer writes v as JSON, or the failWith status when it is set.
func (f *fakeAPI) answer(w http.ResponseWriter, v any) {
	if code := int(f.failWith.Load()); code != 0 {
		http.Error(w, http.StatusText(code), code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func TestDashboardInBrowser(t *testing.T) {
	t.Parallel()
	t.Run("Upstreams", testUpstreams)
	t.Run("NoUpstreams", testNoUpstreams)
	t.Run("Disconnected", testDisconnected)
	t.Run("FairShares", testFairShares)
}

// testUpstreams shows three upstreams, one per breaker state, and checks that
// a cooldown counts down and the page keeps polling.
func testUpstreams(t *testing.T) {
	t.Parallel()
	f := &fakeAPI{start: time.Now()}
	f.state = f.fleetState
	f.history = f.fleetHistory
	url := f.serve(t)
	page := dashboardtest.CheckPage(t, url, dashboardtest.ScreenshotPath(t, ""),
		"github", "https://api.github.com", "stripe", "internal",
		"breaker closed", "breaker half-open", "breaker open",
		"429dde6f", "429 · retry-after", "4,999 / 5,000", "no limit configured",
		"limit 5,000/h", "burst 20")

	const countdown = `tr[data-scope="429dde6f"] .countdown`
	first, polls := parseCountdown(t, page.Text(countdown)), f.stateHit.Load()
	time.Sleep(2 * time.Second) // a browser test over loopback: real time
	second, polled := parseCountdown(t, page.Text(countdown)), f.stateHit.Load()-polls
	if d := first - second; d < time.Second || d > 4*time.Second {
		t.Errorf("cooldown countdown: %v, then %v two seconds later; want it %v to %v less", first, second, time.Second, 4*time.Second)
	}
	if polled < 1 {
		t.Errorf("the page fetched state %d times in two seconds, want at least once", polled)
	}

	// Pointing at the chart shows the counts of one second instead of the
	// totals.
	const legend = `section[data-upstream="github"] .legend-title`
	page.Hover(`section[data-upstream="github"] canvas`)
	if got := page.Text(legend); !strings.HasPrefix(got, "at ") {
		t.Errorf("legend over the chart: got %q, want the time of a second (\"at …\")", got)
	}
	page.Hover(`section[data-upstream="github"] .up-name`)
	if got := page.Text(legend); !strings.Contains(got, "total") {
		t.Errorf("legend away from the chart: got %q, want the totals", got)
	}
	page.CheckErrors()
}

func testNoUpstreams(t *testing.T) {
	t.Parallel()
	f := &fakeAPI{start: time.Now()}
	f.state = func(now time.Time) heed.Snapshot {
		return heed.Snapshot{Time: now, Store: "memory", Upstreams: []heed.UpstreamState{}}
	}
	f.history = func(now time.Time) history {
		return history{StepSeconds: 1, End: now.Truncate(time.Second), Upstreams: map[string]*counts{}}
	}
	dashboardtest.CheckPage(t, f.serve(t), dashboardtest.ScreenshotPath(t, ""), "No upstreams configured", "live")
}

// testDisconnected starts with the API down, then brings it up, then asks
// for the admin token, then goes down again: the page says what is wrong,
// keeps retrying and recovers.
func testDisconnected(t *testing.T) {
	t.Parallel()
	f := &fakeAPI{start: time.Now()}
	f.state = f.fleetState
	f.history = f.fleetHistory
	f.failWith.Store(http.StatusServiceUnavailable)
	page := dashboardtest.CheckPage(t, f.serve(t), dashboardtest.ScreenshotPath(t, ""),
		"disconnected", "Cannot reach heed (state: HTTP 503)")
	f.failWith.Store(0)
	page.WaitText("live", "github", "breaker half-open")
	if got := page.Text("#status"); strings.Contains(got, "disconnected") {
		t.Errorf("status after the API came back: got %q, want live", got)
	}
	f.failWith.Store(http.StatusUnauthorized)
	page.WaitText("disconnected", "heed wants its admin token (state: HTTP 401)")
	f.failWith.Store(http.StatusServiceUnavailable)
	page.WaitText("Lost contact with heed", "github")
	page.Screenshot(dashboardtest.ScreenshotPath(t, "stale"))
	page.CheckErrors()
}

// parseCountdown parses a countdown as the page shows it: "42s", "4m 05s"
// or "2h 03m".
func parseCountdown(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if err != nil {
		t.Fatalf("countdown %q: %v", s, err)
	}
	return d
}

// cooldownFor is how long the fake's cooldown lasts from the fake's start.
const cooldownFor = 90 * time.Second

// fleetState is a shared-store snapshot of three upstreams: github (a
// scope in cooldown, quotas, a fleet of 3), stripe (half-open, a burst, a
// path limit) and internal (breaker open, no limits, no scopes, no history).
func (f *fakeAPI) fleetState(now time.Time) heed.Snapshot {
	until := f.start.Add(cooldownFor)
	return heed.Snapshot{Time: now, Store: "shared", Upstreams: []heed.UpstreamState{
		{
			Name: "github", BaseURL: "https://api.github.com", Concurrency: 10, Breaker: heed.BreakerClosed, Processes: 3,
			Limits: []heed.LimitState{{Requests: 5000, Per: 3600}},
			Scopes: []heed.ScopeState{
				{Scope: "7c1e09b2", InFlight: 2, Waiting: 1, LastSeen: now.Add(-300 * time.Millisecond),
					Quotas: []heed.QuotaState{quota("core", 5000, 1187, now.Add(41*time.Minute), now)}},
				{Scope: "429dde6f", LastSeen: now.Add(-4 * time.Second),
					Cooldown: &heed.CooldownState{Until: until, RemainingSeconds: max(until.Sub(now).Seconds(), 0), Status: 429, Source: "retry-after"},
					Quotas: []heed.QuotaState{
						quota("core", 5000, 4999, now.Add(58*time.Minute), now),
						quota("search", 30, 2, now.Add(40*time.Second), now),
					}},
				{Scope: "anonymous", LastSeen: now.Add(-95 * time.Second)},
			},
		},
		{
			Name: "stripe", BaseURL: "https://api.stripe.com", Concurrency: 25, Breaker: heed.BreakerHalfOpen, Processes: 3,
			Limits: []heed.LimitState{{Requests: 100, Per: 1, Burst: 20}, {Requests: 20, Per: 1, Path: "/v1/search"}},
			Scopes: []heed.ScopeState{{Scope: "e93b1f40", InFlight: 7, LastSeen: now}},
		},
		{Name: "internal", BaseURL: "http://billing.internal:8080", Breaker: heed.BreakerOpen, Scopes: []heed.ScopeState{}},
	}}
}

// quota is a QuotaState with a limit and a remainder.
func quota(name string, limit, remaining float64, reset, seen time.Time) heed.QuotaState {
	return heed.QuotaState{Name: name, Limit: &limit, Remaining: &remaining, Reset: reset, Seen: seen}
}

// fleetHistory is made-up traffic for github and stripe, a function of the
// wall-clock second so that the chart moves as it would live.
func (f *fakeAPI) fleetHistory(now time.Time) history {
	end := now.Truncate(time.Second)
	h := history{StepSeconds: 1, End: end, Upstreams: map[string]*counts{
		"github": {}, "stripe": {},
	}}
	for i := range historySeconds {
		sec := end.Unix() - int64(historySeconds-1-i)
		gh, st := h.Upstreams["github"], h.Upstreams["stripe"]
		gh.Requests = append(gh.Requests, wave(sec, 1.2, 1, 0))
		gh.Limited = append(gh.Limited, spike(sec, 97, 2))
		gh.Synthetic = append(gh.Synthetic, spike(sec, 41, 1))
		gh.Waits = append(gh.Waits, spike(sec, 13, 1))
		st.Requests = append(st.Requests, wave(sec, 42, 25, 1))
		st.Limited = append(st.Limited, spike(sec, 61, 6))
		st.Synthetic = append(st.Synthetic, spike(sec, 29, 4))
		st.Waits = append(st.Waits, wave(sec, 3, 3, 2))
	}
	return h
}

// wave is a count around mean that swings by amp over a few minutes, with
// noise; seed picks the phase.
func wave(sec int64, mean, amp float64, seed uint32) int {
	phase := float64(seed) * 1.7
	v := mean + amp*math.Sin(float64(sec)/37+phase) + amp*0.6*(noise(sec, seed)-0.5)
	return max(0, int(math.Round(v)))
}

// spike is 0 most seconds and up to height about once every every seconds.
func spike(sec int64, every int, height int) int {
	if noise(sec, uint32(every)) > 1/float64(every) {
		return 0
	}
	return 1 + int(noise(sec, 7)*float64(height))
}

// noise is a repeatable number in [0, 1) for a second and a seed.
func noise(sec int64, seed uint32) float64 {
	h := fnv.New32a()
	h.Write([]byte(strconv.FormatInt(sec, 10) + "/" + strconv.FormatUint(uint64(seed), 10)))
	return float64(h.Sum32()) / (1 << 32)
}

// testFairShares shows an upstream with fair shares: each class with its
// share of the sum of shares, its use of the cost admitted over the last
// minute (older seconds aside), its waiting and refused requests, and the
// flows waiting most, whose names are text even when they look like
// markup; the upstream without fair shares shows none of it.
func testFairShares(t *testing.T) {
	t.Parallel()
	// Shown as text, innerText has the markup itself; run as markup, it
	// would have an image instead (and a CSP violation CheckErrors reports).
	const markup = `<img src=x onerror="document.title='owned'">`
	f := &fakeAPI{start: time.Now()}
	f.state = func(now time.Time) heed.Snapshot {
		return heed.Snapshot{Time: now, Store: "memory", Upstreams: []heed.UpstreamState{
			{Name: "openai", BaseURL: "https://api.openai.com", Breaker: heed.BreakerClosed, Scopes: []heed.ScopeState{},
				Fairness: &heed.FairState{By: heed.FairByTenant,
					Classes: []heed.FairClassState{{Name: "interactive", Share: 3, Waiting: 2}, {Name: "batch", Share: 1, Waiting: 7}},
					TopWaiting: []heed.FairFlowState{{Flow: "acme", Class: "batch", Waiting: 5}, {Flow: markup, Class: "batch", Waiting: 2},
						{Flow: "globex", Class: "interactive", Waiting: 2}}}},
			{Name: "plain", BaseURL: "https://plain.example", Breaker: heed.BreakerClosed, Scopes: []heed.ScopeState{}},
		}}
	}
	f.history = func(now time.Time) history {
		z := func() []int { return make([]int, historySeconds) }
		inter, batch := &fairCounts{AdmittedCost: z(), Refused: z()}, &fairCounts{AdmittedCost: z(), Refused: z()}
		last := historySeconds - 1
		// The last minute: interactive 600 of cost, batch 200 (75% and
		// 25%), batch 4 refused; before it, batch alone, out of the window.
		inter.AdmittedCost[last], inter.AdmittedCost[last-30] = 500, 100
		batch.AdmittedCost[last-59], batch.AdmittedCost[last-10] = 150, 50
		batch.Refused[last-5], batch.Refused[last] = 3, 1
		batch.AdmittedCost[last-60], batch.Refused[last-61] = 100000, 99
		ups := map[string]*counts{
			"openai": {Requests: z(), Limited: z(), Synthetic: z(), Waits: z(), Fair: map[string]*fairCounts{"interactive": inter, "batch": batch}},
			"plain":  {Requests: z(), Limited: z(), Synthetic: z(), Waits: z()},
		}
		return history{StepSeconds: 1, End: now.Truncate(time.Second), Upstreams: ups}
	}
	page := dashboardtest.CheckPage(t, f.serve(t), dashboardtest.ScreenshotPath(t, ""),
		"FAIR SHARES", "flows by tenant", "interactive", "batch", "waiting most", "acme", "globex")
	const card = `section[data-upstream="openai"] `
	rows := []struct {
		class, share, use, waiting, refused string
	}{
		{"interactive", "75%", "75%", "2", "0"},
		{"batch", "25%", "25%", "7", "4"},
	}
	for _, r := range rows {
		row := card + `tr[data-class="` + r.class + `"] `
		for _, c := range []struct{ cell, want string }{
			{".fair-share", r.share}, {".fair-use", r.use}, {".fair-waiting", r.waiting}, {".fair-refused", r.refused},
		} {
			if got := strings.TrimSpace(page.Text(row + c.cell)); got != c.want {
				t.Errorf("%s %s: got %q, want %q", r.class, c.cell, got, c.want)
			}
		}
	}
	flows := page.Text(card + ".up-fair-flows")
	if !strings.Contains(flows, markup) || strings.Index(flows, "acme") > strings.Index(flows, "globex") {
		t.Errorf("flows %q: want acme first, globex after, and the markup shown as text", flows)
	}
	if got := page.Text(`section[data-upstream="plain"]`); strings.Contains(strings.ToLower(got), "fair shares") {
		t.Errorf("the upstream without fair shares shows them:\n%s", got)
	}
	page.CheckErrors()
}
