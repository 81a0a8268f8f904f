package prom

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
)

// newTest returns Metrics registered with a fresh registry.
func newTest(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func TestRequestCountsOutcomesSyntheticAndLimited(t *testing.T) {
	t.Parallel()
	m, _ := newTest(t)
	for _, o := range []string{heed.OutcomeOK, heed.OutcomeOK, heed.OutcomeLimited, heed.OutcomeServerError,
		heed.OutcomeSyntheticCooldown, heed.OutcomeSyntheticCooldown, heed.OutcomeSyntheticCircuitOpen} {
		m.Request("api", o)
	}
	m.Request("other", heed.OutcomeOK)
	// What reached the API: the final limited answer above, a 429 that was
	// retried, a 503 that was retried.
	m.Attempt("api", heed.OutcomeLimited)
	m.Attempt("api", heed.OutcomeLimited)
	m.Attempt("api", heed.OutcomeServerError)
	m.Retry("api", "429")
	m.Retry("api", "503")
	m.Retry("api", heed.OutcomeTransportError)
	if n := testutil.CollectAndCount(m.synthetic); n != 2 {
		t.Errorf("%d synthetic series, want 2 (cooldown, circuit_open)", n)
	}
	tests := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"RequestsOK", m.requests.WithLabelValues("api", "ok"), 2},
		{"RequestsOther", m.requests.WithLabelValues("other", "ok"), 1},
		{"RequestsLimited", m.requests.WithLabelValues("api", "limited"), 1},
		{"RequestsSynthetic", m.requests.WithLabelValues("api", "synthetic_cooldown"), 2},
		{"SyntheticCooldown", m.synthetic.WithLabelValues("api", "cooldown"), 2},
		{"SyntheticCircuitOpen", m.synthetic.WithLabelValues("api", "circuit_open"), 1},
		{"LimitedFinalAndRetried", m.limited.WithLabelValues("api"), 2},
		{"LimitedOther", m.limited.WithLabelValues("other"), 0},
		{"Retries429", m.retries.WithLabelValues("api", "429"), 1},
		{"RetriesTransport", m.retries.WithLabelValues("api", "transport_error"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testutil.ToFloat64(tt.c); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWaitAndCooldownSeconds(t *testing.T) {
	t.Parallel()
	m, reg := newTest(t)
	m.Waited("api", heed.WaitCooldown, 1500*time.Millisecond)
	m.Waited("api", heed.WaitCooldown, 500*time.Millisecond)
	m.Waited("api", heed.WaitBackoff, 250*time.Millisecond)
	m.Cooldown("api", 30*time.Second)
	want := `
# HELP heed_cooldowns_total Cooldowns recorded for a scope (a tenant and credential) of the upstream.
# TYPE heed_cooldowns_total counter
heed_cooldowns_total{upstream="api"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "heed_cooldowns_total"); err != nil {
		t.Error(err)
	}
	tests := []struct {
		name, metric, label string
		count               uint64
		sum                 float64
	}{
		{"WaitCooldown", "heed_wait_seconds", heed.WaitCooldown, 2, 2},
		{"WaitBackoff", "heed_wait_seconds", heed.WaitBackoff, 1, 0.25},
		{"CooldownLength", "heed_cooldown_seconds", "", 1, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			count, sum := histogramOf(t, reg, tt.metric, tt.label)
			if count != tt.count || sum != tt.sum {
				t.Errorf("count %d sum %v, want %d and %v", count, sum, tt.count, tt.sum)
			}
		})
	}
}

// histogramOf returns the count and sum of the histogram series of metric
// for upstream "api" whose reason is reason ("" for none).
func histogramOf(t *testing.T, reg prometheus.Gatherer, metric, reason string) (uint64, float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, s := range mf.GetMetric() {
			got := ""
			for _, l := range s.GetLabel() {
				if l.GetName() == "reason" {
					got = l.GetValue()
				}
			}
			if got == reason {
				return s.GetHistogram().GetSampleCount(), s.GetHistogram().GetSampleSum()
			}
		}
	}
	t.Fatalf("no %s series with reason %q", metric, reason)
	return 0, 0
}

// TestActiveCooldownsEndOnTime runs in a synctest bubble, where time.Now is
// fake: a cooldown stops counting as active once its length has passed.
func TestActiveCooldownsEndOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, reg := newTest(t)
		m.Cooldown("api", 2*time.Second)
		m.Cooldown("api", 5*time.Second)
		m.Cooldown("other", time.Second)
		steps := []struct {
			after      time.Duration
			api, other int
		}{
			{0, 2, 1},
			{1500 * time.Millisecond, 2, 0}, // other's ended at 1s
			{time.Second, 1, 0},             // api's first ended at 2s
			{3 * time.Second, 0, 0},
		}
		for _, s := range steps {
			time.Sleep(s.after)
			want := `
# HELP heed_active_cooldowns Cooldowns recorded for scopes of the upstream that have not ended yet.
# TYPE heed_active_cooldowns gauge
heed_active_cooldowns{upstream="api"} ` + strconv.Itoa(s.api) + `
heed_active_cooldowns{upstream="other"} ` + strconv.Itoa(s.other) + `
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "heed_active_cooldowns"); err != nil {
				t.Errorf("after %v more: %v", s.after, err)
			}
		}
		m.Cooldown("api", time.Second)
		if got := len(m.active.ends["api"]); got != 1 {
			t.Errorf("%d ends kept for api, want only the one not ended", got)
		}
	})
}

func TestRemainingAndBreakerState(t *testing.T) {
	t.Parallel()
	m, _ := newTest(t)
	m.Remaining("api", "core", 4999)
	m.Remaining("api", "core", 4998)
	m.Remaining("api", "search", 29)
	m.Remaining("api", "bad\xff", 1) // not UTF-8: dropped, no panic
	if got := testutil.ToFloat64(m.remaining.WithLabelValues("api", "core")); got != 4998 {
		t.Errorf("core remaining %v, want the last seen, 4998", got)
	}
	if n := testutil.CollectAndCount(m.remaining); n != 2 {
		t.Errorf("%d quota series, want 2", n)
	}
	tests := []struct {
		state string
		want  float64
	}{
		{heed.BreakerOpen, 2},
		{heed.BreakerHalfOpen, 1},
		{heed.BreakerClosed, 0},
		{heed.BreakerOpen, 2},
		{"sideways", 2}, // unknown: ignored
	}
	for _, tt := range tests {
		m.Breaker("api", tt.state)
		if got := testutil.ToFloat64(m.breaker.WithLabelValues("api")); got != tt.want {
			t.Errorf("after %q: state %v, want %v", tt.state, got, tt.want)
		}
	}
}

func TestNewTwiceOnOneRegistry(t *testing.T) {
	t.Parallel()
	_, reg := newTest(t)
	_, err := New(reg)
	if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("got %v, want an AlreadyRegisteredError that says so", err)
	}
}

// TestNewRegistersAllOrNone makes the last collector clash and checks that
// New leaves the registry as it found it.
func TestNewRegistersAllOrNone(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	clash := newMetrics().breaker
	reg.MustRegister(clash)
	if _, err := New(reg); err == nil || !strings.Contains(err.Error(), "heed_breaker_state") {
		t.Fatalf("got %v, want an error naming heed_breaker_state", err)
	}
	reg.Unregister(clash)
	if _, err := New(reg); err != nil {
		t.Fatalf("after the failed New: %v, want the registry left empty", err)
	}
}

func TestMetricNamesLint(t *testing.T) {
	t.Parallel()
	m, reg := newTest(t)
	m.Request("api", heed.OutcomeOK)
	m.Waited("api", heed.WaitLimit, time.Millisecond)
	m.Retry("api", "503")
	m.Cooldown("api", time.Second)
	m.Remaining("api", "core", 1)
	m.Breaker("api", heed.BreakerClosed)
	m.Fair("api", heed.FairEvent{Class: "batch", Result: heed.FairAdmitted, Cost: 1, Waited: time.Millisecond})
	m.Fair("api", heed.FairEvent{Class: "batch", Result: heed.FairRefused, Cost: 1})
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestThroughTransport sends requests through a heed Transport over real
// HTTP to the mock API and scrapes the registry: the counts are there, and
// no label carries the credential or the path.
func TestThroughTransport(t *testing.T) {
	t.Parallel()
	const token, path = "tok-prom-SECRET-9f8e", "/v1/secret-path"
	mock, err := mockapi.New(mockapi.Config{Dialect: mockapi.DialectGitHub,
		Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmFixed, Requests: 100, Per: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	t.Cleanup(srv.Close)
	m, reg := newTest(t)
	tr, err := heed.New(heed.Config{Metrics: m, Upstreams: []heed.Upstream{{Name: "api", BaseURL: srv.URL,
		Retry: heed.RetryPolicy{Attempts: 2, Base: time.Millisecond}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	if err := mock.Force(mockapi.Force{Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: tr}
	for range 3 {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+path+"?api_key="+token, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	scrape := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(scrape, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := scrape.Body.String()
	for _, want := range []string{
		`heed_requests_total{outcome="ok",upstream="api"} 3`,
		`heed_retries_total{reason="503",upstream="api"} 1`,
		`heed_quota_remaining{quota="core",upstream="api"} 97`,
		`heed_breaker_state{upstream="api"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
	for _, secret := range []string{token, "SECRET", "secret-path", srv.Listener.Addr().String()} {
		if strings.Contains(body, secret) {
			t.Errorf("the scrape contains %q", secret)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

// BenchmarkHooks measures what a request that goes at once costs the
// Metrics: its outcome and one quota's remaining units.
func BenchmarkHooks(b *testing.B) {
	m, err := New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Request("api", heed.OutcomeOK)
		m.Remaining("api", "core", 4999)
	}
}

func TestStoreErrorsAndFleetSize(t *testing.T) {
	t.Parallel()
	m, _ := newTest(t)
	m.StoreError("api", heed.StoreOpAcquire)
	m.StoreError("api", heed.StoreOpAcquire)
	m.StoreError("api", heed.StoreOpHeartbeat)
	if got := testutil.ToFloat64(m.storeErrors.WithLabelValues("api", heed.StoreOpAcquire)); got != 2 {
		t.Errorf("acquire errors %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.storeErrors.WithLabelValues("api", heed.StoreOpHeartbeat)); got != 1 {
		t.Errorf("heartbeat errors %v, want 1", got)
	}
	m.FleetSize("api", 3)
	m.FleetSize("api", 2)
	if got := testutil.ToFloat64(m.fleet.WithLabelValues("api")); got != 2 {
		t.Errorf("fleet %v, want the last count, 2", got)
	}
}

// TestFairCountsByClass: each request leaving a waiting room is counted
// under its upstream and class, its cost added when admitted, its wait
// observed apart by result; an unknown result counts nothing.
func TestFairCountsByClass(t *testing.T) {
	t.Parallel()
	m, reg := newTest(t)
	for _, ev := range []heed.FairEvent{
		{Class: "interactive", Result: heed.FairAdmitted, Cost: 1800, Waited: 0},
		{Class: "interactive", Result: heed.FairAdmitted, Cost: 200, Waited: 500 * time.Millisecond},
		{Class: "batch", Result: heed.FairAdmitted, Cost: 1, Waited: 2 * time.Second},
		{Class: "batch", Result: heed.FairRefused, Cost: 1, Waited: 3 * time.Second},
		{Class: "batch", Result: heed.FairRefused, Cost: 1},
		{Class: "batch", Result: "sideways", Cost: 99, Waited: time.Hour},
	} {
		m.Fair("api", ev)
	}
	m.Fair("other", heed.FairEvent{Class: "default", Result: heed.FairAdmitted, Cost: 1})
	tests := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"AdmittedInteractive", m.fairAdmitted.WithLabelValues("api", "interactive"), 2},
		{"AdmittedBatch", m.fairAdmitted.WithLabelValues("api", "batch"), 1},
		{"RefusedBatch", m.fairRefused.WithLabelValues("api", "batch"), 2},
		{"RefusedInteractive", m.fairRefused.WithLabelValues("api", "interactive"), 0},
		{"CostInteractive", m.fairCost.WithLabelValues("api", "interactive"), 2000},
		{"CostBatchAdmittedOnly", m.fairCost.WithLabelValues("api", "batch"), 1},
		{"AdmittedOther", m.fairAdmitted.WithLabelValues("other", "default"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testutil.ToFloat64(tt.c); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	waits := []struct {
		name, class, result string
		count               uint64
		sum                 float64
	}{
		{"WaitInteractiveAdmitted", "interactive", heed.FairAdmitted, 2, 0.5},
		{"WaitBatchAdmitted", "batch", heed.FairAdmitted, 1, 2},
		{"WaitBatchRefused", "batch", heed.FairRefused, 2, 3},
	}
	for _, tt := range waits {
		t.Run(tt.name, func(t *testing.T) {
			count, sum := fairWaitOf(t, reg, "api", tt.class, tt.result)
			if count != tt.count || sum != tt.sum {
				t.Errorf("count %d sum %v, want %d and %v", count, sum, tt.count, tt.sum)
			}
		})
	}
	if n := testutil.CollectAndCount(m.fairWait); n != 4 {
		t.Errorf("%d wait series, want 4 (the unknown result observed nothing)", n)
	}
}

// fairWaitOf returns the count and sum of heed_fair_wait_seconds for
// upstream, class and result.
func fairWaitOf(t *testing.T, reg prometheus.Gatherer, upstream, class, result string) (uint64, float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "heed_fair_wait_seconds" {
			continue
		}
		for _, s := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range s.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if got["upstream"] == upstream && got["class"] == class && got["result"] == result {
				return s.GetHistogram().GetSampleCount(), s.GetHistogram().GetSampleSum()
			}
		}
	}
	t.Fatalf("no heed_fair_wait_seconds series for %s/%s/%s", upstream, class, result)
	return 0, 0
}
