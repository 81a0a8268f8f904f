package heed_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
)

// recorder is a heed.Metrics that keeps every call.
type recorder struct {
	heed.NoMetrics
	mu     sync.Mutex // guards events
	events []event
}

// event is one call of a Metrics method: word is its outcome, reason,
// quota or state.
type event struct {
	method, upstream, word string
	d                      time.Duration
	v                      float64
}

var _ heed.Metrics = (*recorder)(nil)

func (r *recorder) add(e event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) Request(up, outcome string) {
	r.add(event{method: "Request", upstream: up, word: outcome})
}
func (r *recorder) Attempt(up, outcome string) {
	r.add(event{method: "Attempt", upstream: up, word: outcome})
}
func (r *recorder) Waited(up, reason string, d time.Duration) {
	r.add(event{method: "Waited", upstream: up, word: reason, d: d})
}
func (r *recorder) Retry(up, reason string) {
	r.add(event{method: "Retry", upstream: up, word: reason})
}
func (r *recorder) Cooldown(up string, d time.Duration) {
	r.add(event{method: "Cooldown", upstream: up, d: d})
}
func (r *recorder) Remaining(up, quota string, v float64) {
	r.add(event{method: "Remaining", upstream: up, word: quota, v: v})
}
func (r *recorder) Breaker(up, state string) {
	r.add(event{method: "Breaker", upstream: up, word: state})
}
func (r *recorder) StoreError(up, op string) {
	r.add(event{method: "StoreError", upstream: up, word: op})
}
func (r *recorder) FleetSize(up string, n int) {
	r.add(event{method: "FleetSize", upstream: up, v: float64(n)})
}

// of returns the calls of method, in order.
func (r *recorder) of(method string) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event
	for _, e := range r.events {
		if e.method == method {
			out = append(out, e)
		}
	}
	return out
}

// words returns the words of the calls of method, in order.
func (r *recorder) words(method string) []string {
	var out []string
	for _, e := range r.of(method) {
		out = append(out, e.word)
	}
	return out
}

// waited returns the time reported waited for reason.
func (r *recorder) waited(reason string) time.Duration {
	var sum time.Duration
	for _, e := range r.of("Waited") {
		if e.word == reason {
			sum += e.d
		}
	}
	return sum
}

// wantWords fails t unless the calls of method carried want, in order.
func (r *recorder) wantWords(t *testing.T, method string, want ...string) {
	t.Helper()
	if got := r.words(method); !slices.Equal(got, want) {
		t.Errorf("%s calls %q, want %q", method, got, want)
	}
}

// The token and the path of the requests these tests send: neither may
// reach a metric label.
const (
	meteredToken = "tok-metrics-SECRET-a1b2"
	meteredPath  = "/api/secret-path"
)

// checkLabels fails t if a call names another upstream than upstream, or
// carries the credential or the path of a request.
func (r *recorder) checkLabels(t *testing.T, upstream string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.upstream != upstream {
			t.Errorf("%s for upstream %q, want %q", e.method, e.upstream, upstream)
		}
		for _, label := range []string{e.upstream, e.word} {
			if strings.Contains(label, "SECRET") || strings.Contains(label, "secret-path") {
				t.Errorf("%s carries %q: a credential or path in a label", e.method, label)
			}
		}
	}
}

// metered returns a client over a heed Transport for one upstream that
// reports to the returned recorder; its labels are checked at the end of
// the test.
func metered(t *testing.T, up heed.Upstream) (*http.Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	tr, err := heed.New(heed.Config{Metrics: rec, Upstreams: []heed.Upstream{up}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = tr.Close()
		rec.checkLabels(t, up.Name)
	})
	return &http.Client{Transport: tr}, rec
}

// These run over real loopback HTTP against the mock API, in real time.
func TestMetricsOverHTTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OKAndPassThrough", func(t *testing.T) {
		t.Parallel()
		_, url := newMock(t, mockapi.Config{})
		c, rec := metered(t, heed.Upstream{Name: "mock", BaseURL: url + "/api"})
		for _, path := range []string{meteredPath, "/elsewhere"} { // the second passes through
			if status, _, err := get(ctx, c, url+path, meteredToken); err != nil || status != 200 {
				t.Fatalf("GET %s: %d %v, want 200", path, status, err)
			}
		}
		rec.wantWords(t, "Request", heed.OutcomeOK)
		rec.wantWords(t, "Retry")
		rec.wantWords(t, "Breaker", heed.BreakerClosed) // its state when the Transport was made
		if n := len(rec.of("Cooldown")) + len(rec.of("Waited")); n != 0 {
			t.Errorf("%d cooldowns and waits, want none", n)
		}
	})

	t.Run("LimitedCoolsDown", func(t *testing.T) {
		t.Parallel()
		m, url := newMock(t, mockapi.Config{})
		c, rec := metered(t, heed.Upstream{Name: "mock", BaseURL: url, Retry: heed.RetryPolicy{Attempts: 1}})
		if err := m.Force(mockapi.Force{Status: 429, RetryAfter: 2 * time.Second}); err != nil {
			t.Fatal(err)
		}
		if status, _, _ := get(ctx, c, url+meteredPath, meteredToken); status != 429 {
			t.Fatalf("got %d, want the forced 429", status)
		}
		rec.wantWords(t, "Request", heed.OutcomeLimited)
		rec.wantWords(t, "Retry")
		cds := rec.of("Cooldown")
		if len(cds) != 1 || cds[0].d <= time.Second || cds[0].d > 2*time.Second {
			t.Errorf("cooldowns %+v, want one of about 2s", cds)
		}
	})

	t.Run("RetryAfter429", func(t *testing.T) {
		t.Parallel()
		m, url := newMock(t, mockapi.Config{})
		c, rec := metered(t, heed.Upstream{Name: "mock", BaseURL: url})
		if err := m.Force(mockapi.Force{Status: 429, RetryAfter: time.Second}); err != nil {
			t.Fatal(err)
		}
		if status, _, err := get(ctx, c, url+meteredPath, meteredToken); err != nil || status != 200 {
			t.Fatalf("got %d %v, want 200 after the cooldown", status, err)
		}
		rec.wantWords(t, "Request", heed.OutcomeOK)
		rec.wantWords(t, "Retry", "429")
		if n := len(rec.of("Cooldown")); n != 1 {
			t.Errorf("%d cooldowns, want 1", n)
		}
		if w := rec.waited(heed.WaitCooldown); w < 900*time.Millisecond || w > 3*time.Second {
			t.Errorf("waited %v for the cooldown, want about 1s", w)
		}
	})

	t.Run("FailModeSynthetic", func(t *testing.T) {
		t.Parallel()
		m, url := newMock(t, mockapi.Config{})
		c, rec := metered(t, heed.Upstream{Name: "mock", BaseURL: url, OnLimit: heed.OnLimitFail, Retry: heed.RetryPolicy{Attempts: 1}})
		if err := m.Force(mockapi.Force{Status: 429, RetryAfter: 30 * time.Second}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			_, _, _ = get(ctx, c, url+meteredPath, meteredToken)
		}
		rec.wantWords(t, "Request", heed.OutcomeLimited, heed.OutcomeSyntheticCooldown)
		if w := len(rec.of("Waited")); w != 0 {
			t.Errorf("%d waits reported, want none in fail mode", w)
		}
	})

	t.Run("WaitForLimitThenSyntheticLimit", func(t *testing.T) {
		t.Parallel()
		_, url := newMock(t, mockapi.Config{})
		c, rec := metered(t, heed.Upstream{Name: "mock", BaseURL: url, MaxWait: time.Second,
			Limits: []heed.Limit{{Requests: 1, Per: 300 * time.Millisecond, Path: "/api/*"}, {Requests: 1, Per: time.Hour, Path: "/slow"}}})
		for _, path := range []string{meteredPath, meteredPath, "/slow", "/slow"} {
			_, _, _ = get(ctx, c, url+path, meteredToken)
		}
		rec.wantWords(t, "Request", heed.OutcomeOK, heed.OutcomeOK, heed.OutcomeOK, heed.OutcomeSyntheticLimit)
		if w := rec.waited(heed.WaitLimit); w < 200*time.Millisecond || w > time.Second {
			t.Errorf("waited %v for the limit, want about 300ms", w)
		}
	})

	t.Run("BreakerOpensAndCloses", func(t *testing.T) {
		t.Parallel()
		m, url := newMock(t, mockapi.Config{})
		c, rec := metered(t, heed.Upstream{Name: "mock", BaseURL: url, Retry: heed.RetryPolicy{Attempts: 1},
			Breaker: heed.BreakerPolicy{Failures: 2, OpenFor: 200 * time.Millisecond}})
		if err := m.Force(mockapi.Force{Status: 500, Count: 2}); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			_, _, _ = get(ctx, c, url+meteredPath, meteredToken)
		}
		rec.wantWords(t, "Breaker", heed.BreakerClosed, heed.BreakerOpen)
		time.Sleep(300 * time.Millisecond) // open_for passes: a probe may go
		if status, _, _ := get(ctx, c, url+meteredPath, meteredToken); status != 200 {
			t.Fatalf("after open_for: got %d, want 200", status)
		}
		rec.wantWords(t, "Request", heed.OutcomeServerError, heed.OutcomeServerError, heed.OutcomeSyntheticCircuitOpen, heed.OutcomeOK)
		rec.wantWords(t, "Breaker", heed.BreakerClosed, heed.BreakerOpen, heed.BreakerHalfOpen, heed.BreakerClosed)
	})

	t.Run("ClientError", func(t *testing.T) {
		t.Parallel()
		m, url := newMock(t, mockapi.Config{})
		c, rec := metered(t, heed.Upstream{Name: "mock", BaseURL: url})
		if err := m.Force(mockapi.Force{Status: 404}); err != nil {
			t.Fatal(err)
		}
		_, _, _ = get(ctx, c, url+meteredPath, meteredToken)
		rec.wantWords(t, "Request", heed.OutcomeClientError)
		rec.wantWords(t, "Retry")
	})

	t.Run("TransportErrorRetriedWithBackoff", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close() // connections are refused
		c, rec := metered(t, heed.Upstream{Name: "mock", BaseURL: url,
			Retry: heed.RetryPolicy{Attempts: 3, Backoff: "constant", Base: 20 * time.Millisecond}})
		if _, _, err := get(ctx, c, url+meteredPath, meteredToken); err == nil {
			t.Fatal("got no error from a closed server")
		}
		rec.wantWords(t, "Request", heed.OutcomeTransportError)
		rec.wantWords(t, "Retry", heed.OutcomeTransportError, heed.OutcomeTransportError)
		rec.wantWords(t, "Waited", heed.WaitBackoff, heed.WaitBackoff)
		if w := rec.waited(heed.WaitBackoff); w < 40*time.Millisecond {
			t.Errorf("waited %v in backoff, want at least 2×20ms", w)
		}
	})

	t.Run("QuotaRemaining", func(t *testing.T) {
		t.Parallel()
		_, url := newMock(t, mockapi.Config{Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmFixed, Requests: 100, Per: time.Minute},
			Dialect: mockapi.DialectGitHub})
		c, rec := metered(t, heed.Upstream{Name: "mock", BaseURL: url})
		for range 2 {
			_, _, _ = get(ctx, c, url+meteredPath, meteredToken)
		}
		got := rec.of("Remaining")
		if len(got) != 2 || got[0].word != "core" || got[0].v != 99 || got[1].v != 98 {
			t.Errorf("Remaining calls %+v, want core at 99 then 98", got)
		}
	})
}

// TestMetricsWaitsExactly checks the lengths reported, in a synctest bubble
// where they are exact: a 429 that says to wait 2s, then a 503 retried after
// a constant 100ms backoff.
func TestMetricsWaitsExactly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := &scripted{answers: []answer{
			{status: 429, header: http.Header{"Retry-After": {"2"}}},
			{status: 503},
			{status: 200},
		}}
		rec := &recorder{}
		tr, err := heed.New(heed.Config{Base: base, Metrics: rec, Upstreams: []heed.Upstream{{Name: "api", BaseURL: "https://api.test",
			Retry: heed.RetryPolicy{Attempts: 3, Backoff: "constant", Base: 100 * time.Millisecond}}}})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tr.Close() }()
		if resp, err := do(context.Background(), tr, meteredToken); err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v %v, want 200 on the third attempt", resp, err)
		}
		rec.wantWords(t, "Retry", "429", "503")
		rec.wantWords(t, "Request", heed.OutcomeOK)
		if cds := rec.of("Cooldown"); len(cds) != 1 || cds[0].d != 2*time.Second {
			t.Errorf("cooldowns %+v, want one of 2s", cds)
		}
		want := []event{
			{method: "Waited", upstream: "api", word: heed.WaitCooldown, d: 2 * time.Second},
			{method: "Waited", upstream: "api", word: heed.WaitBackoff, d: 100 * time.Millisecond},
		}
		if got := rec.of("Waited"); !slices.Equal(got, want) {
			t.Errorf("waits %+v, want %+v", got, want)
		}
		rec.checkLabels(t, "api")
	})
}

// TestMetricsWaitOfAbandonedRequest checks what a request reports that
// does not wait (its deadline is before the cooldown ends) and one whose
// context is cancelled while it waits.
func TestMetricsWaitOfAbandonedRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := &scripted{answers: []answer{{status: 429, header: http.Header{"Retry-After": {"60"}}}}}
		rec := &recorder{}
		tr, err := heed.New(heed.Config{Base: base, Metrics: rec, Upstreams: []heed.Upstream{{Name: "api", BaseURL: "https://api.test",
			Retry: heed.RetryPolicy{Attempts: 1}}}})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tr.Close() }()
		_, _ = do(context.Background(), tr, meteredToken) // the 429: a 60s cooldown

		short, cancelShort := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelShort()
		if resp, err := do(short, tr, meteredToken); err != nil || resp.Header.Get(heed.SyntheticHeader) != heed.SyntheticCooldown {
			t.Fatalf("got %v %v, want a synthetic cooldown at once", resp, err)
		}

		cancelled, cancel := context.WithCancel(context.Background())
		time.AfterFunc(3*time.Second, cancel)
		if _, err := do(cancelled, tr, meteredToken); err == nil {
			t.Fatal("got no error from a request cancelled while it waited")
		}
		rec.wantWords(t, "Request", heed.OutcomeLimited, heed.OutcomeSyntheticCooldown, heed.OutcomeTransportError)
		want := []event{{method: "Waited", upstream: "api", word: heed.WaitCooldown, d: 3 * time.Second}}
		if got := rec.of("Waited"); !slices.Equal(got, want) {
			t.Errorf("waits %+v, want %+v", got, want)
		}
	})
}
