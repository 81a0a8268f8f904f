package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heedhq/heed"
)

// The workload's request: every worker sends GET demoPath with the one
// bearer token demoToken, so that all of them share one quota.
const (
	demoPath  = "/v1/items"
	demoToken = "demo-token"
)

// naiveRetries is how often the naive client sends a refused or failed
// request again.
const naiveRetries = 3

// demoClient is one of the clients the demo compares, as the workers use
// it. Its functions are safe for concurrent use.
type demoClient struct {
	// call makes one call of the workload, retries included, and reports
	// whether it ended in a 2xx answer.
	call func(ctx context.Context) bool
	// close releases the client's connections.
	close func()
}

// newDemoClient returns the client of that name, sending to baseURL.
func newDemoClient(name string, opts demoOptions, baseURL string) (demoClient, error) {
	if opts.scenario == scenarioLLM {
		return newLLMClient(name, opts, baseURL)
	}
	switch name {
	case clientNaive:
		return newNaiveClient(opts, baseURL), nil
	case clientRetryable:
		return newRetryableClient(baseURL), nil
	case clientHeed:
		return newHeedClient(opts.configured, opts, baseURL)
	case clientLearning:
		return newHeedClient(false, opts, baseURL)
	}
	return demoClient{}, fmt.Errorf("unknown client %q", name)
}

// newNaiveClient returns a plain http.Client that sends a 429 or 5xx again
// at once, up to naiveRetries times, as careless code does. Its transport
// keeps a connection per worker, so that it spends its time on requests,
// not on opening connections.
func newNaiveClient(opts demoOptions, baseURL string) demoClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = opts.workers
	c := &http.Client{Transport: tr}
	return demoClient{
		call:  func(ctx context.Context) bool { return naiveCall(ctx, c, baseURL) },
		close: tr.CloseIdleConnections,
	}
}

// naiveCall makes one call the careless way: it sends a refused (429) or
// failed (5xx) request again at once, up to naiveRetries times.
func naiveCall(ctx context.Context, c *http.Client, baseURL string) bool {
	for attempt := 0; ; attempt++ {
		status, err := get(ctx, c, baseURL)
		again := err == nil && (status == http.StatusTooManyRequests || status >= 500)
		if !again || attempt == naiveRetries {
			return succeeded(status, err)
		}
	}
}

// newRetryableClient returns hashicorp/go-retryablehttp's client with its
// defaults (4 retries of 429 and 5xx, exponential backoff from 1s to 30s,
// a 429's or 503's Retry-After honoured), used through StandardClient as
// most programs use it; only its logger, which writes every retry on
// stderr, is silenced.
func newRetryableClient(baseURL string) demoClient {
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	c := rc.StandardClient()
	return demoClient{
		call:  func(ctx context.Context) bool { return succeeded(get(ctx, c, baseURL)) },
		close: rc.HTTPClient.CloseIdleConnections,
	}
}

// newHeedClient returns an http.Client whose transport is heed's, with the
// mock as its only upstream: told the mock's limit when configured, else
// learning the pace from the answers' quota headers alone.
func newHeedClient(configured bool, opts demoOptions, baseURL string) (demoClient, error) {
	up := heed.Upstream{Name: "mock", BaseURL: baseURL}
	if configured {
		up.Limits = []heed.Limit{{Requests: int64(opts.requests), Per: opts.per}}
	}
	t, err := heed.New(heed.Config{Upstreams: []heed.Upstream{up}})
	if err != nil {
		return demoClient{}, err
	}
	c := &http.Client{Transport: t}
	return demoClient{
		call:  func(ctx context.Context) bool { return succeeded(get(ctx, c, baseURL)) },
		close: func() { _ = t.Close() },
	}, nil
}

// get sends the workload's request through c and returns the answer's
// status, after reading and closing its body.
func get(ctx context.Context, c *http.Client, baseURL string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+demoPath, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+demoToken)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// succeeded reports whether a call ended in a 2xx answer.
func succeeded(status int, err error) bool {
	return err == nil && status >= 200 && status < 300
}
