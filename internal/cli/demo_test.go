package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed/mockapi"
)

// The demo tests run real workloads over loopback for one second per
// client, one client after the other as heed demo runs them; the tests that
// do so run in parallel with each other, so the package's tests take about
// three seconds more.

// demoArgs returns the command line of a short demo, followed by extra:
// one second per client, four workers, 20 requests per second. The openai
// dialect states its resets to the millisecond, so heed's adaptive pacing
// is not slowed by resets rounded up to whole seconds, as it is with the
// default github dialect's.
func demoArgs(extra ...string) []string {
	return append([]string{"demo", "--duration", "1s", "--workers", "4", "--limit", "20/1s", "--dialect", "openai"}, extra...)
}

func TestDemoTable(t *testing.T) {
	t.Parallel()
	got := runHeed(t.Context(), "", demoArgs("--clients", "naive,heed", "--configured")...)
	if got.code != exitOK {
		t.Fatalf("exit status: got %d, want 0 (stderr %q)", got.code, got.stderr)
	}
	if got.stderr != "" {
		t.Errorf("stderr: got %q, want nothing when it is not a terminal", got.stderr)
	}
	lines := strings.Split(strings.TrimRight(got.stdout, "\n"), "\n")
	want := []string{
		"4 workers share one token for 1s per client; the mock allows it 20 requests per 1s (sliding window, openai headers).",
		"",
		"heed is told the limit, as from the API's docs; heed-learning only reads the answers' headers.",
		"",
		"CLIENT SENT REFUSED (429) SENT IN COOLDOWN OK OK/S QUOTA FAILED CALLS WALL",
		"naive", "heed", "", "",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), got.stdout)
	}
	for i, w := range want[:len(want)-1] {
		if l := strings.Join(strings.Fields(lines[i]), " "); !strings.HasPrefix(l, w) || (i < 5 && l != w) {
			t.Errorf("line %d: got %q, want %q", i+1, lines[i], w)
		}
	}
	for _, row := range lines[5:7] {
		if f := strings.Fields(row); len(f) != 9 || !strings.HasSuffix(f[6], "%") || !strings.HasSuffix(f[8], "s") {
			t.Errorf("row %q: want 9 columns, a percentage in the 7th and seconds in the 9th", row)
		}
	}
	// Paced at 98% of a one-second window, heed has 20ms of slack for
	// the jitter of arrival times; under the race detector it may be
	// refused once, but never as often as naive.
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "heed: ") || !strings.Contains(last, "; naive: ") {
		t.Errorf("conclusion: got %q, want heed, with the fewest refusals, first", last)
	}
}

func TestDemoJSON(t *testing.T) {
	t.Parallel()
	got := runHeed(t.Context(), "", demoArgs("--json")...)
	if got.code != exitOK {
		t.Fatalf("exit status: got %d, want 0 (stderr %q)", got.code, got.stderr)
	}
	var rep demoReport
	if err := json.Unmarshal([]byte(got.stdout), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, got.stdout)
	}
	byName := map[string]demoResult{}
	for _, r := range rep.Clients {
		byName[r.Client] = r
	}
	if names := len(byName); names != 4 || rep.Interrupted {
		t.Fatalf("got %d clients, interrupted %v, want naive, retryablehttp, heed and heed-learning: %s", names, rep.Interrupted, got.stdout)
	}
	naive, heed := byName[clientNaive], byName[clientHeed]
	if naive.Refused == 0 {
		t.Errorf("naive: got 0 refusals, want some: %+v", naive)
	}
	if heed.Sent == 0 || float64(heed.Refused) > 0.01*float64(heed.Sent) || heed.Refused >= naive.Refused {
		t.Errorf("heed: got %d refusals of %d requests, want at most 1%% and fewer than naive's %d", heed.Refused, heed.Sent, naive.Refused)
	}
	if heed.QuotaShare < 0.5 || float64(heed.OK) < 0.5*heed.Quota {
		t.Errorf("heed: got %d successful requests, %v of the quota %v, want at least half", heed.OK, heed.QuotaShare, heed.Quota)
	}
	for _, r := range rep.Clients {
		if r.Wall < 1 || r.Wall > 2 || r.Ran != 1 {
			t.Errorf("%s: got wall %vs, ran %vs, want 1s to 2s and 1s", r.Client, r.Wall, r.Ran)
		}
	}
}

func TestDemoInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	got := runHeed(ctx, "", "demo", "--duration", "1m", "--workers", "4", "--clients", "heed,naive", "--json")
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("took %v after an interrupt at 300ms, want it to stop promptly", elapsed)
	}
	if got.code != exitInterrupted {
		t.Fatalf("exit status: got %d, want %d (stderr %q)", got.code, exitInterrupted, got.stderr)
	}
	var rep demoReport
	if err := json.Unmarshal([]byte(got.stdout), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, got.stdout)
	}
	if len(rep.Clients) != 1 || !rep.Interrupted || !rep.Clients[0].Interrupted || rep.Clients[0].Sent == 0 {
		t.Errorf("got %+v, want heed's partial result only, marked interrupted", rep)
	}
}

func TestParseDemoArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want demoOptions
	}{
		{"Defaults", nil, demoOptions{scenario: "requests", requests: 10, per: time.Second, algorithm: "sliding", dialect: "github",
			workers: 8, duration: 6 * time.Second, clients: []string{"naive", "retryablehttp", "heed", "heed-learning"}, configured: true, llm: defaultLLMBuckets}},
		{"LLMDefaults", []string{"--scenario", "llm"}, demoOptions{scenario: "llm", requests: 10, per: time.Second, algorithm: "sliding", dialect: "github",
			workers: 8, duration: 6 * time.Second, clients: []string{"naive", "estimate", "heed", "heed-learning"}, configured: true, llm: defaultLLMBuckets}},
		{"LLMClients", []string{"--scenario", "llm", "--clients", "estimate,heed", "--duration", "4s", "--configured=false"},
			demoOptions{scenario: "llm", requests: 10, per: time.Second, algorithm: "sliding", dialect: "github",
				workers: 8, duration: 4 * time.Second, clients: []string{"estimate", "heed"}, llm: defaultLLMBuckets}},
		{"Everything", []string{"--limit", "600/m", "--algorithm", "token", "--dialect", "ietf", "--workers", "32",
			"--duration", "2s", "--clients", "heed,naive", "--configured", "--json"},
			demoOptions{scenario: "requests", requests: 600, per: time.Minute, algorithm: "token", dialect: "ietf",
				workers: 32, duration: 2 * time.Second, clients: []string{"heed", "naive"}, configured: true, json: true, llm: defaultLLMBuckets}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseDemoArgs(tt.args)
			if err != nil {
				t.Fatalf("parseDemoArgs: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDemoUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"LimitWithoutWindow", []string{"--limit", "10"}, "want N/DURATION"},
		{"ConcurrencyAlgorithm", []string{"--algorithm", "concurrency"}, `--algorithm "concurrency" is not one of fixed, sliding, token`},
		{"UnknownDialect", []string{"--dialect", "gitlab"}, `--dialect "gitlab" is not one of`},
		{"NoWorkers", []string{"--workers", "0"}, "--workers must be from 1 to 1000"},
		{"TooManyWorkers", []string{"--workers", "5000"}, "--workers must be from 1 to 1000"},
		{"ZeroDuration", []string{"--duration", "0s"}, "--duration must be more than 0"},
		{"LongDuration", []string{"--duration", "1h"}, "at most 10m0s"},
		{"UnknownClient", []string{"--clients", "naive,resty"}, `unknown client "resty"`},
		{"EmptyClients", []string{"--clients", ""}, `unknown client ""`},
		{"ClientTwice", []string{"--clients", "heed,heed"}, `client "heed" is named twice`},
		{"Argument", []string{"now"}, "takes no arguments"},
		{"UnknownScenario", []string{"--scenario", "graphql"}, `--scenario "graphql" is not one of requests, llm`},
		{"EstimateWithRequests", []string{"--clients", "naive,estimate"}, `unknown client "estimate": want some of naive, retryablehttp, heed, heed-learning`},
		{"RetryableWithLLM", []string{"--scenario", "llm", "--clients", "retryablehttp"}, `unknown client "retryablehttp": want some of naive, estimate, heed, heed-learning`},
		{"LimitWithLLM", []string{"--scenario", "llm", "--limit", "5/1s"}, "--limit applies to --scenario requests only"},
		{"DialectWithLLM", []string{"--dialect", "openai", "--scenario", "llm"}, "--dialect applies to --scenario requests only"},
		{"ShortLLM", []string{"--scenario", "llm", "--duration", "3s"}, "--scenario llm needs a --duration of at least 4s"},
		{"UnknownFlag", []string{"--rate", "5"}, "flag provided but not defined: -rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runHeed(t.Context(), "", append([]string{"demo"}, tt.args...)...)
			if got.code != exitUsage {
				t.Errorf("exit status: got %d, want %d", got.code, exitUsage)
			}
			if got.stdout != "" || !strings.HasPrefix(got.stderr, "heed demo: ") || !strings.Contains(got.stderr, tt.wantStderr) {
				t.Errorf("got stdout %q stderr %q, want only a line on stderr containing %q", got.stdout, got.stderr, tt.wantStderr)
			}
		})
	}
}

func TestDemoHelp(t *testing.T) {
	t.Parallel()
	got := runHeed(t.Context(), "", "help", "demo")
	for _, want := range []string{"usage: heed demo", "-clients", "-configured", "retryablehttp", "-scenario", "estimate"} {
		if got.code != exitOK || !strings.Contains(got.stdout, want) {
			t.Errorf("heed help demo: got status %d, want 0 and %q in:\n%s", got.code, want, got.stdout)
		}
	}
}

func TestConclude(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		results []demoResult
		want    string
	}{
		{"None", nil, "No client ran."},
		{"FewestRefusalsFirst", []demoResult{
			{Client: "naive", Refused: 1843, QuotaShare: 1},
			{Client: "retryablehttp", Refused: 1, QuotaShare: 0.996},
			{Client: "heed", Refused: 0, QuotaShare: 0.971},
		}, "heed: 0 refusals and 97% of the quota; retryablehttp: 1 refusal and 100% of the quota; naive: 1843 refusals and 100% of the quota."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := conclude(tt.results, "quota"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewDemoResult(t *testing.T) {
	t.Parallel()
	opts := demoOptions{requests: 10, per: time.Second, duration: 8 * time.Second}
	var calls callCounts
	calls.calls.Store(50)
	calls.ok.Store(40)
	st := mockapi.Counts{Requests: 60, Limited: 20, DuringWait: 15, Accepted: 40}
	got := newDemoResult("heed", opts, st, &calls, 8100*time.Millisecond)
	want := demoResult{Client: "heed", Sent: 60, Refused: 20, DuringWait: 15, OK: 40, Calls: 50, CallsFailed: 10,
		OKPerSecond: 5, Quota: 80, QuotaShare: 0.5, Ran: 8, Wall: 8.1}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestProgress(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if newProgress(&b).on {
		t.Fatal("progress on a bytes.Buffer: got on, want off")
	}
	p := progress{w: &b, on: true}
	stats := func() mockapi.Stats {
		return mockapi.Stats{Total: mockapi.Counts{Requests: 3, Accepted: 2, Limited: 1}}
	}
	stop := p.track("naive", time.Now(), stats)
	stop(mockapi.Counts{Requests: 7, Accepted: 5, Limited: 2}, 1500*time.Millisecond)
	want := "\rnaive           1.5s  sent       7  refused       2  in cooldown       0  ok     5\x1b[K\n"
	if out := b.String(); !strings.HasPrefix(out, "\rnaive ") || !strings.HasSuffix(out, want) || strings.Count(out, "\n") != 1 {
		t.Errorf("got %q, want redrawn lines ending in %q", out, want)
	}
}
