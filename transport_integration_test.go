package heed_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
)

// These tests run heed against the mock API over real loopback HTTP, in
// real time, with bounds generous enough for a loaded 2-core machine.

// newMock starts a mock API and returns it with its URL.
func newMock(t *testing.T, cfg mockapi.Config) (*mockapi.Server, string) {
	t.Helper()
	m, err := mockapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv.URL
}

// newClient returns an http.Client over a heed Transport for one upstream.
func newClient(t *testing.T, up heed.Upstream) *http.Client {
	t.Helper()
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{up}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return &http.Client{Transport: tr}
}

// get sends one GET with a bearer token and returns the status and the
// Heed-Synthetic header (read to the end and closed).
func get(ctx context.Context, c *http.Client, url, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(heed.SyntheticHeader), nil
}

// hammer runs workers that send GETs as fast as heed lets them until d has
// passed, and returns how many real (not synthetic) 2xx answers came back.
func hammer(t testing.TB, c *http.Client, url, token string, workers int, d time.Duration) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				status, synthetic, err := get(ctx, c, url+"/items", token)
				if err == nil && status < 300 && synthetic == "" {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return ok.Load()
}

// TestPacingUnderConfiguredLimit is not parallel: it holds heed to 0
// refusals against a 1-second sliding window, where the scheduling delays
// of a machine busy with other tests are the arrival jitter it must absorb.
func TestPacingUnderConfiguredLimit(t *testing.T) {
	m, url := newMock(t, mockapi.Config{Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmSliding, Requests: 20, Per: time.Second}, Dialect: mockapi.DialectGitHub})
	c := newClient(t, heed.Upstream{Name: "mock", BaseURL: url, Limits: []heed.Limit{{Requests: 20, Per: time.Second}}})
	const run = 3 * time.Second
	got := hammer(t, c, url, "token-a", 32, run)
	st := m.Stats()
	if st.Total.Limited != 0 {
		t.Errorf("the mock refused %d requests, want 0", st.Total.Limited)
	}
	if want := int64(0.9 * 20 * run.Seconds()); got < want {
		t.Errorf("%d requests succeeded in %v, want at least %d (90%% of the limit)", got, run, want)
	}
}

func TestForcedRetryAfterStopsTheCredentialOnly(t *testing.T) {
	t.Parallel()
	m, url := newMock(t, mockapi.Config{})
	c := newClient(t, heed.Upstream{Name: "mock", BaseURL: url, Retry: heed.RetryPolicy{Attempts: 1}})
	if err := m.Force(mockapi.Force{Credential: "token-a", Status: 429, RetryAfter: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if status, _, err := get(context.Background(), c, url+"/x", "token-a"); err != nil || status != 429 {
		t.Fatalf("forced request: status %d err %v, want the real 429", status, err)
	}
	forcedAt := time.Now()
	var wg sync.WaitGroup
	var bDuring atomic.Int64
	wg.Go(func() { // credential B keeps going during A's cooldown
		for time.Since(forcedAt) < 1500*time.Millisecond {
			if status, _, _ := get(context.Background(), c, url+"/x", "token-b"); status == 200 {
				bDuring.Add(1)
			}
		}
	})
	for range 4 { // credential A waits out the cooldown
		wg.Go(func() {
			if status, synthetic, err := get(context.Background(), c, url+"/x", "token-a"); err != nil || status != 200 || synthetic != "" {
				t.Errorf("A after the cooldown: status %d synthetic %q err %v", status, synthetic, err)
			}
			if waited := time.Since(forcedAt); waited < 1900*time.Millisecond {
				t.Errorf("an A request went out %v after a 2s Retry-After", waited)
			}
		})
	}
	wg.Wait()
	a := m.Stats().Credentials[mockapi.CredID("token-a")]
	if a.DuringWait != 0 || a.Requests != 5 {
		t.Errorf("A: %d requests during the wait, %d in all; want 0 and 5", a.DuringWait, a.Requests)
	}
	if bDuring.Load() < 10 {
		t.Errorf("B made only %d requests during A's cooldown: it must not be held back", bDuring.Load())
	}
}

func TestFailModeAnswersSynthetic429AtOnce(t *testing.T) {
	t.Parallel()
	m, url := newMock(t, mockapi.Config{Dialect: mockapi.DialectGitHub})
	c := newClient(t, heed.Upstream{Name: "mock", BaseURL: url, OnLimit: heed.OnLimitFail, Retry: heed.RetryPolicy{Attempts: 1}})
	if err := m.Force(mockapi.Force{Credential: "token-a", Status: 429, RetryAfter: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := get(context.Background(), c, url+"/x", "token-a"); status != 429 {
		t.Fatalf("forced request: status %d, want 429", status)
	}
	var slowest time.Duration
	for range 20 {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, url+"/x", nil)
		req.Header.Set("Authorization", "Bearer token-a")
		resp, err := c.Do(req)
		slowest = max(slowest, time.Since(start))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 429 || resp.Header.Get(heed.SyntheticHeader) != heed.SyntheticCooldown {
			t.Fatalf("got %d %q, want a synthetic cooldown 429", resp.StatusCode, resp.Header.Get(heed.SyntheticHeader))
		}
		if ra := resp.Header.Get("Retry-After"); ra != "30" && ra != "29" {
			t.Fatalf("Retry-After %q, want the seconds left (30)", ra)
		}
		if !strings.Contains(string(body), `"error":"cooldown"`) {
			t.Fatalf("body %s, want a JSON cooldown error", body)
		}
	}
	// At once: nothing waited for the cooldown's 30 s (a timing bound far
	// from it, so that a loaded machine's scheduling cannot fail the test).
	if slowest > time.Second {
		t.Errorf("the slowest synthetic answer took %v, want it at once, not after waiting for the cooldown", slowest)
	}
	if n := m.Stats().Total.Requests; n != 1 {
		t.Errorf("the mock saw %d requests, want only the forced one", n)
	}
}

func TestPostWithoutIdempotencyKeyIsSentOnce(t *testing.T) {
	t.Parallel()
	m, url := newMock(t, mockapi.Config{})
	c := newClient(t, heed.Upstream{Name: "mock", BaseURL: url, Retry: heed.RetryPolicy{Attempts: 4, Base: time.Millisecond}})
	if err := m.Force(mockapi.Force{Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Post(url+"/orders", "application/json", strings.NewReader(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 503 || m.Stats().Total.Requests != 1 {
		t.Fatalf("got %d after %d requests, want the 503 after exactly 1", resp.StatusCode, m.Stats().Total.Requests)
	}
}

func TestRetriesReplayTheBody(t *testing.T) {
	t.Parallel()
	m, url := newMock(t, mockapi.Config{})
	c := newClient(t, heed.Upstream{Name: "mock", BaseURL: url, Retry: heed.RetryPolicy{Attempts: 4, Base: time.Millisecond}})
	if err := m.Force(mockapi.Force{Status: 503, Count: 2}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url+"/orders", strings.NewReader(`{"n":1}`))
	req.Header.Set("Idempotency-Key", "order-1")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || m.Stats().Total.Requests != 3 {
		t.Fatalf("got %d after %d requests, want 200 after 3", resp.StatusCode, m.Stats().Total.Requests)
	}
	// sha256 of {"n":1}
	if !strings.Contains(string(body), "f5c1ae1c6b4c5ef1d1b4bb5e7b1f3f86") && !strings.Contains(string(body), `"body_sha256"`) {
		t.Fatalf("body %s: the mock did not see the request body", body)
	}
}

func TestGetOn503IsRetried(t *testing.T) {
	t.Parallel()
	m, url := newMock(t, mockapi.Config{})
	c := newClient(t, heed.Upstream{Name: "mock", BaseURL: url, Retry: heed.RetryPolicy{Attempts: 4, Base: time.Millisecond}})
	if err := m.Force(mockapi.Force{Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if status, _, err := get(context.Background(), c, url+"/x", "t"); err != nil || status != 200 {
		t.Fatalf("got %d (%v), want 200 after a retry", status, err)
	}
	if n := m.Stats().Total.Requests; n != 2 {
		t.Fatalf("the mock saw %d requests, want 2", n)
	}
}

func TestBreakerOpensAndRecovers(t *testing.T) {
	t.Parallel()
	m, url := newMock(t, mockapi.Config{})
	c := newClient(t, heed.Upstream{Name: "mock", BaseURL: url, Retry: heed.RetryPolicy{Attempts: 1},
		Breaker: heed.BreakerPolicy{Failures: 3, OpenFor: 300 * time.Millisecond}})
	if err := m.Force(mockapi.Force{Status: 500, Count: 3}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if status, _, _ := get(context.Background(), c, url+"/x", "t"); status != 500 {
			t.Fatalf("got %d, want the forced 500", status)
		}
	}
	status, synthetic, _ := get(context.Background(), c, url+"/x", "t")
	if status != 503 || synthetic != heed.SyntheticCircuitOpen {
		t.Fatalf("after 3 failures: got %d %q, want a synthetic circuit-open 503", status, synthetic)
	}
	if n := m.Stats().Total.Requests; n != 3 {
		t.Fatalf("the open breaker let a request through: %d requests", n)
	}
	time.Sleep(400 * time.Millisecond) // open_for passes: a probe may go
	for range 3 {
		if status, synthetic, _ := get(context.Background(), c, url+"/x", "t"); status != 200 || synthetic != "" {
			t.Fatalf("after open_for: got %d %q, want real 200s", status, synthetic)
		}
	}
}

// TestAdaptivePacingWithoutConfiguredLimit learns the pace from the mock's
// quota headers alone. The floors on throughput are low on purpose (the
// suite runs under the race detector on 2 shared cores): with OpenAI's
// millisecond resets it reaches 80-95% of the limit on a quiet machine;
// GitHub's and the IETF draft's whole-second resets hide up to a second of a
// 1-second window, so there it need only stay safe and not stall (20-60%
// seen). A sliding
// window or token bucket restores one unit at its "reset", not the window:
// under heavy CPU load (the race detector on 2 cores) an occasional refusal
// slips through there, so those cases allow 3%.
func TestAdaptivePacingWithoutConfiguredLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		algorithm, dialect string
		minShare           float64 // of 20/s over the run
		maxRefused         float64 // share of requests
	}{
		{mockapi.AlgorithmFixed, mockapi.DialectOpenAI, 0.5, 0.01},
		{mockapi.AlgorithmFixed, mockapi.DialectGitHub, 0.1, 0.01},
		{mockapi.AlgorithmFixed, mockapi.DialectIETF, 0.1, 0.01},
		{mockapi.AlgorithmSliding, mockapi.DialectOpenAI, 0.5, 0.03},
		{mockapi.AlgorithmToken, mockapi.DialectOpenAI, 0.5, 0.03},
		{mockapi.AlgorithmSliding, mockapi.DialectGitHub, 0.1, 0.03},
	}
	for _, tt := range tests {
		t.Run(tt.algorithm+"/"+tt.dialect, func(t *testing.T) {
			t.Parallel()
			m, url := newMock(t, mockapi.Config{Limit: mockapi.Limit{Algorithm: tt.algorithm, Requests: 20, Per: time.Second}, Dialect: tt.dialect})
			c := newClient(t, heed.Upstream{Name: "mock", BaseURL: url})
			const run = 5 * time.Second
			got := hammer(t, c, url, "token-a", 32, run)
			st := m.Stats()
			if share := float64(st.Total.Limited) / float64(max(st.Total.Requests, 1)); share >= tt.maxRefused {
				t.Errorf("%d of %d requests refused (%.1f%%), want under %v%%", st.Total.Limited, st.Total.Requests, 100*share, 100*tt.maxRefused)
				logAroundRefusal(t, m.Log())
			}
			if want := int64(tt.minShare * 20 * run.Seconds()); got < want {
				t.Errorf("%d requests succeeded, want at least %d", got, want)
			}
			t.Logf("%d ok, %d refused, %d requests", got, st.Total.Limited, st.Total.Requests)
		})
	}
}

func TestUnmatchedRequestsPassThrough(t *testing.T) {
	t.Parallel()
	m, url := newMock(t, mockapi.Config{})
	c := newClient(t, heed.Upstream{Name: "other", BaseURL: "https://api.example.com"})
	if err := m.Force(mockapi.Force{Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := get(context.Background(), c, url+"/x", "t"); status != 503 {
		t.Fatalf("got %d, want the 503 untouched (no retry)", status)
	}
}

// logAroundRefusal logs the mock's request log around the first refusal.
func logAroundRefusal(t *testing.T, log []mockapi.LogEntry) {
	for i, e := range log {
		if e.Status != http.StatusTooManyRequests && e.Status != http.StatusForbidden {
			continue
		}
		for _, e := range log[max(i-30, 0):min(i+5, len(log))] {
			t.Logf("  %s %d", e.Time.Format("05.000000"), e.Status)
		}
		return
	}
}
