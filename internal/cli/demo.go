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
)

// Bounds of heed demo's flags, so that a typo cannot exhaust the machine's
// file descriptors or run for hours.
const (
	maxDemoWorkers  = 1000
	maxDemoDuration = 10 * time.Minute
)

// demoOptions are heed demo's flags.
type demoOptions struct {
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
	return opts, opts.validate()
}

// validate checks the flags the command line can get wrong.
func (o demoOptions) validate() error {
	algorithms, dialects := demoAlgorithms(), mockDialects()
	checks := []struct {
		bad bool
		msg string
	}{
		{!slices.Contains(algorithms, o.algorithm), fmt.Sprintf("--algorithm %q is not one of %s", o.algorithm, strings.Join(algorithms, ", "))},
		{!slices.Contains(dialects, o.dialect), fmt.Sprintf("--dialect %q is not one of %s", o.dialect, strings.Join(dialects, ", "))},
		{o.workers < 1 || o.workers > maxDemoWorkers, fmt.Sprintf("--workers must be from 1 to %d", maxDemoWorkers)},
		{o.duration <= 0 || o.duration > maxDemoDuration, fmt.Sprintf("--duration must be more than 0 and at most %v", maxDemoDuration)},
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

// demoClientNames returns the values --clients accepts, in the default
// order.
func demoClientNames() []string {
	return []string{clientNaive, clientRetryable, clientHeed, clientLearning}
}

// mockConfig returns the configuration of the demo's mock API.
func (o demoOptions) mockConfig() mockapi.Config {
	return mockapi.Config{
		Limit:   mockapi.Limit{Algorithm: o.algorithm, Requests: o.requests, Per: o.per},
		Dialect: o.dialect,
	}
}

// newDemoFlags returns heed demo's flag set, storing into opts, which it
// sets to the defaults.
func newDemoFlags(o *demoOptions) *flag.FlagSet {
	*o = demoOptions{requests: 10, per: time.Second, clients: demoClientNames()}
	fs := newFlagSet("demo")
	fs.Func("limit", "the mock's limit on the token, `N/DURATION` such as 10/1s or 600/1m (default 10/1s)", o.setLimit)
	fs.StringVar(&o.algorithm, "algorithm", mockapi.AlgorithmSliding, "how the mock counts requests: fixed, sliding or token")
	fs.StringVar(&o.dialect, "dialect", mockapi.DialectGitHub, "how the mock describes the quota: github, openai, anthropic, ietf, retry-after or none")
	fs.IntVar(&o.workers, "workers", 8, "`N` goroutines share the one token and send as fast as their client lets them")
	fs.DurationVar(&o.duration, "duration", 6*time.Second, "how long each client's workload runs")
	fs.Func("clients", "the clients to run, in order, comma-separated: naive, retryablehttp, heed (default naive,retryablehttp,heed)", o.setClients)
	fs.BoolVar(&o.configured, "configured", true, "give the heed client the mock's limit as a configured limit, as a user who read the API's docs would (heed-learning never has it)")
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

// setClients sets --clients from a comma-separated list of known,
// distinct client names.
func (o *demoOptions) setClients(value string) error {
	names := strings.Split(value, ",")
	for i, name := range names {
		switch {
		case !slices.Contains(demoClientNames(), name):
			return fmt.Errorf("unknown client %q: want some of %s", name, strings.Join(demoClientNames(), ", "))
		case slices.Contains(names[:i], name):
			return fmt.Errorf("client %q is named twice", name)
		}
	}
	o.clients = names
	return nil
}

// writeDemoHelp writes the help of heed demo.
func writeDemoHelp(w io.Writer) {
	fmt.Fprint(w, `usage: heed demo [flags]

Demo shows why heed exists. It starts a rate-limited mock API on a free
loopback port and runs the same workload through each client in turn, each
against a fresh mock: --workers goroutines that share one bearer token and
send GET requests as fast as their client lets them, for --duration.

	naive          a plain http.Client that retries a 429 or 5xx at once,
	               up to 3 times, as careless code does
	retryablehttp  hashicorp/go-retryablehttp with its defaults
	heed           heed's Transport told the mock's limit, as from the API's
	               docs (--configured=false leaves it to the headers)
	heed-learning  heed's Transport with no configured limit: it paces by
	               what the answers' quota headers say

While a client runs, a line on stderr shows its progress when stderr is a
terminal. Then a table says, for each client, what the mock saw: requests
sent, requests refused by the limit, requests sent while the mock had said to
wait, successful requests per second and as a share of the quota (the limit
times the time the workload ran), and the wall time; and one sentence sums
it up. The clients run one after the other, so that each has the machine to
itself and its progress reads well.

	heed demo
	heed demo --limit 50/1s --dialect openai --workers 32 --duration 5s
	heed demo --clients naive,heed --json

Exit status: 0 when the demo ran; 1 when it cannot listen or write; 2 for a
bad command line; 130 when interrupted, after printing what it measured.

flags:
`)
	var opts demoOptions
	writeDefaults(w, newDemoFlags(&opts))
}
