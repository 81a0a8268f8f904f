package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
)

// The llm scenario: every worker sends Anthropic Messages requests with
// one key, under the mock's Anthropic buckets (requests, input tokens and
// output tokens a minute, each full at first and refilling continuously,
// as Anthropic's are). The prompts are of mixed sizes and ask for
// llmMaxTokens, of which the answers use llmOutputShare: the output
// bucket is charged max_tokens at arrival and corrected at the end, so a
// pacer that never settles spends its output budget on tokens no answer
// produced, and the input bucket, which binds a pacer that settles, stays
// far from used.
//
// The request bucket is far from binding, so that the token buckets bind;
// it is large also so that the first minute's full token buckets drain in
// the warmup (at one minute's requests, they would drain for a minute),
// after which the use is measured.
const (
	llmMaxTokens   = 512
	llmOutputShare = 0.15
	llmModel       = "claude-sonnet-4-5"
	llmPath        = "/v1/messages"
	llmKey         = "sk-ant-demo"
	// llmBinding names the bucket that binds a client that settles: the
	// workload's true usage needs a larger share of it than of the others.
	llmBinding = "input_tokens"
)

// llmBuckets are the mock's buckets, per minute. The tests shrink them,
// so that the first minute drains in the time a slow machine gives them.
type llmBuckets struct {
	requests, input, output int64
}

// defaultLLMBuckets are the buckets heed demo --scenario llm runs with.
var defaultLLMBuckets = llmBuckets{requests: 120_000, input: 150_000, output: 60_000}

// llmWarmup is the part of each client's run left out of the use: the
// time it takes to drain the buckets' first minute (heed, paced at the
// request limit, needs 0.16s for its 315 requests; a loaded machine, 1s
// or more). minLLMDuration leaves at least one whole second after it.
const (
	llmWarmup      = 2 * time.Second
	minLLMDuration = llmWarmup + 2*time.Second
)

// llmPromptLines are the prompts' sizes, in lines of llmPromptLine (about
// 25 tokens each): from a paragraph to two pages. The spread is narrow
// enough that the few requests of a paced client's steady seconds (the
// estimate pacer's 2 a second) charge about the mean: with sizes from 1
// to 60 lines, its use swung from 29% to 69% between runs.
var llmPromptLines = []int{4, 20, 8, 28, 12, 32, 16, 24}

const llmPromptLine = "The quarterly report shows revenue up 12% with costs flat; summarise the risks, the open questions and what to do next. "

// llmMockConfig returns the configuration of the llm scenario's mock.
func llmMockConfig(b llmBuckets) mockapi.Config {
	return mockapi.Config{LLM: mockapi.LLM{Vendor: mockapi.VendorAnthropic,
		RequestsPerMinute: int(b.requests), InputTokensPerMinute: int(b.input),
		OutputTokensPerMinute: int(b.output), OutputShare: llmOutputShare}}
}

// llmLimits returns the mock's buckets as heed's limits, as a user who
// read Anthropic's rate-limit page would configure them.
func llmLimits(b llmBuckets) []heed.Limit {
	return []heed.Limit{
		{Requests: b.requests, Per: time.Minute},
		{InputTokens: b.input, Per: time.Minute},
		{OutputTokens: b.output, Per: time.Minute},
	}
}

// llmBodies returns the workload's request bodies, one per prompt size.
func llmBodies() [][]byte {
	bodies := make([][]byte, len(llmPromptLines))
	for i, n := range llmPromptLines {
		bodies[i], _ = json.Marshal(map[string]any{"model": llmModel, "max_tokens": llmMaxTokens,
			"messages": []map[string]string{{"role": "user", "content": strings.Repeat(llmPromptLine, n)}}})
	}
	return bodies
}

// llmWorkload hands out the workload's bodies in turn. It is safe for
// concurrent use.
type llmWorkload struct {
	bodies [][]byte
	next   atomic.Uint64
}

// newLLMWorkload returns the workload, from its first body.
func newLLMWorkload() *llmWorkload { return &llmWorkload{bodies: llmBodies()} }

// body returns the next request's body.
func (w *llmWorkload) body() []byte {
	return w.bodies[(w.next.Add(1)-1)%uint64(len(w.bodies))]
}

// newLLMClient returns the llm scenario's client of that name, sending to
// baseURL.
func newLLMClient(name string, opts demoOptions, baseURL string) (demoClient, error) {
	switch name {
	case clientNaive:
		return newLLMPlainClient(opts, baseURL, nil), nil
	case clientEstimate:
		return newLLMPlainClient(opts, baseURL, newEstimatePacer(opts.llm, time.Now())), nil
	case clientHeed:
		return newLLMHeedClient(opts.configured, opts.llm, baseURL)
	case clientLearning:
		return newLLMHeedClient(false, opts.llm, baseURL)
	}
	return demoClient{}, fmt.Errorf("unknown client %q", name)
}

// newLLMPlainClient returns a plain http.Client that sends each request
// once, a 429 counting as a failed call: at once (naive), or when pacer,
// if not nil, lets it.
func newLLMPlainClient(opts demoOptions, baseURL string, pacer *estimatePacer) demoClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = opts.workers
	c := &http.Client{Transport: tr}
	work := newLLMWorkload()
	return demoClient{
		call: func(ctx context.Context) bool {
			body := work.body()
			if pacer != nil && pacer.wait(ctx, estimateCharge(body)) != nil {
				return false
			}
			return succeeded(postMessage(ctx, c, baseURL, body))
		},
		close: tr.CloseIdleConnections,
	}
}

// newLLMHeedClient returns an http.Client over heed's Transport with the
// mock as an Anthropic upstream: told its limits when configured, else
// learning them from the answers' anthropic-ratelimit headers.
func newLLMHeedClient(configured bool, b llmBuckets, baseURL string) (demoClient, error) {
	up := heed.Upstream{Name: "anthropic", BaseURL: baseURL, Cost: "anthropic", Vendor: "anthropic"}
	if configured {
		up.Limits = llmLimits(b)
	}
	t, err := heed.New(heed.Config{Upstreams: []heed.Upstream{up}})
	if err != nil {
		return demoClient{}, err
	}
	c := &http.Client{Transport: t}
	work := newLLMWorkload()
	return demoClient{
		call:  func(ctx context.Context) bool { return succeeded(postMessage(ctx, c, baseURL, work.body())) },
		close: func() { _ = t.Close() },
	}, nil
}

// postMessage sends one Messages request with body through c and returns
// the answer's status, after reading its body to the end (where heed
// finds the usage that settles the charge) and closing it.
func postMessage(ctx context.Context, c *http.Client, baseURL string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+llmPath, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Api-Key", llmKey)
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}
