package quota

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// benchResponses are typical responses as net/http hands them over, with the
// headers that come along with the rate-limit ones.
func benchResponses() map[string]Response {
	common := func() http.Header {
		return http.Header{
			"Date":                      {"Sun, 22 Nov 2026 12:00:00 GMT"},
			"Content-Type":              {"application/json; charset=utf-8"},
			"Server":                    {"cloudflare"},
			"Cache-Control":             {"no-cache"},
			"Vary":                      {"Accept-Encoding"},
			"Strict-Transport-Security": {"max-age=31536000"},
			"X-Content-Type-Options":    {"nosniff"},
			"Cf-Ray":                    {"8e1f2a3b4c5d6e7f-AMS"},
		}
	}
	gh := common()
	gh["X-Github-Request-Id"] = []string{"CE0A:1C2B:3D4E5F:6A7B8C:6740A1B2"}
	gh["X-Ratelimit-Limit"] = []string{"5000"}
	gh["X-Ratelimit-Remaining"] = []string{"4987"}
	gh["X-Ratelimit-Used"] = []string{"13"}
	gh["X-Ratelimit-Reset"] = []string{"1795350000"}
	gh["X-Ratelimit-Resource"] = []string{"core"}
	gh["Etag"] = []string{`W/"5f3c1f0d0d2b"`}

	oa := common()
	oa["Openai-Organization"] = []string{"org-abc"}
	oa["Openai-Processing-Ms"] = []string{"12"}
	oa["X-Ratelimit-Limit-Requests"] = []string{"500"}
	oa["X-Ratelimit-Remaining-Requests"] = []string{"0"}
	oa["X-Ratelimit-Reset-Requests"] = []string{"120ms"}
	oa["X-Ratelimit-Limit-Tokens"] = []string{"30000"}
	oa["X-Ratelimit-Remaining-Tokens"] = []string{"29120"}
	oa["X-Ratelimit-Reset-Tokens"] = []string{"1.76s"}
	oa["Retry-After"] = []string{"1"}
	body := []byte(`{
    "error": {
        "message": "Rate limit reached for gpt-4o in organization org-abc on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.",
        "type": "requests",
        "param": null,
        "code": "rate_limit_exceeded"
    }
}`)
	return map[string]Response{
		"429": {Status: 429, Header: oa, Body: body},
		"200": {Status: 200, Header: gh},
	}
}

// BenchmarkParse measures a typical 429 (OpenAI, headers and JSON error body)
// and a typical 200 (GitHub REST).
func BenchmarkParse(b *testing.B) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	rs := benchResponses()
	for _, name := range []string{"429", "200"} {
		r := rs[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s := Parse(r, now)
				if name == "429" && !s.Limited {
					b.Fatal("not limited")
				}
			}
		})
	}
}

// BenchmarkBaselineNaive is the baseline Parse is compared with in the same
// run: what hand-written client code typically does, reading Retry-After
// and the x-ratelimit-* triple with Header.Get and strconv, and nothing else.
func BenchmarkBaselineNaive(b *testing.B) {
	rs := benchResponses()
	for _, name := range []string{"429", "200"} {
		h := rs[name].Header
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var sink int64
			for b.Loop() {
				ra, _ := strconv.ParseInt(h.Get("Retry-After"), 10, 64)
				rem, _ := strconv.ParseInt(h.Get("X-Ratelimit-Remaining"), 10, 64)
				reset, _ := strconv.ParseInt(h.Get("X-Ratelimit-Reset"), 10, 64)
				sink += ra + rem + reset
			}
			if sink < 0 {
				b.Fatal("impossible")
			}
		})
	}
}
