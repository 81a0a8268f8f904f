package quota_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/heedhq/heed/quota"
)

// A GitHub response that spent the last request of the hour: Parse reports
// the quota and how long until the next request can succeed.
func ExampleParse() {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Used", "5000")
	h.Set("X-RateLimit-Reset", fmt.Sprint(now.Add(42*time.Second).Unix()))
	h.Set("X-RateLimit-Resource", "core")

	s := quota.Parse(quota.Response{Status: 403, Header: h, Host: "api.github.com"}, now)
	fmt.Println(s.Vendor, s.Limited, s.Cause, s.Wait, s.WaitSource)
	for _, q := range s.Quotas {
		fmt.Printf("%s: %v of %v left, resets in %v\n", q.Name, q.Remaining, q.Limit, q.Reset.Sub(now))
	}
	// Output:
	// github true rate_limit 42s x-ratelimit-reset
	// core: 0 of 5000 left, resets in 42s
}

// OpenAI reports one quota for requests and one for tokens, with resets as
// duration strings. Running out of either means waiting, even on a 200.
func ExampleParse_openAI() {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("x-ratelimit-limit-requests", "500")
	h.Set("x-ratelimit-remaining-requests", "499")
	h.Set("x-ratelimit-reset-requests", "120ms")
	h.Set("x-ratelimit-limit-tokens", "30000")
	h.Set("x-ratelimit-remaining-tokens", "0")
	h.Set("x-ratelimit-reset-tokens", "1m30.5s")

	s := quota.Parse(quota.Response{Status: 200, Header: h}, now)
	fmt.Println(s.Vendor, s.Limited, s.Wait, s.WaitSource)
	// Output: openai false 1m30.5s x-ratelimit-reset-tokens
}

// Not every 429 is cured by waiting: a billing quota is not.
func ExampleSignal_WaitHelps() {
	body := []byte(`{"error":{"message":"You exceeded your current quota.","type":"insufficient_quota","code":"insufficient_quota"}}`)
	s := quota.Parse(quota.Response{Status: 429, Body: body}, time.Now())
	fmt.Println(s.Limited, s.Cause, s.WaitHelps())
	// Output: true quota_exhausted false
}

// Malformed values of known headers become warnings; the rest is still read.
func ExampleWarning() {
	h := http.Header{}
	h.Set("Retry-After", "soon")
	h.Set("Retry-After-Ms", "1500")
	s := quota.Parse(quota.Response{Status: 429, Header: h}, time.Now())
	fmt.Println(s.Wait, s.WaitSource)
	for _, w := range s.Warnings {
		fmt.Println(w)
	}
	// Output:
	// 1.5s retry-after-ms
	// retry-after: not delta-seconds or an HTTP-date ("soon")
}
