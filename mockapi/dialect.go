package mockapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// dialect is how one family of APIs describes a quota and refuses a
// request. Its functions only format: the decision holds the numbers.
type dialect struct {
	// describe sets the quota headers of a response the limiter decided
	// on, accepted or refused; nil for dialects that send none.
	describe func(h http.Header, d decision, now time.Time)
	// refuse writes the whole limited response and returns its status.
	refuse func(w http.ResponseWriter, d decision) int
	// tellsWait reports whether a refusal states how long to wait.
	tellsWait bool
}

// dialectNamed returns the dialect called name.
func dialectNamed(name string) (dialect, bool) {
	switch name {
	case DialectIETF:
		return dialect{describeIETF, refuseIETF, true}, true
	case DialectGitHub:
		return dialect{describeGitHub, refuseGitHub, true}, true
	case DialectOpenAI:
		return dialect{describeOpenAI, refuseOpenAI, true}, true
	case DialectAnthropic:
		return dialect{describeAnthropic, refuseAnthropic, true}, true
	case DialectRetryAfter:
		return dialect{nil, refuseRetryAfter, true}, true
	case DialectNone:
		return dialect{nil, refuseBare, false}, true
	}
	return dialect{}, false
}

// describeGitHub sets GitHub's x-ratelimit-* headers; the reset is in epoch
// seconds, rounded up.
func describeGitHub(h http.Header, d decision, _ time.Time) {
	h.Set("X-Ratelimit-Limit", strconv.Itoa(d.limit))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(d.remaining))
	h.Set("X-Ratelimit-Used", strconv.Itoa(d.limit-d.remaining))
	if !d.reset.IsZero() {
		h.Set("X-Ratelimit-Reset", strconv.FormatInt(ceilToSecond(d.reset).Unix(), 10))
	}
	h.Set("X-Ratelimit-Resource", "core")
}

// refuseGitHub answers as GitHub's primary rate limit does: 403 with
// x-ratelimit-remaining 0 (set by describeGitHub). A concurrency refusal,
// which has no reset, adds Retry-After as GitHub's secondary limits do.
func refuseGitHub(w http.ResponseWriter, d decision) int {
	if d.reset.IsZero() {
		setRetryAfter(w.Header(), d.wait)
	}
	writeJSON(w, http.StatusForbidden, map[string]string{
		"message":           "API rate limit exceeded for this credential. (heed mockapi)",
		"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
	})
	return http.StatusForbidden
}

// describeOpenAI sets x-ratelimit-{limit,remaining,reset}-requests; the
// reset is a Go duration ("1s", "6m0s", "250ms"), rounded up to the
// millisecond.
func describeOpenAI(h http.Header, d decision, now time.Time) {
	h.Set("X-Ratelimit-Limit-Requests", strconv.Itoa(d.limit))
	h.Set("X-Ratelimit-Remaining-Requests", strconv.Itoa(d.remaining))
	if !d.reset.IsZero() {
		h.Set("X-Ratelimit-Reset-Requests", ceilDuration(d.reset.Sub(now), time.Millisecond).String())
	}
}

// refuseOpenAI answers 429 with retry-after and OpenAI's error body.
func refuseOpenAI(w http.ResponseWriter, d decision) int {
	setRetryAfter(w.Header(), d.wait)
	msg := fmt.Sprintf("Rate limit reached for %s: Limit %d, Used %d, Requested 1. Please try again in %s.",
		quotaName(d), d.limit, d.limit, ceilDuration(d.wait, time.Millisecond))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
		"message": msg, "type": "requests", "param": nil, "code": "rate_limit_exceeded",
	}})
	return http.StatusTooManyRequests
}

// describeAnthropic sets anthropic-ratelimit-requests-*; the reset is an
// RFC 3339 time in UTC, rounded up to the second.
func describeAnthropic(h http.Header, d decision, _ time.Time) {
	h.Set("Anthropic-Ratelimit-Requests-Limit", strconv.Itoa(d.limit))
	h.Set("Anthropic-Ratelimit-Requests-Remaining", strconv.Itoa(d.remaining))
	if !d.reset.IsZero() {
		h.Set("Anthropic-Ratelimit-Requests-Reset", ceilToSecond(d.reset).UTC().Format(time.RFC3339))
	}
}

// refuseAnthropic answers 429 with retry-after and Anthropic's error body.
func refuseAnthropic(w http.ResponseWriter, d decision) int {
	setRetryAfter(w.Header(), d.wait)
	msg := fmt.Sprintf("This request would exceed the rate limit for this credential of %d %s. Please try again later.",
		d.limit, quotaName(d))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"type":  "error",
		"error": map[string]string{"type": "rate_limit_error", "message": msg},
	})
	return http.StatusTooManyRequests
}

// describeIETF sets the IETF draft's RateLimit-Policy (q=, w= in seconds)
// and RateLimit (r=, t= in seconds to the reset, rounded up) for one policy
// named "default".
func describeIETF(h http.Header, d decision, now time.Time) {
	policy := fmt.Sprintf(`"default";q=%d`, d.limit)
	if d.window > 0 {
		policy += fmt.Sprintf(";w=%d", ceilSeconds(d.window))
	}
	state := fmt.Sprintf(`"default";r=%d`, d.remaining)
	if !d.reset.IsZero() {
		state += fmt.Sprintf(";t=%d", ceilSeconds(d.reset.Sub(now)))
	}
	h.Set("Ratelimit-Policy", policy)
	h.Set("Ratelimit", state)
}

// refuseIETF answers 429 with Retry-After and an RFC 9457 problem body.
func refuseIETF(w http.ResponseWriter, d decision) int {
	setRetryAfter(w.Header(), d.wait)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusTooManyRequests)
	json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": "Too Many Requests", "status": http.StatusTooManyRequests,
		"detail": fmt.Sprintf("the limit of %d %s is used up", d.limit, quotaName(d)),
	})
	return http.StatusTooManyRequests
}

// refuseRetryAfter answers 429 with Retry-After and nothing else of note.
func refuseRetryAfter(w http.ResponseWriter, d decision) int {
	setRetryAfter(w.Header(), d.wait)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprintln(w, "Too Many Requests")
	return http.StatusTooManyRequests
}

// refuseBare answers a bare 429: no headers, no body.
func refuseBare(w http.ResponseWriter, _ decision) int {
	w.WriteHeader(http.StatusTooManyRequests)
	return http.StatusTooManyRequests
}

// quotaName names the quota of d for error messages, e.g. "requests per
// 1m0s" or "concurrent requests".
func quotaName(d decision) string {
	if d.window == 0 {
		return "concurrent requests"
	}
	return "requests per " + d.window.String()
}

// setRetryAfter sets Retry-After to wait in whole seconds, rounded up.
func setRetryAfter(h http.Header, wait time.Duration) {
	h.Set("Retry-After", strconv.FormatInt(ceilSeconds(wait), 10))
}

// ceilSeconds returns d in whole seconds, rounded up; 0 for d <= 0.
func ceilSeconds(d time.Duration) int64 {
	return int64(ceilDuration(d, time.Second) / time.Second)
}

// ceilDuration rounds d up to a multiple of unit; 0 for d <= 0.
func ceilDuration(d, unit time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(ceilDiv(int64(d), int64(unit))) * unit
}

// ceilToSecond rounds t up to a whole second.
func ceilToSecond(t time.Time) time.Time {
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}

// writeJSON answers status with v as a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
