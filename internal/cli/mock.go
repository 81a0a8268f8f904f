package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heedhq/heed/mockapi"
)

// mockShutdownGrace is how long heed mock waits for requests in flight
// when it is told to stop.
const mockShutdownGrace = 5 * time.Second

// mockOptions are heed mock's flags.
type mockOptions struct {
	listen string
	// requests per per is --limit; limitSet reports that it was given.
	requests    int
	per         time.Duration
	limitSet    bool
	algorithm   string
	burst       int
	concurrency int
	dialect     string
	errorRate   float64
	latency     time.Duration
	jitter      time.Duration
	seed        uint64
	llm         mockLLMOptions
	cache       mockCacheOptions
}

// mockCacheOptions are heed mock's flags of the resources' caching.
type mockCacheOptions struct {
	// maxAge is --cache-max-age in seconds; -1 means none.
	maxAge                                   int
	noCache, noStore, mustRevalidate         bool
	public, noETag, noLastModified, weakETag bool
	// free304 is --free-304; unset means the dialect's default.
	free304 optionalBool
}

// noMaxAge is the --cache-max-age that sends no max-age.
const noMaxAge = -1

// optionalBool is a boolean flag whose default is decided elsewhere: nil
// until it is given.
type optionalBool struct{ v *bool }

func (b *optionalBool) String() string {
	if b == nil || b.v == nil {
		return ""
	}
	return strconv.FormatBool(*b.v)
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.v = &v
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }

// config returns the mockapi.Cache the flags describe.
func (o mockCacheOptions) config() mockapi.Cache {
	c := mockapi.Cache{NoCache: o.noCache, NoStore: o.noStore, MustRevalidate: o.mustRevalidate,
		Public: o.public, NoETag: o.noETag, NoLastModified: o.noLastModified, WeakETag: o.weakETag,
		Free304: o.free304.v}
	switch age := time.Duration(o.maxAge) * time.Second; {
	case o.maxAge == noMaxAge:
		c.NoMaxAge = true
	case age != mockapi.DefaultCacheMaxAge:
		c.MaxAge = &age
	}
	return c
}

// mockLLMOptions are heed mock's flags of the LLM endpoint.
type mockLLMOptions struct {
	vendor               string
	rpm, tpm, itpm, otpm int
	outputTokens         int
	outputShare          float64
	chunkTokens          int
	chunkDelay           time.Duration
}

// runMock runs heed mock [flags]: a rate-limited fake API on --listen until
// ctx is cancelled.
func runMock(ctx context.Context, s streams, args []string) int {
	opts, err := parseMockArgs(args)
	if err != nil {
		return usageError(s, "mock", writeMockHelp, err)
	}
	api, err := mockapi.New(opts.config())
	if err != nil {
		return usageError(s, "mock", writeMockHelp, err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.listen)
	if err != nil {
		fmt.Fprintf(s.stderr, "heed mock: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(s.stdout, "heed mock: listening on http://%s\n", ln.Addr())
	return serveMock(ctx, s, api, ln)
}

// serveMock serves h on ln until ctx is cancelled, then shuts down
// gracefully.
func serveMock(ctx context.Context, s streams, h http.Handler, ln net.Listener) int {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		fmt.Fprintf(s.stderr, "heed mock: %v\n", err)
		return exitFailure
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.WithoutCancel(ctx), mockShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(grace); err != nil {
		srv.Close()
		fmt.Fprintf(s.stderr, "heed mock: requests still in flight after %v were cut off\n", mockShutdownGrace)
	}
	<-served
	return exitOK
}

// parseMockArgs parses heed mock's command line.
func parseMockArgs(args []string) (mockOptions, error) {
	var opts mockOptions
	fs := newMockFlags(&opts)
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, errors.New("takes no arguments, only flags")
	}
	return opts, opts.validate()
}

// validate checks the flags that the command line can get wrong, so that
// errors name flags rather than mockapi.Config fields.
func (o mockOptions) validate() error {
	token, conc := o.algorithm == mockapi.AlgorithmToken, o.algorithm == mockapi.AlgorithmConcurrency
	algorithms, dialects := mockAlgorithms(), mockDialects()
	checks := []struct {
		bad bool
		msg string
	}{
		{!slices.Contains(algorithms, o.algorithm), fmt.Sprintf("--algorithm %q is not one of %s", o.algorithm, strings.Join(algorithms, ", "))},
		{!slices.Contains(dialects, o.dialect), fmt.Sprintf("--dialect %q is not one of %s", o.dialect, strings.Join(dialects, ", "))},
		{o.burst != 0 && !token, "--burst applies only to --algorithm token"},
		{o.burst < 0, "--burst must not be negative"},
		{conc && o.concurrency <= 0, "--algorithm concurrency needs --concurrency N, N > 0"},
		{!conc && o.concurrency != 0, "--concurrency applies only to --algorithm concurrency"},
		{conc && o.limitSet, "--limit does not apply to --algorithm concurrency; use --concurrency"},
		{!(o.errorRate >= 0 && o.errorRate <= 1), "--error-rate must be from 0 to 1"},
		{o.latency < 0 || o.jitter < 0, "--latency and --latency-jitter must not be negative"},
		{o.cache.maxAge < noMaxAge, "--cache-max-age must be a number of seconds, or -1 for none"},
	}
	checks = append(checks, o.llm.checks()...)
	for _, c := range checks {
		if c.bad {
			return errors.New(c.msg)
		}
	}
	return nil
}

// checks returns the checks of the LLM flags, whose errors name flags.
func (o mockLLMOptions) checks() []struct {
	bad bool
	msg string
} {
	on, openAI := o.vendor != "", o.vendor == mockapi.VendorOpenAI
	anthropic := o.vendor == mockapi.VendorAnthropic
	set := o.rpm != 0 || o.tpm != 0 || o.itpm != 0 || o.otpm != 0 || o.outputTokens != 0 ||
		o.outputShare != 0 || o.chunkTokens != 0 || o.chunkDelay != 0
	return []struct {
		bad bool
		msg string
	}{
		{on && !openAI && !anthropic, fmt.Sprintf("--llm %q is not one of openai, anthropic", o.vendor)},
		{!on && set, "--rpm, --tpm, --itpm, --otpm, --output-tokens, --output-share and --chunk-* need --llm openai or anthropic"},
		{o.rpm < 0 || o.tpm < 0 || o.itpm < 0 || o.otpm < 0, "--rpm, --tpm, --itpm and --otpm must not be negative"},
		{anthropic && o.tpm != 0, "--tpm is OpenAI's limit; --llm anthropic takes --itpm and --otpm"},
		{openAI && (o.itpm != 0 || o.otpm != 0), "--itpm and --otpm are Anthropic's limits; --llm openai takes --tpm"},
		{o.outputTokens < 0, "--output-tokens must not be negative"},
		{!(o.outputShare >= 0 && o.outputShare <= 1), "--output-share must be from 0 to 1"},
		{o.outputTokens != 0 && o.outputShare != 0, "set one of --output-tokens and --output-share"},
		{o.chunkTokens < 0 || o.chunkDelay < 0, "--chunk-tokens and --chunk-delay must not be negative"},
	}
}

// config returns the mockapi.LLM the flags describe.
func (o mockLLMOptions) config() mockapi.LLM {
	return mockapi.LLM{Vendor: o.vendor, RequestsPerMinute: o.rpm, TokensPerMinute: o.tpm,
		InputTokensPerMinute: o.itpm, OutputTokensPerMinute: o.otpm, OutputTokens: o.outputTokens,
		OutputShare: o.outputShare, ChunkTokens: o.chunkTokens, ChunkDelay: o.chunkDelay}
}

// mockAlgorithms returns the values --algorithm accepts.
func mockAlgorithms() []string {
	return []string{mockapi.AlgorithmFixed, mockapi.AlgorithmSliding, mockapi.AlgorithmToken, mockapi.AlgorithmConcurrency}
}

// mockDialects returns the values --dialect accepts.
func mockDialects() []string {
	return []string{mockapi.DialectGitHub, mockapi.DialectOpenAI, mockapi.DialectAnthropic,
		mockapi.DialectIETF, mockapi.DialectRetryAfter, mockapi.DialectNone}
}

// config returns the mockapi.Config the flags describe.
func (o mockOptions) config() mockapi.Config {
	limit := mockapi.Limit{Algorithm: o.algorithm, Concurrency: o.concurrency}
	if o.algorithm != mockapi.AlgorithmConcurrency {
		limit.Requests, limit.Per, limit.Burst = o.requests, o.per, o.burst
	}
	return mockapi.Config{Limit: limit, Dialect: o.dialect, ErrorRate: o.errorRate,
		Seed: o.seed, Latency: o.latency, LatencyJitter: o.jitter, LLM: o.llm.config(), Cache: o.cache.config()}
}

// newMockFlags returns heed mock's flag set, storing into opts, which it
// sets to the defaults.
func newMockFlags(o *mockOptions) *flag.FlagSet {
	*o = mockOptions{requests: 20, per: time.Second}
	o.cache.maxAge = int(mockapi.DefaultCacheMaxAge / time.Second)
	fs := newFlagSet("mock")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8701", "listen on `ADDR`; port 0 picks a free port")
	fs.Func("limit", "the limit of each credential, `N/DURATION` such as 20/1s, 5000/1h or 60/m (default 20/1s)", o.setLimit)
	fs.StringVar(&o.algorithm, "algorithm", mockapi.AlgorithmSliding, "how requests are counted: fixed, sliding, token or concurrency")
	fs.IntVar(&o.burst, "burst", 0, "the token bucket's capacity `N`; 0 means the N of --limit")
	fs.IntVar(&o.concurrency, "concurrency", 0, "at most `N` requests of a credential in flight (--algorithm concurrency)")
	fs.StringVar(&o.dialect, "dialect", mockapi.DialectGitHub, "how answers describe the quota: github, openai, anthropic, ietf, retry-after or none")
	fs.Float64Var(&o.errorRate, "error-rate", 0, "the share of requests answered 503 at random, from 0 to 1")
	fs.DurationVar(&o.latency, "latency", 0, "how long each accepted request takes")
	fs.DurationVar(&o.jitter, "latency-jitter", 0, "up to this much random extra latency")
	fs.Uint64Var(&o.seed, "seed", 1, "the seed of --error-rate and --latency-jitter")
	fs.StringVar(&o.llm.vendor, "llm", "", "serve an LLM endpoint of `VENDOR` with token buckets: openai (POST /v1/chat/completions) or anthropic (POST /v1/messages)")
	fs.IntVar(&o.llm.rpm, "rpm", 0, "LLM requests per minute `N` of each credential; 0 means no limit")
	fs.IntVar(&o.llm.tpm, "tpm", 0, "OpenAI tokens per minute `N` (input + max output at arrival, corrected at the end)")
	fs.IntVar(&o.llm.itpm, "itpm", 0, "Anthropic input tokens per minute `N` (cache reads free)")
	fs.IntVar(&o.llm.otpm, "otpm", 0, "Anthropic output tokens per minute `N` (max_tokens at arrival, corrected at the end)")
	fs.IntVar(&o.llm.outputTokens, "output-tokens", 0, "each LLM answer has `N` output tokens (at most max_tokens)")
	fs.Float64Var(&o.llm.outputShare, "output-share", 0, "each LLM answer has this share of max_tokens (default 0.25)")
	fs.IntVar(&o.llm.chunkTokens, "chunk-tokens", 0, "output tokens per streamed chunk `N` (default 1)")
	fs.DurationVar(&o.llm.chunkDelay, "chunk-delay", 0, "the wait between two streamed chunks")
	fs.IntVar(&o.cache.maxAge, "cache-max-age", o.cache.maxAge, "the resources' max-age and s-maxage in `SECONDS`; -1 sends none")
	fs.BoolVar(&o.cache.noCache, "cache-no-cache", false, "the resources' Cache-Control says no-cache: revalidate before every use")
	fs.BoolVar(&o.cache.noStore, "cache-no-store", false, "the resources' Cache-Control says no-store")
	fs.BoolVar(&o.cache.mustRevalidate, "cache-must-revalidate", false, "the resources' Cache-Control says must-revalidate")
	fs.BoolVar(&o.cache.public, "cache-public", false, "the resources' Cache-Control says public instead of private")
	fs.BoolVar(&o.cache.noETag, "no-etag", false, "the resources send no ETag (If-None-Match never matches)")
	fs.BoolVar(&o.cache.noLastModified, "no-last-modified", false, "the resources send no Last-Modified (If-Modified-Since is ignored)")
	fs.BoolVar(&o.cache.weakETag, "weak-etag", false, "the resources' ETags are weak (W/\"...\")")
	fs.Var(&o.cache.free304, "free-304", "a 304 Not Modified costs no quota (default true for --dialect github, else false)")
	return fs
}

// setLimit sets --limit from "N/DURATION".
func (o *mockOptions) setLimit(value string) error {
	n, per, err := parseLimit(value)
	if err != nil {
		return err
	}
	o.requests, o.per, o.limitSet = n, per, true
	return nil
}

// errLimit says what --limit wants.
var errLimit = errors.New("want N/DURATION with N > 0 and DURATION > 0, such as 20/1s, 5000/1h or 60/m")

// parseLimit parses "N/DURATION": a positive count and a positive Go
// duration, whose leading 1 may be left out ("60/m").
func parseLimit(value string) (int, time.Duration, error) {
	count, window, ok := strings.Cut(value, "/")
	n, err := strconv.Atoi(count)
	if !ok || err != nil || n <= 0 {
		return 0, 0, errLimit
	}
	if window != "" && (window[0] < '0' || window[0] > '9') {
		window = "1" + window
	}
	per, err := time.ParseDuration(window)
	if err != nil || per <= 0 {
		return 0, 0, errLimit
	}
	return n, per, nil
}

// writeMockHelp writes the help of heed mock.
func writeMockHelp(w io.Writer) {
	fmt.Fprint(w, `usage: heed mock [flags]

Mock runs a fake API with a rate limit, to test how a client behaves when it
is told to slow down. It prints the URL it listens on, answers until it is
interrupted, then stops gracefully.

	heed mock --limit 20/1s --dialect github
	heed mock --listen 127.0.0.1:0 --limit 5000/1h --algorithm fixed --dialect openai

Each credential (the Authorization token, else X-Api-Key, else the api_key
parameter) gets its own limit. Any path answers 200 with a JSON echo of the
request, with the dialect's quota headers, until the limit refuses it; GET
/stream?events=N&interval=D answers an event stream and /status/CODE that
status. The control endpoints are not limited:

	curl -s localhost:8701/_mock/stats                  counters, per credential
	curl -s localhost:8701/_mock/log                    the request log, JSON lines
	curl -s -XPOST localhost:8701/_mock/reset           clear counters and limits
	curl -s -XPOST localhost:8701/_mock/force \
	  -d '{"credential":"sk-1","status":429,"retry_after_seconds":2,"count":1}'

With --llm, heed mock also serves an LLM endpoint whose per-credential
token buckets charge like the vendor's (see package mockapi): OpenAI's
POST /v1/chat/completions (--rpm, --tpm) or Anthropic's POST /v1/messages
(--rpm, --itpm, --otpm), streamed ("stream": true) or not, with the
vendor's usage, rate-limit headers and 429s. A request header
Mock-Output-Tokens: N sets one answer's output tokens.

	heed mock --llm anthropic --rpm 50 --itpm 20000 --otpm 4000
	heed mock --llm openai --rpm 500 --tpm 30000 --chunk-delay 20ms
	curl -s localhost:8701/_mock/tokens                 tokens charged per bucket vs limit

GET (or HEAD) /resources/NAME is a cacheable resource like GitHub's: a body
naming it, its version and who asked, a strong ETag per credential,
Last-Modified, Vary and "Cache-Control: private, max-age=60, s-maxage=60"
(see the --cache-* flags). If-None-Match or If-Modified-Since that still
match get 304 Not Modified, which costs no quota under --dialect github
(see --free-304). ?chunks=N streams the body in N flushed chunks; with
&gate=1 each chunk after the first waits for POST /_mock/gate.

	curl -s -XPOST localhost:8701/_mock/resources/NAME   a new version (?size=N pads the body to N bytes)
	curl -s -XPOST 'localhost:8701/_mock/gate?n=1&wait=2' once 2 gated streams wait, release one chunk of each

Credentials never appear in plain text: stats and logs name each one by the
first 12 hex digits of its SHA-256. See package mockapi for the details.

Exit status: 0 when stopped by an interrupt; 1 when it cannot listen or
serve; 2 for a bad command line.

flags:
`)
	var opts mockOptions
	writeDefaults(w, newMockFlags(&opts))
}
