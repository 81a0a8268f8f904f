package mockapi

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The exact headers of each dialect, for a fixed window of 2 requests per
// minute opened at t0+0.5s: a first accepted request, and a refused one 10
// seconds later (50 seconds before the window ends at t0+60.5s).
func TestDialectHeaders(t *testing.T) {
	t.Parallel()
	resetEpoch := strconv.FormatInt(t0.Add(61*time.Second).Unix(), 10)
	tests := []struct {
		dialect       string
		first         map[string]string
		limitedStatus int
		limited       map[string]string
		limitedBody   string // a part of the limited response's body
	}{
		{
			dialect: DialectGitHub,
			first: map[string]string{"X-Ratelimit-Limit": "2", "X-Ratelimit-Remaining": "1",
				"X-Ratelimit-Used": "1", "X-Ratelimit-Reset": resetEpoch, "X-Ratelimit-Resource": "core"},
			limitedStatus: 403,
			limited: map[string]string{"X-Ratelimit-Limit": "2", "X-Ratelimit-Remaining": "0",
				"X-Ratelimit-Used": "2", "X-Ratelimit-Reset": resetEpoch, "X-Ratelimit-Resource": "core"},
			limitedBody: `"message":"API rate limit exceeded`,
		},
		{
			dialect: DialectOpenAI,
			first: map[string]string{"X-Ratelimit-Limit-Requests": "2", "X-Ratelimit-Remaining-Requests": "1",
				"X-Ratelimit-Reset-Requests": "1m0s"},
			limitedStatus: 429,
			limited: map[string]string{"X-Ratelimit-Limit-Requests": "2", "X-Ratelimit-Remaining-Requests": "0",
				"X-Ratelimit-Reset-Requests": "50s", "Retry-After": "50"},
			limitedBody: `"code":"rate_limit_exceeded"`,
		},
		{
			dialect: DialectAnthropic,
			first: map[string]string{"Anthropic-Ratelimit-Requests-Limit": "2",
				"Anthropic-Ratelimit-Requests-Remaining": "1", "Anthropic-Ratelimit-Requests-Reset": "2026-11-22T12:01:01Z"},
			limitedStatus: 429,
			limited: map[string]string{"Anthropic-Ratelimit-Requests-Limit": "2",
				"Anthropic-Ratelimit-Requests-Remaining": "0", "Anthropic-Ratelimit-Requests-Reset": "2026-11-22T12:01:01Z",
				"Retry-After": "50"},
			limitedBody: `"type":"rate_limit_error"`,
		},
		{
			dialect:       DialectIETF,
			first:         map[string]string{"Ratelimit-Policy": `"default";q=2;w=60`, "Ratelimit": `"default";r=1;t=60`},
			limitedStatus: 429,
			limited: map[string]string{"Ratelimit-Policy": `"default";q=2;w=60`, "Ratelimit": `"default";r=0;t=50`,
				"Retry-After": "50"},
			limitedBody: `"title":"Too Many Requests"`,
		},
		{
			dialect:       DialectRetryAfter,
			first:         map[string]string{},
			limitedStatus: 429,
			limited:       map[string]string{"Retry-After": "50"},
			limitedBody:   "Too Many Requests",
		},
		{
			dialect:       DialectNone,
			first:         map[string]string{},
			limitedStatus: 429,
			limited:       map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.dialect, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock(t0.Add(500 * time.Millisecond))
			s := newTestServer(t, Config{Dialect: tt.dialect,
				Limit: Limit{Algorithm: AlgorithmFixed, Requests: 2, Per: time.Minute}}, clock)
			first := get(s, "/x", "k")
			checkHeaders(t, "first", first, 200, tt.first)
			get(s, "/x", "k")
			clock.Set(t0.Add(10500 * time.Millisecond))
			limited := get(s, "/x", "k")
			checkHeaders(t, "limited", limited, tt.limitedStatus, tt.limited)
			if body := readBody(t, limited); !strings.Contains(body, tt.limitedBody) {
				t.Errorf("limited body: got %q, want it to contain %q", body, tt.limitedBody)
			}
		})
	}
}

// checkHeaders checks a response's status and that its headers are exactly
// want, besides Content-Type.
func checkHeaders(t *testing.T, name string, resp *http.Response, status int, want map[string]string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("%s: got status %d, want %d", name, resp.StatusCode, status)
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: header %s: got %q, want %q", name, k, got, v)
		}
	}
	for k := range resp.Header {
		if _, ok := want[k]; !ok && k != "Content-Type" {
			t.Errorf("%s: got unexpected header %s: %q", name, k, resp.Header.Get(k))
		}
	}
}

func TestDialectsDescribeConcurrencyWithoutReset(t *testing.T) {
	t.Parallel()
	d := decision{limit: 3, remaining: 0, wait: concurrencyRetry}
	tests := []struct {
		dialect string
		want    map[string]string
	}{
		{DialectGitHub, map[string]string{"X-Ratelimit-Limit": "3", "X-Ratelimit-Remaining": "0",
			"X-Ratelimit-Used": "3", "X-Ratelimit-Resource": "core", "Retry-After": "1"}},
		{DialectOpenAI, map[string]string{"X-Ratelimit-Limit-Requests": "3", "X-Ratelimit-Remaining-Requests": "0",
			"Retry-After": "1"}},
		{DialectAnthropic, map[string]string{"Anthropic-Ratelimit-Requests-Limit": "3",
			"Anthropic-Ratelimit-Requests-Remaining": "0", "Retry-After": "1"}},
		{DialectIETF, map[string]string{"Ratelimit-Policy": `"default";q=3`, "Ratelimit": `"default";r=0`,
			"Retry-After": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.dialect, func(t *testing.T) {
			t.Parallel()
			dl, _ := dialectNamed(tt.dialect)
			rec := httptest.NewRecorder()
			dl.describe(rec.Header(), d, t0)
			dl.refuse(rec, d)
			checkHeaders(t, tt.dialect, rec.Result(), rec.Code, tt.want)
		})
	}
}
