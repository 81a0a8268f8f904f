package heed_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heedhq/heed"
)

// These tests run inside testing/synctest bubbles, where time is fake and
// moves only when every goroutine waits: waits of seconds take no time, and
// their lengths are exact. The upstream is a scripted in-memory
// RoundTripper standing in for the network.

// scripted answers each request with the next of its answers (the last one
// repeats) and records when each request came.
type scripted struct {
	mu      sync.Mutex // guards the fields below
	answers []answer
	arrived []time.Time
	bodies  []string
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (s *scripted) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	s.bodies = append(s.bodies, string(body))
	s.arrived = append(s.arrived, time.Now())
	a := s.answers[min(len(s.arrived)-1, len(s.answers)-1)]
	return &http.Response{StatusCode: a.status, Header: a.header.Clone(), Body: io.NopCloser(strings.NewReader(a.body)), Request: req}, nil
}

func (s *scripted) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrived...)
}

// transport builds a heed Transport over base for https://api.test.
func transport(t *testing.T, base http.RoundTripper, up heed.Upstream, logger *slog.Logger) *heed.Transport {
	t.Helper()
	up.Name, up.BaseURL = "api", "https://api.test"
	tr, err := heed.New(heed.Config{Base: base, Logger: logger, Upstreams: []heed.Upstream{up}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// do sends a GET with a bearer token through rt.
func do(ctx context.Context, rt http.RoundTripper, token string) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.test/items?page=2", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := rt.RoundTrip(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	return resp, err
}

func h(kv ...string) http.Header {
	out := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

func TestRetryWaitsOutTheServersWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := &scripted{answers: []answer{{status: 429, header: h("Retry-After", "3")}, {status: 200}}}
		tr := transport(t, base, heed.Upstream{}, nil)
		start := time.Now()
		resp, err := do(context.Background(), tr, "tok")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v %v, want 200 after a retry", resp, err)
		}
		times := base.times()
		if len(times) != 2 || times[1].Sub(start) != 3*time.Second {
			t.Fatalf("requests at %v, want two, the second exactly 3s after the first", times)
		}
	})
}

func TestWaitPastMaxWaitAnswersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := &scripted{answers: []answer{{status: 429, header: h("Retry-After", "60", "X-Ratelimit-Remaining", "0")}}}
		tr := transport(t, base, heed.Upstream{MaxWait: 2 * time.Second, Retry: heed.RetryPolicy{Attempts: 1}}, nil)
		if resp, _ := do(context.Background(), tr, "tok"); resp.StatusCode != 429 || resp.Header.Get(heed.SyntheticHeader) != "" {
			t.Fatalf("first: got %d %q, want the real 429", resp.StatusCode, resp.Header.Get(heed.SyntheticHeader))
		}
		start := time.Now()
		resp, err := do(context.Background(), tr, "tok")
		if err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("waited %v, want an answer at once", waited)
		}
		if resp.Header.Get(heed.SyntheticHeader) != heed.SyntheticCooldown || resp.Header.Get("Retry-After") != "60" || resp.Header.Get("X-Ratelimit-Remaining") != "0" {
			t.Errorf("got %d %v, want a synthetic cooldown replaying the 429's headers", resp.StatusCode, resp.Header)
		}
		if n := len(base.times()); n != 1 {
			t.Errorf("the upstream saw %d requests, want 1", n)
		}
	})
}

func TestDeadlineShorterThanWaitAnswersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := &scripted{answers: []answer{{status: 429, header: h("Retry-After", "10")}}}
		tr := transport(t, base, heed.Upstream{Retry: heed.RetryPolicy{Attempts: 1}}, nil)
		_, _ = do(context.Background(), tr, "tok")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		resp, err := do(ctx, tr, "tok")
		if err != nil || resp.Header.Get(heed.SyntheticHeader) != heed.SyntheticCooldown || time.Since(start) != 0 {
			t.Fatalf("got %v %v after %v, want a synthetic cooldown at once", resp, err, time.Since(start))
		}
	})
}

func TestCancelWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := &scripted{answers: []answer{{status: 429, header: h("Retry-After", "30")}}}
		tr := transport(t, base, heed.Upstream{Retry: heed.RetryPolicy{Attempts: 1}}, nil)
		_, _ = do(context.Background(), tr, "tok")
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		_, err := do(ctx, tr, "tok")
		if !errors.Is(err, context.Canceled) || time.Since(start) != time.Second {
			t.Fatalf("got %v after %v, want context.Canceled after 1s", err, time.Since(start))
		}
	})
}

func TestCooldownDefaultAndCap(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   string // Retry-After of the synthetic answer, seconds
	}{
		{"SaysNothing", nil, "5"},
		{"AbsurdWaitIsCapped", h("Retry-After", "86400"), "3600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				base := &scripted{answers: []answer{{status: 429, header: tt.header}}}
				tr := transport(t, base, heed.Upstream{OnLimit: heed.OnLimitFail, Retry: heed.RetryPolicy{Attempts: 1}}, nil)
				_, _ = do(context.Background(), tr, "tok")
				resp, _ := do(context.Background(), tr, "tok")
				if got := resp.Header.Get("Retry-After"); got != tt.want || resp.StatusCode != 429 {
					t.Fatalf("got %d Retry-After %q, want 429 and %q", resp.StatusCode, got, tt.want)
				}
			})
		})
	}
}

func TestBillingQuotaIsNotRetriedNorCooled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}`
		base := &scripted{answers: []answer{{status: 429, body: body}}}
		tr := transport(t, base, heed.Upstream{}, nil)
		resp, _ := do(context.Background(), tr, "tok")
		resp2, _ := do(context.Background(), tr, "tok")
		if resp.StatusCode != 429 || resp2.Header.Get(heed.SyntheticHeader) != "" || len(base.times()) != 2 {
			t.Fatalf("want two real 429s and no retry: %d requests, second synthetic %q", len(base.times()), resp2.Header.Get(heed.SyntheticHeader))
		}
	})
}

func TestRequestIsNotModified(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := &scripted{answers: []answer{{status: 503}, {status: 200}}}
		tr := transport(t, base, heed.Upstream{Retry: heed.RetryPolicy{Attempts: 3, Base: time.Millisecond}}, nil)
		req, _ := http.NewRequest(http.MethodPut, "https://api.test/items/1?x=1", bytes.NewReader([]byte("payload")))
		req.Header.Set("Authorization", "Bearer tok")
		before := req.Header.Clone()
		url := req.URL.String()
		resp, err := tr.RoundTrip(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v %v", resp, err)
		}
		if req.URL.String() != url || len(req.Header) != len(before) || req.Header.Get("Authorization") != "Bearer tok" {
			t.Fatalf("the caller's request changed: %v %v", req.URL, req.Header)
		}
		if base.bodies[0] != "payload" || base.bodies[1] != "payload" {
			t.Fatalf("bodies sent %q, want the payload twice", base.bodies)
		}
	})
}

func TestAnonymousWarningOnceAndNoCredentialInLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		base := &scripted{answers: []answer{{status: 429, header: h("Retry-After", "1")}}}
		tr := transport(t, base, heed.Upstream{Retry: heed.RetryPolicy{Attempts: 2}}, logger)
		for range 3 {
			req, _ := http.NewRequest(http.MethodGet, "https://api.test/x", nil) // no credential
			if resp, err := tr.RoundTrip(req); err == nil {
				_ = resp.Body.Close()
			}
		}
		if n := strings.Count(logs.String(), "no recognized credential"); n != 1 {
			t.Errorf("the anonymous-scope warning appeared %d times, want once:\n%s", n, logs.String())
		}
		logs.Reset()
		_, _ = do(context.Background(), tr, "sk-secret-token-123")
		if strings.Contains(logs.String(), "sk-secret-token-123") || logs.Len() == 0 {
			t.Errorf("logs must say what happened without the credential:\n%s", logs.String())
		}
	})
}

func TestExhaustedQuotaOnSuccessCoolsDownUntilReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// OpenAI's form: synctest's clock starts in 2000, before the epoch
		// resets heed believes.
		base := &scripted{answers: []answer{
			{status: 200, header: h("X-Ratelimit-Limit-Requests", "10", "X-Ratelimit-Remaining-Requests", "0", "X-Ratelimit-Reset-Requests", "7s")},
			{status: 200},
		}}
		tr := transport(t, base, heed.Upstream{}, nil)
		_, _ = do(context.Background(), tr, "tok")
		start := time.Now()
		if resp, err := do(context.Background(), tr, "tok"); err != nil || resp.StatusCode != 200 {
			t.Fatal(resp, err)
		}
		if waited := time.Since(start); waited != 7*time.Second {
			t.Errorf("waited %v, want until the reset (7s)", waited)
		}
	})
}
