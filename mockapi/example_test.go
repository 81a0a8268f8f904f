package mockapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/heedhq/heed/mockapi"
)

// Test your own client against a rate-limited API: point it at the mock,
// then ask the mock what your client did.
func Example() {
	start := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	mock, err := mockapi.New(mockapi.Config{
		Limit:   mockapi.Limit{Algorithm: mockapi.AlgorithmFixed, Requests: 2, Per: time.Minute},
		Dialect: mockapi.DialectOpenAI,
		Now:     func() time.Time { return start }, // a fixed clock makes every reset exact
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(mock)
	defer srv.Close()

	// The client under test sends three requests with its API key.
	for range 3 {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"m"}`))
		req.Header.Set("Authorization", "Bearer sk-test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Printf("%d remaining=%s reset=%s retry-after=%q\n", resp.StatusCode,
			resp.Header.Get("X-Ratelimit-Remaining-Requests"), resp.Header.Get("X-Ratelimit-Reset-Requests"),
			resp.Header.Get("Retry-After"))
	}

	st := mock.Stats()
	fmt.Printf("requests=%d accepted=%d limited=%d\n", st.Total.Requests, st.Total.Accepted, st.Total.Limited)
	// Output:
	// 200 remaining=1 reset=1m0s retry-after=""
	// 200 remaining=0 reset=1m0s retry-after=""
	// 429 remaining=0 reset=1m0s retry-after="60"
	// requests=3 accepted=2 limited=1
}

// A retry test: Force fails the next request with a 503 and Retry-After.
// The echo shows that the retry sent the same body and idempotency key, and
// Stats shows whether the retry came back before the wait was over.
func Example_retry() {
	var clock atomic.Int64 // the fake clock, in Unix nanoseconds
	clock.Store(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).UnixNano())
	mock, err := mockapi.New(mockapi.Config{Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(mock)
	defer srv.Close()

	// sleep is what the client under test calls to wait: here it moves the
	// fake clock instead.
	patient := func(d time.Duration) { clock.Add(int64(d)) }
	impatient := func(time.Duration) {}
	for _, sleep := range []func(time.Duration){patient, impatient} {
		mock.Reset()
		if err := mock.Force(mockapi.Force{Credential: "sk-test", Status: 503, RetryAfter: 2 * time.Second}); err != nil {
			panic(err)
		}
		postWithRetry(srv.URL+"/v1/jobs", "sk-test", sleep)
		fmt.Println("requests during the wait:", mock.Stats().Total.DuringWait)
	}
	// Output:
	// 503
	// 200 key=job-1 body=sha256:5215efa2ea7c
	// requests during the wait: 0
	// 503
	// 200 key=job-1 body=sha256:5215efa2ea7c
	// requests during the wait: 1
}

// postWithRetry stands for the client under test: it posts a job and, on a
// 503, waits as Retry-After says and posts it again.
func postWithRetry(url, key string, sleep func(time.Duration)) {
	for {
		req, _ := http.NewRequest("POST", url, strings.NewReader(`{"job":1}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Idempotency-Key", "job-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var echo struct {
			Key  string `json:"idempotency_key"`
			Body string `json:"body_sha256"`
		}
		json.NewDecoder(resp.Body).Decode(&echo)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			fmt.Printf("%d key=%s body=sha256:%.12s\n", resp.StatusCode, echo.Key, echo.Body)
			return
		}
		fmt.Println(resp.StatusCode)
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		sleep(time.Duration(secs) * time.Second)
	}
}

// An Anthropic-style LLM endpoint: max_tokens is charged to the output
// bucket at arrival and corrected to the real output at the end, so the
// second request sees the first's unused tokens back.
func Example_llm() {
	start := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	mock, err := mockapi.New(mockapi.Config{
		LLM: mockapi.LLM{Vendor: mockapi.VendorAnthropic, RequestsPerMinute: 50,
			InputTokensPerMinute: 20000, OutputTokensPerMinute: 4000, OutputTokens: 100},
		Now: func() time.Time { return start },
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(mock)
	defer srv.Close()

	body := `{"model":"claude-test","max_tokens":1024,"messages":[{"role":"user","content":"Hello, Claude"}]}`
	for range 2 {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/messages", strings.NewReader(body))
		req.Header.Set("X-Api-Key", "sk-ant-test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var msg struct {
			StopReason string `json:"stop_reason"`
			Usage      struct {
				InputTokens  int `json:"input_tokens"`
				OutputTokens int `json:"output_tokens"`
			} `json:"usage"`
		}
		json.NewDecoder(resp.Body).Decode(&msg)
		resp.Body.Close()
		fmt.Printf("%d %s in=%d out=%d output-tokens-remaining=%s\n", resp.StatusCode, msg.StopReason,
			msg.Usage.InputTokens, msg.Usage.OutputTokens, resp.Header.Get("Anthropic-Ratelimit-Output-Tokens-Remaining"))
	}
	tok := mock.Stats().Total.Tokens
	fmt.Printf("output tokens: %d at arrival, %d charged\n", tok.AtArrival.OutputTokens, tok.Charged.OutputTokens)
	// Output:
	// 200 end_turn in=9 out=100 output-tokens-remaining=2976
	// 200 end_turn in=9 out=100 output-tokens-remaining=2876
	// output tokens: 2048 at arrival, 200 charged
}

// A cache test: the resources under /resources/ carry an ETag and
// Last-Modified like GitHub's REST API; a revalidation that still matches
// gets 304 without a body, which under GitHub's dialect costs no quota.
func Example_cache() {
	start := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	mock, err := mockapi.New(mockapi.Config{
		Limit:   mockapi.Limit{Algorithm: mockapi.AlgorithmFixed, Requests: 10, Per: time.Hour},
		Dialect: mockapi.DialectGitHub,
		Now:     func() time.Time { return start },
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(mock)
	defer srv.Close()

	get := func(etag string) string {
		req, _ := http.NewRequest("GET", srv.URL+"/resources/repo", nil)
		req.Header.Set("Authorization", "Bearer sk-test")
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var body struct{ Version int }
		json.NewDecoder(resp.Body).Decode(&body)
		fmt.Printf("%d version=%d remaining=%s cache-control=%q\n", resp.StatusCode, body.Version,
			resp.Header.Get("X-Ratelimit-Remaining"), resp.Header.Get("Cache-Control"))
		return resp.Header.Get("Etag")
	}
	etag := get("")
	get(etag)
	get(etag)
	mock.BumpResource("repo") // or POST /_mock/resources/repo
	get(etag)

	srv.Close() // waits until the mock counted every answer
	st := mock.Stats().Resources["repo"]
	fmt.Printf("200s=%d 304s=%d version=%d\n", st.OK, st.NotModified, st.Version)
	// Output:
	// 200 version=1 remaining=9 cache-control="private, max-age=60, s-maxage=60"
	// 304 version=0 remaining=9 cache-control="private, max-age=60, s-maxage=60"
	// 304 version=0 remaining=9 cache-control="private, max-age=60, s-maxage=60"
	// 200 version=2 remaining=8 cache-control="private, max-age=60, s-maxage=60"
	// 200s=2 304s=2 version=2
}
