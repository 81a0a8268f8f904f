package heed_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heedhq/heed"
)

// TestOneCooldownPerRefusal: a 429 whose headers say "wait" several ways
// (OpenAI's: Retry-After, and both quotas spent with their resets) is one
// cooldown, counted and logged once: for OpenAI, the explicit Retry-After
// (its resets say when the buckets are full again; quota/doc.go's wait
// rule), for GitHub the window's reset; and a refusal the API sent and
// heed retried counts as a limited attempt.
func TestOneCooldownPerRefusal(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header func() []string
		want   time.Duration
	}{
		{"OpenAI", 429, func() []string {
			return []string{"Retry-After", "2", "X-Ratelimit-Limit-Requests", "60", "X-Ratelimit-Remaining-Requests", "0",
				"X-Ratelimit-Reset-Requests", "1s", "X-Ratelimit-Limit-Tokens", "1000", "X-Ratelimit-Remaining-Tokens", "0", "X-Ratelimit-Reset-Tokens", "3s"}
		}, 2 * time.Second},
		{"GitHub", 403, func() []string {
			return []string{"X-Ratelimit-Limit", "60", "X-Ratelimit-Remaining", "0", "X-Ratelimit-Reset", strconv.FormatInt(time.Now().Add(5*time.Second).Unix(), 10)}
		}, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				api := &scripted{answers: []answer{{status: tt.status, header: h(tt.header()...)}, {status: 200}}}
				rec := &recorder{}
				var logs bytes.Buffer
				tr, err := heed.New(heed.Config{Base: api, Metrics: rec, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
					Upstreams: []heed.Upstream{{Name: "api", BaseURL: "https://api.test", Vendor: strings.ToLower(tt.name)}}})
				if err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
				start := time.Now()
				resp, err := do(context.Background(), tr, "tok")
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("got %v %v, want the retry's 200", resp, err)
				}
				cds := rec.of("Cooldown")
				if len(cds) != 1 || cds[0].d != tt.want {
					t.Errorf("Cooldown events %+v, want one of %v", cds, tt.want)
				}
				if n := strings.Count(logs.String(), "cooling down"); n != 1 {
					t.Errorf("%d cooldown log lines, want 1:\n%s", n, logs.String())
				}
				if took := time.Since(start); took != tt.want {
					t.Errorf("the retry left after %v, want after the cooldown's %v", took, tt.want)
				}
				rec.wantWords(t, "Attempt", heed.OutcomeLimited, heed.OutcomeOK)
				rec.wantWords(t, "Request", heed.OutcomeOK)
			})
		})
	}
}
