package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed/mockapi"
)

func TestParseMockArgs(t *testing.T) {
	t.Parallel()
	zero, yes, no := time.Duration(0), true, false
	sliding := func(n int, per time.Duration) mockapi.Limit {
		return mockapi.Limit{Algorithm: mockapi.AlgorithmSliding, Requests: n, Per: per}
	}
	tests := []struct {
		name       string
		args       []string
		wantListen string
		want       mockapi.Config
	}{
		{"Defaults", nil, "127.0.0.1:8701",
			mockapi.Config{Limit: sliding(20, time.Second), Dialect: "github", Seed: 1}},
		{"Hourly", []string{"--limit", "5000/1h", "--dialect", "openai", "--listen", ":0"}, ":0",
			mockapi.Config{Limit: sliding(5000, time.Hour), Dialect: "openai", Seed: 1}},
		{"UnitWithoutOne", []string{"--limit", "60/m"}, "127.0.0.1:8701",
			mockapi.Config{Limit: sliding(60, time.Minute), Dialect: "github", Seed: 1}},
		{"TokenBucket", []string{"--algorithm", "token", "--limit", "10/1s", "--burst", "50"}, "127.0.0.1:8701",
			mockapi.Config{Limit: mockapi.Limit{Algorithm: "token", Requests: 10, Per: time.Second, Burst: 50}, Dialect: "github", Seed: 1}},
		{"Concurrency", []string{"--algorithm", "concurrency", "--concurrency", "4"}, "127.0.0.1:8701",
			mockapi.Config{Limit: mockapi.Limit{Algorithm: "concurrency", Concurrency: 4}, Dialect: "github", Seed: 1}},
		{"Chaos", []string{"--error-rate", "0.1", "--latency", "20ms", "--latency-jitter", "5ms", "--seed", "9"}, "127.0.0.1:8701",
			mockapi.Config{Limit: sliding(20, time.Second), Dialect: "github", ErrorRate: 0.1,
				Latency: 20 * time.Millisecond, LatencyJitter: 5 * time.Millisecond, Seed: 9}},
		{"LLMAnthropic", []string{"--llm", "anthropic", "--itpm", "20000", "--otpm", "4000", "--rpm", "50"}, "127.0.0.1:8701",
			mockapi.Config{Limit: sliding(20, time.Second), Dialect: "github", Seed: 1, LLM: mockapi.LLM{
				Vendor: "anthropic", RequestsPerMinute: 50, InputTokensPerMinute: 20000, OutputTokensPerMinute: 4000}}},
		{"LLMOpenAI", []string{"--llm", "openai", "--tpm", "30000", "--output-share", "0.1", "--chunk-delay", "20ms", "--chunk-tokens", "4"}, "127.0.0.1:8701",
			mockapi.Config{Limit: sliding(20, time.Second), Dialect: "github", Seed: 1, LLM: mockapi.LLM{
				Vendor: "openai", TokensPerMinute: 30000, OutputShare: 0.1, ChunkDelay: 20 * time.Millisecond, ChunkTokens: 4}}},
		{"CacheDefaultMaxAge", []string{"--cache-max-age", "60"}, "127.0.0.1:8701",
			mockapi.Config{Limit: sliding(20, time.Second), Dialect: "github", Seed: 1}},
		{"CacheMaxAgeZero", []string{"--cache-max-age", "0", "--cache-no-cache", "--no-etag", "--free-304=false"}, "127.0.0.1:8701",
			mockapi.Config{Limit: sliding(20, time.Second), Dialect: "github", Seed: 1,
				Cache: mockapi.Cache{MaxAge: &zero, NoCache: true, NoETag: true, Free304: &no}}},
		{"CacheNone", []string{"--cache-max-age", "-1", "--cache-no-store", "--cache-must-revalidate", "--cache-public",
			"--no-last-modified", "--weak-etag", "--free-304", "--dialect", "ietf"}, "127.0.0.1:8701",
			mockapi.Config{Limit: sliding(20, time.Second), Dialect: "ietf", Seed: 1,
				Cache: mockapi.Cache{NoMaxAge: true, NoStore: true, MustRevalidate: true, Public: true,
					NoLastModified: true, WeakETag: true, Free304: &yes}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts, err := parseMockArgs(tt.args)
			if err != nil {
				t.Fatalf("parseMockArgs: %v", err)
			}
			// DeepEqual, as Config has func fields (both nil here).
			if got := opts.config(); opts.listen != tt.wantListen || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got listen %q config %+v, want %q %+v", opts.listen, got, tt.wantListen, tt.want)
			}
		})
	}
}

func TestMockUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"LimitWithoutWindow", []string{"--limit", "20"}, `invalid value "20" for flag -limit: want N/DURATION`},
		{"LimitZero", []string{"--limit", "0/1s"}, "want N/DURATION"},
		{"LimitNotANumber", []string{"--limit", "x/1s"}, "want N/DURATION"},
		{"LimitNegativeWindow", []string{"--limit", "5/-1s"}, "want N/DURATION"},
		{"LimitBadWindow", []string{"--limit", "5/soon"}, "want N/DURATION"},
		{"UnknownAlgorithm", []string{"--algorithm", "leaky"}, `--algorithm "leaky" is not one of fixed, sliding, token, concurrency`},
		{"UnknownDialect", []string{"--dialect", "gitlab"}, `--dialect "gitlab" is not one of`},
		{"ErrorRateAboveOne", []string{"--error-rate", "2"}, "--error-rate must be from 0 to 1"},
		{"NegativeLatency", []string{"--latency", "-1s"}, "must not be negative"},
		{"BurstWithoutToken", []string{"--burst", "5"}, "--burst applies only to --algorithm token"},
		{"NegativeBurst", []string{"--algorithm", "token", "--burst", "-5"}, "--burst must not be negative"},
		{"ConcurrencyWithoutN", []string{"--algorithm", "concurrency"}, "needs --concurrency N"},
		{"ConcurrencyWithLimit", []string{"--algorithm", "concurrency", "--concurrency", "2", "--limit", "5/1s"}, "--limit does not apply"},
		{"ConcurrencyFlagOnSliding", []string{"--concurrency", "2"}, "--concurrency applies only"},
		{"Argument", []string{"now"}, "takes no arguments"},
		{"UnknownLLM", []string{"--llm", "gemini"}, `--llm "gemini" is not one of openai, anthropic`},
		{"TokenLimitWithoutLLM", []string{"--itpm", "5"}, "need --llm openai or anthropic"},
		{"TPMOnAnthropic", []string{"--llm", "anthropic", "--tpm", "5"}, "--tpm is OpenAI's limit"},
		{"ITPMOnOpenAI", []string{"--llm", "openai", "--itpm", "5"}, "--itpm and --otpm are Anthropic's limits"},
		{"NegativeRPM", []string{"--llm", "openai", "--rpm", "-5"}, "must not be negative"},
		{"BothOutputRules", []string{"--llm", "openai", "--output-tokens", "5", "--output-share", "0.5"}, "set one of --output-tokens"},
		{"OutputShareAboveOne", []string{"--llm", "openai", "--output-share", "2"}, "--output-share must be from 0 to 1"},
		{"CacheMaxAgeNegative", []string{"--cache-max-age", "-2"}, "--cache-max-age must be a number of seconds, or -1"},
		{"Free304NotABool", []string{"--free-304=maybe"}, "invalid boolean value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runHeed(t.Context(), "", append([]string{"mock"}, tt.args...)...)
			if got.code != exitUsage {
				t.Errorf("exit status: got %d, want 2 (stderr %q)", got.code, got.stderr)
			}
			if !strings.HasPrefix(got.stderr, "heed mock: ") || !strings.Contains(got.stderr, tt.wantStderr) {
				t.Errorf("stderr: got %q, want a heed mock line containing %q", got.stderr, tt.wantStderr)
			}
		})
	}
}

func TestMockCannotListen(t *testing.T) {
	t.Parallel()
	got := runHeed(t.Context(), "", "mock", "--listen", "127.0.0.1:99999")
	if got.code != exitFailure || !strings.Contains(got.stderr, "heed mock: ") {
		t.Errorf("got exit %d stderr %q, want 1 and a heed mock line", got.code, got.stderr)
	}
}

func TestHelpOnMock(t *testing.T) {
	t.Parallel()
	got := runHeed(t.Context(), "", "help", "mock")
	if got.code != 0 || !strings.HasPrefix(got.stdout, "usage: heed mock") || !strings.Contains(got.stdout, "-limit") {
		t.Errorf("got exit %d stdout %q, want heed mock's help with its flags", got.code, got.stdout)
	}
	if got := runHeed(t.Context(), "", "help"); !strings.Contains(got.stdout, "mock ") {
		t.Errorf("heed help: got %q, want it to list mock", got.stdout)
	}
}

// heed mock serves over loopback until its context is cancelled, then exits
// 0. This test uses real time with generous bounds.
func TestMockServesUntilCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout, stdoutW := io.Pipe()
	var stderr bytes.Buffer
	codes := make(chan int, 1)
	go func() {
		codes <- Run(ctx, []string{"mock", "--listen", "127.0.0.1:0", "--limit", "2/1m",
			"--algorithm", "fixed", "--dialect", "openai"}, strings.NewReader(""), stdoutW, &stderr)
		stdoutW.Close()
	}()
	url := readMockURL(t, stdout, codes, &stderr)
	for i, want := range []int{200, 200, 429} {
		if got := mockGet(t, url+"/v1/models"); got.StatusCode != want {
			t.Errorf("request %d: got status %d, want %d", i, got.StatusCode, want)
		}
	}
	var st mockapi.Stats
	if err := json.NewDecoder(mockGet(t, url+"/_mock/stats").Body).Decode(&st); err != nil || st.Total.Limited != 1 {
		t.Errorf("stats: got %+v (%v), want 1 limited", st.Total, err)
	}
	cancel()
	select {
	case code := <-codes:
		if code != exitOK {
			t.Errorf("exit status: got %d, want 0 (stderr %q)", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("heed mock did not stop within 10s of its context being cancelled")
	}
	if _, err := http.Get(url + "/v1/models"); err == nil {
		t.Errorf("heed mock still answers after it stopped")
	}
}

// startMock runs heed mock with args (after --listen 127.0.0.1:0) until
// the test ends or stop is called, and returns its URL and stop, which
// cancels it and returns its exit status.
func startMock(t *testing.T, args ...string) (url string, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	stdout, stdoutW := io.Pipe()
	var stderr bytes.Buffer
	codes := make(chan int, 1)
	go func() {
		codes <- Run(ctx, append([]string{"mock", "--listen", "127.0.0.1:0"}, args...), strings.NewReader(""), stdoutW, &stderr)
		stdoutW.Close()
	}()
	url = readMockURL(t, stdout, codes, &stderr)
	return url, func() int {
		cancel()
		return <-codes
	}
}

// readMockURL reads the URL heed mock prints and drains the rest of stdout.
// If heed mock exits first, it fails the test with heed mock's stderr.
func readMockURL(t *testing.T, stdout io.Reader, codes <-chan int, stderr *bytes.Buffer) string {
	t.Helper()
	br := bufio.NewReader(stdout)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading heed mock's URL: %v (exit %d, stderr %q)", err, <-codes, stderr.String())
	}
	go io.Copy(io.Discard, br)
	fields := strings.Fields(line)
	url := fields[len(fields)-1]
	if !strings.HasPrefix(line, "heed mock: listening on http://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("got %q, want a line with the real URL", line)
	}
	return url
}

// mockGet sends GET url with a bearer token and returns the response, its
// body read into memory.
func mockGet(t *testing.T, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer sk-cli")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

// heed mock --llm anthropic serves the Messages endpoint with its buckets
// over loopback, and /_mock/tokens tells what was charged.
func TestMockServesLLM(t *testing.T) {
	t.Parallel()
	url, stop := startMock(t, "--llm", "anthropic", "--rpm", "50", "--itpm", "20000", "--otpm", "100", "--output-tokens", "7")
	ctx := t.Context()
	body := `{"model":"claude-test","max_tokens":60,"messages":[{"role":"user","content":"hi"}]}`
	for i, want := range []int{200, 429} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/messages", strings.NewReader(body))
		req.Header.Set("X-Api-Key", "sk-cli")
		req.Header.Set("Mock-Output-Tokens", "60") // no correction: the second cannot fit
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || resp.Header.Get("Anthropic-Ratelimit-Output-Tokens-Limit") != "100" {
			t.Errorf("request %d: got %d with output limit %q, want %d and 100", i, resp.StatusCode,
				resp.Header.Get("Anthropic-Ratelimit-Output-Tokens-Limit"), want)
		}
	}
	var use map[string]mockapi.TokenUse
	if err := json.NewDecoder(mockGet(t, url+"/_mock/tokens").Body).Decode(&use); err != nil {
		t.Fatal(err)
	}
	if u := use[mockapi.CredID("sk-cli")]; u.OutputTokens.Limit != 100 || u.OutputTokens.Charged != 60 || u.Requests.Charged != 1 {
		t.Errorf("/_mock/tokens: got %+v, want 60 output tokens of a 100 limit and 1 request", u)
	}
	stop()
}

// heed mock serves the cacheable resources with the --cache-* flags over
// loopback: a revalidation gets 304, free under --dialect github.
func TestMockServesResources(t *testing.T) {
	t.Parallel()
	url, stop := startMock(t, "--limit", "5/1h", "--algorithm", "fixed", "--cache-max-age", "5", "--cache-no-cache")
	ctx := t.Context()
	first := mockGet(t, url+"/resources/repo")
	if cc := first.Header.Get("Cache-Control"); first.StatusCode != 200 || cc != "private, max-age=5, s-maxage=5, no-cache" {
		t.Fatalf("got %d with Cache-Control %q, want 200 and private, max-age=5, s-maxage=5, no-cache", first.StatusCode, cc)
	}
	for range 3 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/resources/repo", nil)
		req.Header.Set("Authorization", "Bearer sk-cli")
		req.Header.Set("If-None-Match", first.Header.Get("Etag"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 304 || resp.Header.Get("X-Ratelimit-Remaining") != "4" {
			t.Errorf("got %d remaining %q, want 304 and 4", resp.StatusCode, resp.Header.Get("X-Ratelimit-Remaining"))
		}
	}
	stop()
}
