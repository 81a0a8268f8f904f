package cli

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed/quota"
)

// sent is when the responses in these tests were sent.
var sent = time.Date(2026, 4, 14, 9, 12, 18, 0, time.UTC)

// githubLimited is GitHub's answer when the core quota is used up.
func githubLimited() quota.Signal {
	return quota.Signal{
		Status: 403, Vendor: "github", Limited: true, Cause: quota.CauseRateLimit,
		Wait: 41*time.Minute + 20*time.Second, WaitSource: "x-ratelimit-reset",
		Quotas: []quota.Quota{{
			Name: "core", Unit: "requests", Limit: 60, HasLimit: true, Remaining: 0, HasRemaining: true,
			Reset: sent.Add(41*time.Minute + 20*time.Second), Window: time.Hour, Source: "x-ratelimit-reset",
		}},
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sig  quota.Signal
		want string
	}{
		{"RetryAfter", quota.Signal{Status: 429, Limited: true, Cause: quota.CauseRateLimit,
			Wait: 42 * time.Second, WaitSource: "retry-after"}, "429 rate limited: wait 42s (retry-after)"},
		{"LimitedWithoutWait", quota.Signal{Status: 429, Limited: true, Cause: quota.CauseRateLimit},
			"429 rate limited: the response does not say how long to wait"},
		{"Nothing", quota.Signal{Status: 200}, "200 ok: nothing says to wait"},
		{"ExhaustedOn200", quota.Signal{Status: 200, Wait: time.Second, WaitSource: "x-ratelimit-reset-requests"},
			"200 ok: wait 1s (x-ratelimit-reset-requests)"},
		{"QuotaExhausted", quota.Signal{Status: 429, Limited: true, Cause: quota.CauseQuotaExhausted},
			"429 quota exhausted: waiting will not help"},
		{"QuotaExhaustedWithReset", quota.Signal{Status: 429, Limited: true, Cause: quota.CauseQuotaExhausted,
			Wait: 5 * time.Hour, WaitSource: "x-ratelimit-reset"},
			"429 quota exhausted: waiting will not help (x-ratelimit-reset says 5h0m0s)"},
		{"Overloaded", quota.Signal{Status: 529, Cause: quota.CauseOverloaded},
			"529 overloaded: not your quota; retry with backoff"},
		{"OverloadedWithWait", quota.Signal{Status: 529, Cause: quota.CauseOverloaded,
			Wait: 1500 * time.Millisecond, WaitSource: "retry-after"},
			"529 overloaded: not your quota; wait 1.5s (retry-after)"},
		{"OtherStatus", quota.Signal{Status: 404}, "404 not found: nothing says to wait"},
		{"UnknownStatusText", quota.Signal{Status: 299}, "299 not limited: nothing says to wait"},
		{"NoStatus", quota.Signal{}, "(no status) not limited: nothing says to wait"},
		{"LimitedWithoutCause", quota.Signal{Status: 403, Limited: true, Wait: time.Minute},
			"403 limited: wait 1m0s (source unknown)"},
		{"HostileSource", quota.Signal{Status: 429, Cause: quota.CauseRateLimit, Wait: time.Second,
			WaitSource: "x\x1b[2J"}, `429 rate limited: wait 1s ("x\x1b[2J")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := verdict(tt.sig); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{400 * time.Microsecond, "0s"},
		{20 * time.Millisecond, "20ms"},
		{3064 * time.Millisecond, "3.064s"},
		{9999 * time.Millisecond, "9.999s"},
		{10*time.Second + 400*time.Millisecond, "10s"},
		{42*time.Second + 600*time.Millisecond, "43s"},
		{6 * time.Minute, "6m0s"},
		{26 * time.Hour, "26h0m0s"},
	}
	for _, tt := range tests {
		if got := formatDuration(tt.in); got != tt.want {
			t.Errorf("formatDuration(%v): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestResetCell(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reset time.Time
		want  string
	}{
		{"Unknown", time.Time{}, "-"},
		{"Ahead", sent.Add(42 * time.Second), "2026-04-14T09:13:00Z (in 42s)"},
		{"AheadByMilliseconds", sent.Add(120 * time.Millisecond), "2026-04-14T09:12:18.12Z (in 120ms)"},
		{"Now", sent, "2026-04-14T09:12:18Z (in 0s)"},
		{"Passed", sent.Add(-time.Second), "2026-04-14T09:12:17Z (passed)"},
		{"OtherZone", sent.Add(6 * time.Minute).In(time.FixedZone("CEST", 2*3600)), "2026-04-14T09:18:18Z (in 6m0s)"},
	}
	for _, tt := range tests {
		if got := resetCell(tt.reset, sent); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestWriteText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    explanation
		want string
	}{
		{"Nothing", explanation{signal: quota.Signal{Status: 200}, now: sent, nowFrom: "the Date header"},
			"200 ok: nothing says to wait\n"},
		{"GitHubLimited", explanation{signal: githubLimited(), now: sent, nowFrom: "the Date header"}, `403 rate limited: wait 41m20s (x-ratelimit-reset)
vendor: github
as of: 2026-04-14T09:12:18Z (the Date header)

QUOTA  LIMIT  REMAINING  RESET                             WINDOW
core   60     0          2026-04-14T09:53:38Z (in 41m20s)  1h0m0s
`},
		{"UnknownFieldsAndWarnings", explanation{now: sent, nowFrom: "--now", signal: quota.Signal{
			Status: 200,
			Quotas: []quota.Quota{
				{Name: "tokens", Remaining: 0.5, HasRemaining: true},
				{Name: "bad\tname", Limit: 10, HasLimit: true},
			},
			Warnings: []quota.Warning{{Field: "retry-after", Value: "soon", Problem: "not a number or HTTP-date"}},
		}}, `200 ok: nothing says to wait

QUOTA        LIMIT  REMAINING  RESET  WINDOW
tokens       -      0.5        -      -
"bad\tname"  10     -          -      -

warning: retry-after: not a number or HTTP-date ("soon")
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := writeText(&b, tt.e); err != nil {
				t.Fatalf("writeText: %v", err)
			}
			if got := b.String(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	sig := githubLimited()
	sig.Quotas[0].Refill = 2
	sig.Warnings = []quota.Warning{{Field: "x-ratelimit-used", Value: "<60>", Problem: "not a number"}}
	var b bytes.Buffer
	if err := writeJSON(&b, explanation{signal: sig, now: sent}); err != nil {
		t.Fatalf("writeJSON: %v", err)
	}
	want := `{"status":403,"vendor":"github","limited":true,"cause":"rate_limit","wait_helps":true,` +
		`"wait_seconds":2480,"wait_source":"x-ratelimit-reset","quotas":[{"name":"core","unit":"requests",` +
		`"limit":60,"remaining":0,"reset":"2026-04-14T09:53:38Z","reset_seconds":2480,"window_seconds":3600,` +
		`"refill_per_second":2,"source":"x-ratelimit-reset"}],` +
		`"warnings":[{"field":"x-ratelimit-used","value":"<60>","problem":"not a number"}]}` + "\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWriteJSONOmitsWhatIsUnknown(t *testing.T) {
	t.Parallel()
	sig := quota.Signal{
		Wait:   20 * time.Millisecond,
		Quotas: []quota.Quota{{Name: "tokens", Limit: math.NaN(), HasLimit: true, Refill: math.Inf(1)}},
	}
	var b bytes.Buffer
	if err := writeJSON(&b, explanation{signal: sig, now: sent}); err != nil {
		t.Fatalf("writeJSON: %v", err)
	}
	want := `{"limited":false,"cause":"none","wait_helps":false,"wait_seconds":0.02,` +
		`"quotas":[{"name":"tokens"}],"warnings":[]}` + "\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWriteJSONEmptyListsAreArrays(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := writeJSON(&b, explanation{signal: quota.Signal{Status: 200}, now: sent}); err != nil {
		t.Fatalf("writeJSON: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	for _, key := range []string{"quotas", "warnings"} {
		if list, ok := got[key].([]any); !ok || len(list) != 0 {
			t.Errorf("%s: got %#v, want []", key, got[key])
		}
	}
	if strings.Count(b.String(), "\n") != 1 {
		t.Errorf("output is not one line: %q", b.String())
	}
}

func TestWriteJSONPassedReset(t *testing.T) {
	t.Parallel()
	sig := quota.Signal{Quotas: []quota.Quota{{Name: "requests", Reset: sent.Add(-1500 * time.Millisecond)}}}
	got := newExplanationJSON(explanation{signal: sig, now: sent}).Quotas[0]
	if got.ResetSeconds == nil || *got.ResetSeconds != -1.5 {
		t.Errorf("reset_seconds: got %v, want -1.5", got.ResetSeconds)
	}
	if got.Reset != "2026-04-14T09:12:16.5Z" {
		t.Errorf("reset: got %q, want 2026-04-14T09:12:16.5Z", got.Reset)
	}
}
