package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/heedhq/heed/mockapi"
)

// The names of the clients heed demo compares, the values of --clients.
const (
	clientNaive     = "naive"
	clientRetryable = "retryablehttp"
	clientHeed      = "heed"
	clientLearning  = "heed-learning"
	clientEstimate  = "estimate"
)

// The scenarios of heed demo, the values of --scenario.
const (
	// scenarioRequests is a limit on requests per window, described by
	// the --dialect's headers (the default).
	scenarioRequests = "requests"
	// scenarioLLM is an LLM API's token buckets (see demo_llm.go).
	scenarioLLM = "llm"
)

// requestsOnlyFlags are the flags that shape the requests scenario's
// limit; the llm scenario's buckets are fixed.
var requestsOnlyFlags = []string{"limit", "algorithm", "dialect"}

// Bounds of heed demo's flags, so that a typo cannot exhaust the machine's
// file descriptors or run for hours.
const (
	maxDemoWorkers  = 1000
	maxDemoDuration = 10 * time.Minute
)

// demoOptions are heed demo's flags.
type demoOptions struct {
	scenario string
	// requests per per is --limit.
	requests  int
	per       time.Duration
	algorithm string
	dialect   string
	workers   int
	duration  time.Duration
	clients   []string
	// configured gives heed the mock's limit as a configured limit.
	configured bool
	json       bool
	// llm are the llm scenario's buckets, defaultLLMBuckets but in tests.
	llm llmBuckets
}

// runDemo runs heed demo [flags]: the same workload through each client
// against a rate-limited mock API, then a table of what each did. It exits
// 130, after printing what it measured, when ctx is cancelled.
func runDemo(ctx context.Context, s streams, args []string) int {
	opts, err := parseDemoArgs(args)
	if err != nil {
		return usageError(s, "demo", writeDemoHelp, err)
	}
	api, err := mockapi.New(opts.mockConfig())
	if err != nil {
		return usageError(s, "demo", writeDemoHelp, err)
	}
	srv, err := startDemoServer(ctx, api)
	if err != nil {
		fmt.Fprintf(s.stderr, "heed demo: %v\n", err)
		return exitFailure
	}
	defer srv.close()
	p := newProgress(s.stderr)
	rep, err := runDemoClients(ctx, opts, srv, p)
	p.finish()
	if err != nil {
		fmt.Fprintf(s.stderr, "heed demo: %v\n", err)
		return exitFailure
	}
	if err := writeDemoReport(s.stdout, rep, opts.json); err != nil {
		fmt.Fprintf(s.stderr, "heed demo: writing the report: %v\n", err)
		return exitFailure
	}
	if rep.Interrupted {
		return exitInterrupted
	}
	return exitOK
}

// parseDemoArgs parses heed demo's command line.
func parseDemoArgs(args []string) (demoOptions, error) {
	var opts demoOptions
	fs := newDemoFlags(&opts)
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, errors.New("takes no arguments, only flags")
	}
	if err := checkScenarioFlags(opts.scenario, fs); err != nil {
		return opts, err
	}
	if opts.clients == nil {
		opts.clients = demoClientNames(opts.scenario)
	}
	return opts, opts.validate()
}

// checkScenarioFlags refuses the flags set on fs that the scenario does
// not use.
func checkScenarioFlags(scenario string, fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if scenario != scenarioRequests && slices.Contains(requestsOnlyFlags, f.Name) && err == nil {
			err = fmt.Errorf("--%s applies to --scenario %s only", f.Name, scenarioRequests)
		}
	})
	return err
}

// validate checks the flags the command line can get wrong.
func (o demoOptions) validate() error {
	if !slices.Contains(demoScenarios(), o.scenario) {
		return fmt.Errorf("--scenario %q is not one of %s", o.scenario, strings.Join(demoScenarios(), ", "))
	}
	if err := checkClients(o.scenario, o.clients); err != nil {
		return err
	}
	algorithms, dialects := demoAlgorithms(), mockDialects()
	checks := []struct {
		bad bool
		msg string
	}{
		{!slices.Contains(algorithms, o.algorithm), fmt.Sprintf("--algorithm %q is not one of %s", o.algorithm, strings.Join(algorithms, ", "))},
		{!slices.Contains(dialects, o.dialect), fmt.Sprintf("--dialect %q is not one of %s", o.dialect, strings.Join(dialects, ", "))},
		{o.workers < 1 || o.workers > maxDemoWorkers, fmt.Sprintf("--workers must be from 1 to %d", maxDemoWorkers)},
		{o.duration <= 0 || o.duration > maxDemoDuration, fmt.Sprintf("--duration must be more than 0 and at most %v", maxDemoDuration)},
		{o.scenario == scenarioLLM && o.duration < minLLMDuration, fmt.Sprintf("--scenario %s needs a --duration of at least %v: the first %v drains the buckets' first minute, and the use is measured over the whole seconds after it", scenarioLLM, minLLMDuration, llmWarmup)},
	}
	for _, c := range checks {
		if c.bad {
			return errors.New(c.msg)
		}
	}
	return nil
}

// demoAlgorithms returns the values --algorithm accepts: those with a rate,
// since the demo measures each client against the quota a rate gives.
func demoAlgorithms() []string {
	return []string{mockapi.AlgorithmFixed, mockapi.AlgorithmSliding, mockapi.AlgorithmToken}
}

// demoScenarios returns the values --scenario accepts.
func demoScenarios() []string { return []string{scenarioRequests, scenarioLLM} }

// demoClientNames returns the clients a scenario has, the values --clients
// accepts, in the default order.
func demoClientNames(scenario string) []string {
	if scenario == scenarioLLM {
		return []string{clientNaive, clientEstimate, clientHeed, clientLearning}
	}
	return []string{clientNaive, clientRetryable, clientHeed, clientLearning}
}

// checkClients checks that names are known, distinct clients of the
// scenario.
func checkClients(scenario string, names []string) error {
	known := demoClientNames(scenario)
	for i, name := range names {
		switch {
		case !slices.Contains(known, name):
			return fmt.Errorf("unknown client %q: want some of %s", name, strings.Join(known, ", "))
		case slices.Contains(names[:i], name):
			return fmt.Errorf("client %q is named twice", name)
		}
	}
	return nil
}

// mockConfig returns the configuration of the demo's mock API.
func (o demoOptions) mockConfig() mockapi.Config {
	if o.scenario == scenarioLLM {
		return llmMockConfig(o.llm)
	}
	return mockapi.Config{
		Limit:   mockapi.Limit{Algorithm: o.algorithm, Requests: o.requests, Per: o.per},
		Dialect: o.dialect,
	}
}

// newDemoFlags returns heed demo's flag set, storing into opts, which it
// sets to the defaults.
func newDemoFlags(o *demoOptions) *flag.FlagSet {
	*o = demoOptions{requests: 10, per: time.Second, llm: defaultLLMBuckets}
	fs := newFlagSet("demo")
	fs.StringVar(&o.scenario, "scenario", scenarioRequests, "the workload and limit: requests (a limit on requests) or llm (an LLM API's token buckets)")
	fs.Func("limit", "requests scenario: the mock's limit on the token, `N/DURATION` such as 10/1s or 600/1m (default 10/1s)", o.setLimit)
	fs.StringVar(&o.algorithm, "algorithm", mockapi.AlgorithmSliding, "requests scenario: how the mock counts requests: fixed, sliding or token")
	fs.StringVar(&o.dialect, "dialect", mockapi.DialectGitHub, "requests scenario: how the mock describes the quota: github, openai, anthropic, ietf, retry-after or none")
	fs.IntVar(&o.workers, "workers", 8, "`N` goroutines share the one credential and send as fast as their client lets them")
	fs.DurationVar(&o.duration, "duration", 6*time.Second, "how long each client's workload runs (llm: at least 4s)")
	fs.Func("clients", "the clients to run, in order, comma-separated (default naive,retryablehttp,heed,heed-learning; with --scenario llm naive,estimate,heed,heed-learning)", o.setClients)
	fs.BoolVar(&o.configured, "configured", true, "give the heed client the mock's limits as configured limits, as a user who read the API's docs would (heed-learning never has them)")
	fs.BoolVar(&o.json, "json", false, "print the results as one JSON object instead of a table")
	return fs
}

// setLimit sets --limit from "N/DURATION".
func (o *demoOptions) setLimit(value string) error {
	n, per, err := parseLimit(value)
	if err != nil {
		return err
	}
	o.requests, o.per = n, per
	return nil
}

// setClients sets --clients from a comma-separated list of client names,
// which validate checks against the scenario's.
func (o *demoOptions) setClients(value string) error {
	o.clients = strings.Split(value, ",")
	return nil
}

// writeDemoHelp writes the help of heed demo.
func writeDemoHelp(w io.Writer) {
	fmt.Fprint(w, `usage: heed demo [flags]

Demo shows why heed exists. It starts a rate-limited mock API on a free
loopback port and runs the same workload through each client in turn, each
against a fresh mock: --workers goroutines that share one credential and
send requests as fast as their client lets them, for --duration. The
--scenario picks the workload and the limit.

--scenario requests (the default): GET requests under a limit on requests
(--limit, --algorithm), described by the --dialect's headers.

	naive          a plain http.Client that retries a 429 or 5xx at once,
	               up to 3 times, as careless code does
	retryablehttp  hashicorp/go-retryablehttp with its defaults
	heed           heed's Transport told the mock's limit, as from the API's
	               docs (--configured=false leaves it to the headers)
	heed-learning  heed's Transport with no configured limit: it paces by
	               what the answers' quota headers say

--scenario llm: Anthropic Messages requests (prompts of mixed sizes,
max_tokens 512, answers using 15% of it) under Anthropic-style buckets of
requests, input tokens and output tokens a minute, each full at first; the
output bucket is charged max_tokens at arrival and corrected to the usage
at the end, as Anthropic's is.

	naive          a plain http.Client that sends each request once; a 429
	               is a failed call
	estimate       the OpenAI cookbook's pacer, in one process: a bucket per
	               limit, each request charged its estimated prompt plus
	               max_tokens, nothing ever given back
	heed           heed's Transport told the buckets, pricing each request
	               (cost: anthropic) and settling it to the answer's usage
	heed-learning  heed's Transport with cost: anthropic and no configured
	               limit: it paces by the anthropic-ratelimit headers

While a client runs, a line on stderr shows its progress when stderr is a
terminal. Then a table says, for each client, what the mock saw: requests
sent, requests refused by the limit, requests sent while the mock had said to
wait, successful requests per second and as a share of the quota (the limit
times the time the workload ran), and the wall time; and one sentence sums
it up. In the llm scenario the table says instead the input and output
tokens the mock charged, tokens per second, and the share of the input
token limit (the bucket that binds) charged after the first 2s, which
drain the buckets' first minute; on a slow machine (or under the race
detector) draining it may take longer, and that share then counts part of
it, over 100%. The clients run one after the other, so that each has the
machine to itself and its progress reads well.

	heed demo
	heed demo --limit 50/1s --dialect openai --workers 32 --duration 5s
	heed demo --clients naive,heed --json
	heed demo --scenario llm

Exit status: 0 when the demo ran; 1 when it cannot listen or write; 2 for a
bad command line; 130 when interrupted, after printing what it measured.

flags:
`)
	var opts demoOptions
	writeDefaults(w, newDemoFlags(&opts))
}
