package heed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/mockapi"
	"github.com/heedhq/heed/store"
)

// The token fleet test: three OS processes of eight workers each share
// one redis-server and one Anthropic key, under heed mock's Anthropic
// buckets (requests, input tokens, output tokens a minute), with prompts
// of mixed sizes and max_tokens 512 of which responses use a small share.
// The processes are this test binary run again with tokenWorkerEnv set.

const tokenWorkerEnv = "HEED_TOKEN_WORKER"

// The buckets, per minute: the mock's, and the limits heed is told.
const (
	tokenRPM  = 6000 // far from binding: the tokens bind
	tokenITPM = 120_000
	tokenOTPM = 48_000
	// tokenOutputShare is the share of max_tokens a response uses.
	tokenOutputShare = 0.15
	tokenMaxTokens   = 512
	tokenKey         = "sk-ant-fleet"
)

// tokenJob is what one worker process does.
type tokenJob struct {
	Store      string        `json:"store"`
	URL        string        `json:"url"`
	Goroutines int           `json:"goroutines"`
	For        time.Duration `json:"for"`
	// Settle reads every response's body, so that its usage settles the
	// charge; false closes it unread, so that the charge stands (as an
	// estimate-only pacer charges).
	Settle bool `json:"settle"`
}

// tokenReport is what a worker prints after tokenReportPrefix.
type tokenReport struct {
	Status    map[int]int `json:"status"`
	Synthetic int         `json:"synthetic"`
	Errors    int         `json:"errors"`
	FirstErr  string      `json:"first_error,omitempty"`
	// Traffic is what the process's store sent Redis.
	Traffic store.Traffic `json:"traffic"`
}

const tokenReportPrefix = "TOKEN-REPORT "

// tokenPrompts are prompts of mixed sizes: from a line to a few pages.
var tokenPrompts = func() []string {
	const line = "The quarterly report shows revenue up 12% with costs flat; summarise the risks, the open questions and what to do next. "
	var out []string
	for _, n := range []int{1, 3, 8, 20, 40, 2, 12, 60} {
		out = append(out, strings.Repeat(line, n))
	}
	return out
}()

// TestTokenWorker is one worker of TestTokenFleet; it skips unless started
// by it.
func TestTokenWorker(t *testing.T) {
	raw := os.Getenv(tokenWorkerEnv)
	if raw == "" {
		t.Skip("a worker of TestTokenFleet; runs only when it starts it")
	}
	var job tokenJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		t.Fatal(err)
	}
	tr, err := heed.New(heed.Config{Store: job.Store, Stores: config.Stores{}, FingerprintSecret: "a secret every process shares",
		Upstreams: []heed.Upstream{{Name: "anthropic", BaseURL: job.URL, Cost: "anthropic", Vendor: "anthropic", Adaptive: new(os.Getenv("HEED_ADAPT") != "0"),
			Limits: []heed.Limit{{Requests: tokenRPM, Per: time.Minute}, {InputTokens: tokenITPM, Per: time.Minute},
				{OutputTokens: tokenOTPM, Per: time.Minute}}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), job.For)
	defer cancel()
	var mu sync.Mutex
	rep := tokenReport{Status: map[int]int{}}
	var wg sync.WaitGroup
	for g := range job.Goroutines {
		wg.Go(func() {
			for i := g; ctx.Err() == nil; i++ {
				body, _ := json.Marshal(map[string]any{"model": "claude-sonnet-4-5", "max_tokens": tokenMaxTokens,
					"messages": []map[string]string{{"role": "user", "content": tokenPrompts[i%len(tokenPrompts)]}}})
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, job.URL+"/v1/messages", bytes.NewReader(body))
				req.Header.Set("X-Api-Key", tokenKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := tr.RoundTrip(req)
				if err == nil {
					if job.Settle {
						_, _ = io.Copy(io.Discard, resp.Body)
					}
					_ = resp.Body.Close()
				}
				mu.Lock()
				switch {
				case err != nil && ctx.Err() != nil: // the run is over
				case err != nil:
					rep.Errors++
					if rep.FirstErr == "" {
						rep.FirstErr = err.Error()
					}
				case resp.Header.Get(heed.SyntheticHeader) != "":
					rep.Synthetic++ // the wait would pass the run's end: this worker is done
					mu.Unlock()
					return
				default:
					rep.Status[resp.StatusCode]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if tr := tr.Snapshot(context.Background()).StoreTraffic; tr != nil {
		rep.Traffic = *tr
	}
	out, _ := json.Marshal(rep)
	fmt.Printf("\n%s%s\n", tokenReportPrefix, out)
}

// runTokenFleet runs n worker processes of job and returns their reports.
func runTokenFleet(t *testing.T, n int, job tokenJob) []tokenReport {
	t.Helper()
	reports := runWorkers[tokenReport](t, n, "TestTokenWorker", tokenWorkerEnv, job, tokenReportPrefix)
	for i, r := range reports {
		t.Logf("worker %d: %+v", i, r)
		if r.Errors > 0 {
			t.Errorf("worker %d: %d errors, the first: %s", i, r.Errors, r.FirstErr)
		}
	}
	return reports
}

// TestTokenFleet: with settling, the fleet gets no 429 and uses at least
// 90% of the binding limit (input tokens) once the buckets' first minute's
// worth is spent; without it (bodies closed unread, the charges standing
// at max_tokens), the output budget binds far earlier and the input limit
// is far from used: the value of settling, measured.
func TestTokenFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("two runs of three processes for 16s")
	}
	const run, warmup, tail = 16 * time.Second, 4 * time.Second, time.Second
	use := map[bool]mockapi.TokenUse{}
	for _, settle := range []bool{true, false} {
		srv := testenv.RedisServer(t)
		m, url := newMock(t, mockapi.Config{LLM: mockapi.LLM{Vendor: mockapi.VendorAnthropic, RequestsPerMinute: tokenRPM,
			InputTokensPerMinute: tokenITPM, OutputTokensPerMinute: tokenOTPM, OutputShare: tokenOutputShare}})
		start := time.Now()
		reports := runTokenFleet(t, 3, tokenJob{Store: "redis://" + srv.Addr() + "/0", URL: url, Goroutines: 8, For: run, Settle: settle})
		var trips, sent, settles int64
		for _, r := range reports {
			trips, settles = trips+r.Traffic.RoundTrips, settles+r.Traffic.Settles
			sent += int64(r.Status[http.StatusOK])
		}
		t.Logf("settle %v: %d round trips to Redis for %d requests (%.2f each, waits, settlements and heartbeats included); %d settlements", settle, trips, sent, float64(trips)/float64(max(sent, 1)), settles)
		u := m.TokenUse(mockapi.CredID(tokenKey), start.Add(warmup), start.Add(run-tail))
		use[settle] = u
		st := m.Stats().Total
		span := st.LastRequest.Sub(st.FirstRequest)
		t.Logf("settle %v: the mock: %d requests in %v, %d limited, %d input tokens in all (%.1f%% of the first minute's bucket and the refill); from %v to %v: requests %.1f%%, input tokens %.1f%%, output tokens %.1f%% of their limits",
			settle, st.Requests, span.Round(time.Millisecond), st.Limited, st.Tokens.Charged.InputTokens,
			100*float64(st.Tokens.Charged.InputTokens)/(tokenITPM*(1+span.Minutes())),
			warmup, run-tail, 100*u.Requests.Fraction, 100*u.InputTokens.Fraction, 100*u.OutputTokens.Fraction)
		if st.Limited != 0 {
			t.Errorf("settle %v: the mock refused %d requests (429), want 0", settle, st.Limited)
		}
	}
	if in := use[true].InputTokens.Fraction; in < 0.90 {
		t.Errorf("with settling, %.1f%% of the input token limit used, want at least 90%%", 100*in)
	}
	if on, off := use[true].InputTokens.Fraction, use[false].InputTokens.Fraction; off > 0.6*on {
		t.Errorf("without settling %.1f%% of the input limit used, with it %.1f%%: want the output budget to bind far earlier without", 100*off, 100*on)
	}
}
