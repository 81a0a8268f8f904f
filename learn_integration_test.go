package heed_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
)

// TestLearningMeetsTheTarget is issue 15's learning target on three rows
// of the matrix (BenchmarkLearning has them all): told no limit, a cold
// Transport hammered by 32 workers for 3 windows of heed mock's 20 a
// second gets at least 90% of the quota, and the API refuses under 0.5%
// of the requests. The rows are those spreading did worst on: a fixed
// window under GitHub's whole-second resets (37%), a sliding one under
// Anthropic's (50%), and OpenAI's token bucket (which refused 1.6%).
func TestLearningMeetsTheTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("9s of three cold starts")
	}
	// Not parallel: it measures a rate on a machine of 2 cores.
	for _, c := range []struct{ alg, dialect string }{
		{mockapi.AlgorithmFixed, mockapi.DialectGitHub},
		{mockapi.AlgorithmSliding, mockapi.DialectAnthropic},
		{mockapi.AlgorithmToken, mockapi.DialectOpenAI},
	} {
		t.Run(c.alg+"/"+c.dialect, func(t *testing.T) {
			quota, last, refused := learningRun(t, c.alg, c.dialect, false)
			t.Logf("%.1f%% of the quota over 3 windows, %.0f%% of the last, %.2f%% refused", 100*quota, 100*last, 100*refused)
			if quota < 0.9 {
				t.Errorf("%.1f%% of the quota, want at least 90%%", 100*quota)
			}
			if refused >= 0.005 {
				t.Errorf("%.2f%% of the requests refused, want under 0.5%%", 100*refused)
			}
		})
	}
}

// TestLearningRecoversFromAWrongModel: a token bucket of 10 that refills
// one a second, with resets to the millisecond, looks like a window of one
// second to the first answer (its next unit is a second away). Paced at 10
// a second, the bucket runs dry; the refusal that follows makes heed
// forget the model and spread what is left again, so a handful of
// requests are refused, not one in ten, and the quota is still used.
func TestLearningRecoversFromAWrongModel(t *testing.T) {
	if testing.Short() {
		t.Skip("6s of a slow bucket")
	}
	t.Parallel()
	m, err := mockapi.New(mockapi.Config{Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmToken, Requests: 1, Per: time.Second, Burst: 10},
		Dialect: mockapi.DialectOpenAI})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{Name: "mock", BaseURL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	hammer(t, &http.Client{Transport: tr}, srv.URL, "token-a", 8, 6*time.Second)
	st := m.Stats().Total
	t.Logf("the mock: %d requests, %d accepted, %d refused", st.Requests, st.Accepted, st.Limited)
	if st.Limited > 3 {
		t.Errorf("%d requests refused, want at most 3: one per wrong model, then spread", st.Limited)
	}
	if st.Accepted < 13 { // the bucket's 10 and one a second for the other 5 or so
		t.Errorf("%d requests accepted in 6s, want at least 13 of the bucket's 16", st.Accepted)
	}
}

// TestLearnedWindowLetsABurstGo: a quota of 100 an hour (GitHub's kind,
// whole-second resets) learned from its first answer still lets what is
// left go at once: 60 requests one after another take well under the 36s
// that one every 100th of an hour would.
func TestLearnedWindowLetsABurstGo(t *testing.T) {
	t.Parallel()
	m, err := mockapi.New(mockapi.Config{Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmFixed, Requests: 100, Per: time.Hour},
		Dialect: mockapi.DialectGitHub})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{Name: "mock", BaseURL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	c := &http.Client{Transport: tr}
	start := time.Now()
	for i := range 60 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/items", nil)
		req.Header.Set("Authorization", "Bearer token-a")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %s", i, resp.Status)
		}
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("60 requests of a quota of 100 an hour with all of it left took %v, want them at once", took)
	}
	// 60 more, each willing to wait 100ms: the 40 left go, the others
	// are answered by heed, and the API refuses none.
	var ok, waited int
	for range 60 {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/items", nil)
		req.Header.Set("Authorization", "Bearer token-a")
		resp, err := c.Do(req)
		switch {
		case err != nil:
			waited++
		case resp.StatusCode == http.StatusOK:
			ok++
		default:
			waited++
		}
		if resp != nil {
			resp.Body.Close()
		}
		cancel()
	}
	st := m.Stats().Total
	t.Logf("after the first 60: %d more went, %d did not; the mock: %d accepted, %d refused", ok, waited, st.Accepted, st.Limited)
	if st.Limited != 0 {
		t.Errorf("the API refused %d requests, want none: heed sends only what it says is left", st.Limited)
	}
	if ok < 35 {
		t.Errorf("%d of the 40 left went, want nearly all", ok)
	}
}
