package heed_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heedhq/heed"
)

// TestRefusalOf reads each kind of refusal back from a Transport's answer:
// heed's synthetic ones with their exact wait, and the API's own.
func TestRefusalOf(t *testing.T) {
	reset := func() string { return strconv.FormatInt(time.Now().Add(90*time.Second).Unix(), 10) }
	tests := []struct {
		name      string
		answer    func() answer
		up        heed.Upstream
		second    bool // read the second request's answer
		wantKind  string
		wantErr   error
		wantWait  time.Duration
		wantSent  bool
		wantState int
	}{
		{"APIsOwn429", func() answer { return answer{status: 429, header: h("Retry-After", "7")} },
			heed.Upstream{OnLimit: heed.OnLimitFail}, false, heed.RefusalLimited, heed.ErrLimited, 7 * time.Second, true, 429},
		{"GitHubsSpentQuota", func() answer {
			return answer{status: 403, header: h("X-Ratelimit-Limit", "60", "X-Ratelimit-Remaining", "0", "X-Ratelimit-Reset", reset())}
		}, heed.Upstream{OnLimit: heed.OnLimitFail, Vendor: "github"}, false, heed.RefusalLimited, heed.ErrLimited, 90 * time.Second, true, 403},
		{"Cooldown", func() answer { return answer{status: 429, header: h("Retry-After", "7")} },
			heed.Upstream{OnLimit: heed.OnLimitFail}, true, heed.SyntheticCooldown, heed.ErrCooldown, 7 * time.Second, false, 429},
		{"Limit", func() answer { return answer{status: 200} },
			heed.Upstream{MaxWait: 100 * time.Millisecond, Limits: []heed.Limit{{Requests: 4, Per: time.Second}}}, true,
			heed.SyntheticLimit, heed.ErrLimit, 250*time.Millisecond + heed.ArrivalJitter/4, false, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				api := &scripted{answers: []answer{tt.answer()}}
				tt.up.Retry.Attempts = 1
				tt.up.Headroom = 1e-9
				tr := transport(t, api, tt.up, nil)
				resp, err := do(context.Background(), tr, "tok")
				if tt.second {
					resp, err = do(context.Background(), tr, "tok")
				}
				if err != nil {
					t.Fatal(err)
				}
				r, ok := heed.RefusalOf(resp)
				if !ok {
					t.Fatalf("RefusalOf(%d %v) = false, want a refusal", resp.StatusCode, resp.Header)
				}
				if r.Kind != tt.wantKind || r.Sent() != tt.wantSent || r.Status != tt.wantState || r.Upstream != "api" || len(r.Scope) != 8 {
					t.Errorf("got %+v, want kind %s, sent %v, status %d, upstream api, a short scope", r, tt.wantKind, tt.wantSent, tt.wantState)
				}
				if r.Wait.Round(time.Millisecond) != tt.wantWait.Round(time.Millisecond) {
					t.Errorf("Wait = %v, want %v exactly", r.Wait, tt.wantWait)
				}
				if !errors.Is(r, tt.wantErr) || (tt.wantErr != heed.ErrCooldown && errors.Is(r, heed.ErrCooldown)) {
					t.Errorf("errors.Is(%v, %v) = false, or it matches another kind", r, tt.wantErr)
				}
				if !r.Until().Equal(r.At.Add(r.Wait)) {
					t.Errorf("Until = %v, want At + Wait", r.Until())
				}
			})
		})
	}
}

// TestRefusalOfHeadersOnly: a synthetic answer that crossed a process
// boundary (heed serve) keeps only its headers, which still say the kind
// and the exact wait; a real response without them is no refusal.
func TestRefusalOfHeadersOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &scripted{answers: []answer{{status: 429, header: h("Retry-After", "2", "Retry-After-Ms", "2000")}}}
		tr := transport(t, api, heed.Upstream{OnLimit: heed.OnLimitFail, Retry: heed.RetryPolicy{Attempts: 1}}, nil)
		_, _ = do(context.Background(), tr, "tok")
		time.Sleep(300 * time.Millisecond)
		resp, err := do(context.Background(), tr, "tok")
		if err != nil {
			t.Fatal(err)
		}
		relayed := &http.Response{StatusCode: resp.StatusCode, Header: resp.Header.Clone(), Body: http.NoBody}
		r, ok := heed.RefusalOf(relayed)
		if !ok || r.Kind != heed.SyntheticCooldown || r.Wait != 1700*time.Millisecond || r.Upstream != "api" || len(r.Scope) != 8 {
			t.Fatalf("RefusalOf(headers only) = %+v %v, want a cooldown of 1.7s", r, ok)
		}
		if got := resp.Header.Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After %q, want the 1.7s left rounded up: 2", got)
		}
		if _, ok := heed.RefusalOf(&http.Response{StatusCode: 429, Header: h("Retry-After", "2"), Body: http.NoBody}); ok {
			t.Error("a plain 429 that no Transport read is reported as a refusal")
		}
		if _, ok := heed.RefusalOf(nil); ok {
			t.Error("RefusalOf(nil) = true")
		}
	})
}

// TestSyntheticAnswersInTheVendorsShape: heed's own answers parse as each
// vendor's error shape, with heed's fields alongside, and say the wait
// left now in every header that counts from the refusal.
func TestSyntheticAnswersInTheVendorsShape(t *testing.T) {
	openAI := h("Retry-After", "20", "Retry-After-Ms", "20000", "X-Ratelimit-Reset-Requests", "20s", "X-Ratelimit-Reset-Tokens", "6m0s",
		"X-Ratelimit-Remaining-Requests", "0")
	tests := []struct {
		vendor string
		header http.Header
		check  func(t *testing.T, body map[string]any, header http.Header)
	}{
		{"openai", openAI, func(t *testing.T, b map[string]any, hd http.Header) {
			e, _ := b["error"].(map[string]any)
			if e["code"] != "rate_limit_exceeded" || e["type"] != "heed_cooldown" || !hasPrefix(e["message"], "heed: ") {
				t.Errorf("error %v, want OpenAI's shape with code rate_limit_exceeded", e)
			}
			if got := hd.Get("X-Ratelimit-Reset-Tokens"); got != "5m55s" {
				t.Errorf("X-Ratelimit-Reset-Tokens %q, want the 5m55s left", got)
			}
			if got := hd.Get("X-Ratelimit-Remaining-Requests"); got != "0" {
				t.Errorf("X-Ratelimit-Remaining-Requests %q, want it replayed as it was", got)
			}
		}},
		{"anthropic", h("Retry-After", "20", "Anthropic-Ratelimit-Requests-Remaining", "0"), func(t *testing.T, b map[string]any, hd http.Header) {
			e, _ := b["error"].(map[string]any)
			if b["type"] != "error" || e["type"] != "rate_limit_error" || !hasPrefix(e["message"], "heed: ") {
				t.Errorf("body %v, want Anthropic's shape with rate_limit_error", b)
			}
			if hd.Get("Anthropic-Ratelimit-Requests-Remaining") != "0" {
				t.Errorf("the Anthropic headers were not replayed: %v", hd)
			}
		}},
		{"github", h("Retry-After", "20"), func(t *testing.T, b map[string]any, _ http.Header) {
			if !hasPrefix(b["message"], "heed: ") || b["documentation_url"] == nil || b["status"] != "429" || b["error"] != "cooldown" {
				t.Errorf("body %v, want GitHub's shape with heed's fields", b)
			}
		}},
		{"generic", h("Retry-After", "20"), func(t *testing.T, b map[string]any, _ http.Header) {
			if b["error"] != "cooldown" || b["upstream"] != "api" || b["retry_after_seconds"] != 15.0 {
				t.Errorf("body %v, want heed's generic shape", b)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.vendor, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				api := &scripted{answers: []answer{{status: 429, header: tt.header}}}
				tr := transport(t, api, heed.Upstream{OnLimit: heed.OnLimitFail, Vendor: tt.vendor, Retry: heed.RetryPolicy{Attempts: 1}}, nil)
				_, _ = do(context.Background(), tr, "tok")
				time.Sleep(5 * time.Second)
				req, _ := http.NewRequest(http.MethodGet, "https://api.test/items", nil)
				req.Header.Set("Authorization", "Bearer tok")
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				var b map[string]any
				if err := json.Unmarshal(raw, &b); err != nil {
					t.Fatalf("body %s: %v", raw, err)
				}
				if resp.Header.Get("Retry-After") != "15" || resp.Header.Get(heed.RetryAfterMsHeader) != "15000" {
					t.Errorf("Retry-After %q, Retry-After-Ms %q, want the 15s left", resp.Header.Get("Retry-After"), resp.Header.Get(heed.RetryAfterMsHeader))
				}
				if own, ok := b["heed"].(map[string]any); ok && (own["upstream"] != "api" || own["retry_after_seconds"] != 15.0) {
					t.Errorf("heed's fields %v, want upstream api and 15s", own)
				}
				tt.check(t, b, resp.Header)
			})
		})
	}
}

func hasPrefix(v any, prefix string) bool {
	s, ok := v.(string)
	return ok && len(s) >= len(prefix) && s[:len(prefix)] == prefix
}

// TestCircuitOpenSaysTheTimeLeft: an open breaker's answer says how long
// it stays open, not a fixed time.
func TestCircuitOpenSaysTheTimeLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &scripted{answers: []answer{{status: 500}}}
		tr := transport(t, api, heed.Upstream{Retry: heed.RetryPolicy{Attempts: 1}, Breaker: heed.BreakerPolicy{Failures: 1, OpenFor: 10 * time.Second}}, nil)
		_, _ = do(context.Background(), tr, "tok")
		time.Sleep(3500 * time.Millisecond)
		resp, err := do(context.Background(), tr, "tok")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 503 || resp.Header.Get(heed.SyntheticHeader) != heed.SyntheticCircuitOpen {
			t.Fatalf("got %d %q, want a synthetic circuit-open 503", resp.StatusCode, resp.Header.Get(heed.SyntheticHeader))
		}
		if ra, ms := resp.Header.Get("Retry-After"), resp.Header.Get(heed.RetryAfterMsHeader); ra != "7" || ms != "6500" {
			t.Errorf("Retry-After %q, Retry-After-Ms %q, want the 6.5s the breaker stays open", ra, ms)
		}
	})
}
