package cli

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/heedhq/heed/mockapi"
)

// llmScenario is the llm scenario's workload and buckets, as --json
// prints them.
type llmScenario struct {
	Vendor string `json:"vendor"`
	// The mock's buckets, per minute.
	RequestsPerMinute     int64 `json:"requests_per_minute"`
	InputTokensPerMinute  int64 `json:"input_tokens_per_minute"`
	OutputTokensPerMinute int64 `json:"output_tokens_per_minute"`
	// MaxTokens is every request's max_tokens; OutputShare the share of it
	// that answers use.
	MaxTokens   int64   `json:"max_tokens"`
	OutputShare float64 `json:"output_share"`
	// Binding names the bucket whose use QuotaShare is.
	Binding string `json:"binding"`
	// Warmup is how much of each run, in seconds, the use leaves out.
	Warmup float64 `json:"warmup_seconds"`
}

// newLLMScenario returns the llm scenario's description.
func newLLMScenario(b llmBuckets) *llmScenario {
	return &llmScenario{Vendor: mockapi.VendorAnthropic, RequestsPerMinute: b.requests,
		InputTokensPerMinute: b.input, OutputTokensPerMinute: b.output,
		MaxTokens: llmMaxTokens, OutputShare: llmOutputShare, Binding: llmBinding, Warmup: seconds(llmWarmup)}
}

// llmTokens is what the llm scenario's mock charged one client.
type llmTokens struct {
	// Input and Output are the tokens charged over the whole run, after
	// the mock corrected each answer's output charge to its usage;
	// OutputAtArrival is the output charged at arrival (max_tokens).
	Input           int64 `json:"input"`
	Output          int64 `json:"output"`
	OutputAtArrival int64 `json:"output_at_arrival"`
	// Steady is what each bucket was charged in the steady part of the
	// run (from the first whole second after the warmup to the last whole
	// second of the run), against its limit.
	Steady mockapi.TokenUse `json:"steady"`
	// PerSecond is the input and output tokens charged per second in the
	// steady part.
	PerSecond float64 `json:"per_second"`
}

// steadySpan returns the steady part of a run that started at start and
// ran for ran: whole seconds, from the first after the warmup to the last
// the run ended in, so that TokenUse, which rounds out to whole seconds,
// counts nothing of the warmup or of the time after the run.
func steadySpan(start time.Time, ran time.Duration) (from, to time.Time) {
	from = start.Add(llmWarmup)
	if t := from.Truncate(time.Second); t.Before(from) {
		from = t.Add(time.Second)
	}
	return from, start.Add(ran).Truncate(time.Second)
}

// withTokens returns res with what the mock charged: counts over the whole
// run, use over its steady part. QuotaShare becomes the binding bucket's
// use.
func withTokens(res demoResult, counts mockapi.TokenCounts, use mockapi.TokenUse) demoResult {
	span := use.To.Sub(use.From)
	t := &llmTokens{Input: counts.Charged.InputTokens, Output: counts.Charged.OutputTokens,
		OutputAtArrival: counts.AtArrival.OutputTokens, Steady: use}
	if span > 0 {
		t.PerSecond = round(float64(use.InputTokens.Charged+use.OutputTokens.Charged)/seconds(span), 1)
	}
	res.Tokens = t
	res.Quota = round(float64(use.InputTokens.Limit)*span.Minutes(), 2)
	res.QuotaShare = round(use.InputTokens.Fraction, 4)
	return res
}

// writeLLMIntro says what the llm scenario ran.
func writeLLMIntro(b *bytes.Buffer, o demoOptions) {
	fmt.Fprintf(b, "%d workers share one Anthropic key for %v per client, sending Messages requests: prompts of %d to %d lines, max_tokens %d, answers using %s of it.\n",
		o.workers, o.duration, slices.Min(llmPromptLines), slices.Max(llmPromptLines), llmMaxTokens, percent(llmOutputShare))
	fmt.Fprintf(b, "The mock's buckets, full at first, refill %d requests, %d input tokens and %d output tokens a minute; output is charged max_tokens at arrival, corrected at the end.\n\n",
		o.llm.requests, o.llm.input, o.llm.output)
	fmt.Fprintf(b, "estimate charges each request its estimated prompt and max_tokens in its own buckets and never gives any back (the OpenAI cookbook's pacer).\n")
	if o.configured && slices.Contains(o.clients, clientHeed) {
		fmt.Fprintf(b, "heed is told the limits and settles each charge to the answer's usage; heed-learning only reads the answers' headers.\n")
	}
	fmt.Fprintf(b, "INPUT USE is the share of the input token limit, the bucket that binds, charged after the first %v, which drains the buckets' first minute.\n\n", llmWarmup)
}

// writeLLMTable writes one row per client.
func writeLLMTable(w io.Writer, rep demoReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CLIENT\tSENT\tREFUSED (429)\tOK\tINPUT TOKENS\tOUTPUT TOKENS\tTOKENS/S\tINPUT USE\tFAILED CALLS\tWALL\n")
	for _, r := range rep.Clients {
		var t llmTokens
		if r.Tokens != nil {
			t = *r.Tokens
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.0f\t%s\t%d\t%.1fs\n",
			r.Client, r.Sent, r.Refused, r.OK, t.Input, t.Output, t.PerSecond,
			percent(t.Steady.InputTokens.Fraction), r.CallsFailed, r.Wall)
	}
	tw.Flush()
}
