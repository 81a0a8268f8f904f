package cli

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/heedhq/heed/mockapi"
)

// demoReport is what heed demo measured, as --json prints it.
type demoReport struct {
	Scenario string `json:"scenario"`
	// Limit is the mock's limit on the token, as --limit gives it;
	// Algorithm and Dialect are --algorithm and --dialect. The llm
	// scenario has none of them, but LLM.
	Limit     string       `json:"limit,omitempty"`
	Algorithm string       `json:"algorithm,omitempty"`
	Dialect   string       `json:"dialect,omitempty"`
	LLM       *llmScenario `json:"llm,omitempty"`
	Workers   int          `json:"workers"`
	// Duration is how long each client's workload was to run, in seconds.
	Duration float64 `json:"duration_seconds"`
	// HeedConfigured reports that heed was given the mock's limit.
	HeedConfigured bool `json:"heed_configured"`
	// Clients are the clients that ran, in the order they ran.
	Clients    []demoResult `json:"clients"`
	Conclusion string       `json:"conclusion"`
	// Interrupted reports that the demo was cancelled before every client
	// had run its whole workload.
	Interrupted bool `json:"interrupted"`

	// opts are the flags the demo ran with, for the text report.
	opts demoOptions
}

// demoResult is what one client's workload did, counted by the mock.
type demoResult struct {
	Client string `json:"client"`
	// Sent counts the requests the mock received, retries included.
	Sent int `json:"sent"`
	// Refused counts the requests the limit refused: 429s, or 403s in the
	// github dialect.
	Refused int `json:"refused"`
	// DuringWait counts the requests sent while the mock had said to wait.
	DuringWait int `json:"during_wait"`
	// OK counts the requests the mock accepted.
	OK int `json:"ok"`
	// Calls counts the calls the workers made, retries not included;
	// CallsFailed those that did not end in a 2xx answer.
	Calls       int64 `json:"calls"`
	CallsFailed int64 `json:"calls_failed"`
	// OKPerSecond is OK over the time the workload ran.
	OKPerSecond float64 `json:"ok_per_second"`
	// Quota is how many requests the limit's rate allows in the time the
	// workload ran; QuotaShare is OK over it. A token bucket's first burst
	// can take a client past 1. In the llm scenario they are the binding
	// bucket's instead: the tokens it refilled in the steady part of the
	// run, and the share of them charged (Tokens.Steady).
	Quota      float64 `json:"quota"`
	QuotaShare float64 `json:"quota_share"`
	// Tokens is what the llm scenario's mock charged; nil in the requests
	// scenario.
	Tokens *llmTokens `json:"tokens,omitempty"`
	// Ran is how long the workload ran, in seconds: the duration, or less
	// when interrupted. Wall is the time from the first request until
	// every worker had stopped.
	Ran  float64 `json:"ran_seconds"`
	Wall float64 `json:"wall_seconds"`
	// Interrupted reports that the workload was cut short.
	Interrupted bool `json:"interrupted,omitempty"`
}

// newDemoReport returns the report of a run of opts, with no client yet.
func newDemoReport(opts demoOptions) demoReport {
	rep := demoReport{Scenario: opts.scenario, Workers: opts.workers,
		Duration: seconds(opts.duration), HeedConfigured: opts.configured,
		Clients: []demoResult{}, opts: opts,
	}
	if opts.scenario == scenarioLLM {
		rep.LLM = newLLMScenario(opts.llm)
	} else {
		rep.Limit, rep.Algorithm, rep.Dialect = fmt.Sprintf("%d/%v", opts.requests, opts.per), opts.algorithm, opts.dialect
	}
	return rep
}

// newDemoResult returns the result of the named client's workload, from
// the mock's counters st, the workers' calls and the wall time.
func newDemoResult(name string, opts demoOptions, st mockapi.Counts, calls *callCounts, wall time.Duration) demoResult {
	ran := min(wall, opts.duration)
	quota := float64(opts.requests) * seconds(ran) / seconds(opts.per)
	return demoResult{
		Client: name, Sent: st.Requests, Refused: st.Limited, DuringWait: st.DuringWait, OK: st.Accepted,
		Calls: calls.calls.Load(), CallsFailed: calls.calls.Load() - calls.ok.Load(),
		OKPerSecond: round(float64(st.Accepted)/seconds(ran), 2),
		Quota:       round(quota, 2), QuotaShare: round(float64(st.Accepted)/quota, 4),
		Ran: round(seconds(ran), 3), Wall: round(seconds(wall), 3),
	}
}

// round rounds x to n decimals.
func round(x float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(x*p) / p
}

// conclude sums the results up in one sentence, the client with the fewest
// refusals first, quota naming what QuotaShare is a share of: "heed: 0
// refusals and 97% of the quota; naive: 1843 refusals and 100% of the
// quota."
func conclude(results []demoResult, quota string) string {
	if len(results) == 0 {
		return "No client ran."
	}
	sorted := slices.Clone(results)
	slices.SortStableFunc(sorted, func(a, b demoResult) int { return cmp.Compare(a.Refused, b.Refused) })
	parts := make([]string, len(sorted))
	for i, r := range sorted {
		parts[i] = fmt.Sprintf("%s: %s and %s of the %s", r.Client, plural(r.Refused, "refusal"), percent(r.QuotaShare), quota)
	}
	return strings.Join(parts, "; ") + "."
}

// quotaWords names what a scenario's QuotaShare is a share of.
func quotaWords(scenario string) string {
	if scenario == scenarioLLM {
		return "input token limit"
	}
	return "quota"
}

// plural returns "1 refusal" or "n refusals".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// percent formats a share as a whole percentage.
func percent(share float64) string {
	return fmt.Sprintf("%.0f%%", 100*share)
}

// writeDemoReport writes rep as a table or, asJSON, as one JSON object.
func writeDemoReport(w io.Writer, rep demoReport, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(rep)
	}
	var b bytes.Buffer
	if rep.Scenario == scenarioLLM {
		writeLLMIntro(&b, rep.opts)
		writeLLMTable(&b, rep)
	} else {
		writeRequestsIntro(&b, rep.opts)
		writeDemoTable(&b, rep)
	}
	fmt.Fprintf(&b, "\n%s\n", rep.Conclusion)
	if rep.Interrupted {
		b.WriteString("Interrupted: a client cut short counts only the time it ran; the clients after it did not run.\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeRequestsIntro says what the requests scenario ran.
func writeRequestsIntro(b *bytes.Buffer, o demoOptions) {
	fmt.Fprintf(b, "%d workers share one token for %v per client; the mock allows it %d requests per %v (%s, %s headers).\n\n",
		o.workers, o.duration, o.requests, o.per, algorithmWords(o.algorithm), o.dialect)
	if o.configured && slices.Contains(o.clients, clientHeed) {
		fmt.Fprintf(b, "heed is told the limit, as from the API's docs; heed-learning only reads the answers' headers.\n\n")
	}
}

// writeDemoTable writes one row per client.
func writeDemoTable(w io.Writer, rep demoReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CLIENT\tSENT\tREFUSED (%d)\tSENT IN COOLDOWN\tOK\tOK/S\tQUOTA\tFAILED CALLS\tWALL\n", refusalStatus(rep.Dialect))
	for _, r := range rep.Clients {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.1f\t%s\t%d\t%.1fs\n",
			r.Client, r.Sent, r.Refused, r.DuringWait, r.OK, r.OKPerSecond, percent(r.QuotaShare), r.CallsFailed, r.Wall)
	}
	tw.Flush()
}

// refusalStatus returns the status of the mock's refusals in a dialect.
func refusalStatus(dialect string) int {
	if dialect == mockapi.DialectGitHub {
		return 403
	}
	return 429
}

// algorithmWords names an algorithm for a person.
func algorithmWords(algorithm string) string {
	switch algorithm {
	case mockapi.AlgorithmFixed:
		return "fixed window"
	case mockapi.AlgorithmSliding:
		return "sliding window"
	case mockapi.AlgorithmToken:
		return "token bucket"
	}
	return algorithm
}
