package heed

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/store"
)

// SyntheticHeader is the header heed sets on every response it makes up
// instead of sending the request. Its value is one of the Synthetic kinds.
const SyntheticHeader = "Heed-Synthetic"

// The kinds of synthetic response, as SyntheticHeader carries them.
const (
	// SyntheticCooldown: the scope is cooling down after the API said to
	// wait; the response replays the one that said so: status 429 (whatever
	// the original, e.g. GitHub's 403), Retry-After set to the seconds left,
	// the API's rate-limit headers.
	SyntheticCooldown = "cooldown"
	// SyntheticLimit: a configured limit or a learned pace has no room, and
	// waiting would pass max_wait or the request's deadline (status 429).
	SyntheticLimit = "limit"
	// SyntheticCircuitOpen: the upstream's circuit breaker is open (status
	// 503).
	SyntheticCircuitOpen = "circuit-open"
)

// The headers of a synthetic response besides the replayed ones.
const (
	// RetryAfterMsHeader says the wait in milliseconds, exactly: the
	// OpenAI and Anthropic SDKs read it before Retry-After, whose whole
	// seconds heed rounds up.
	RetryAfterMsHeader = "Retry-After-Ms"
	// ScopeHeader names the scope refused (its short fingerprint, never
	// the credential), and UpstreamHeader the upstream.
	ScopeHeader    = "Heed-Scope"
	UpstreamHeader = "Heed-Upstream"
)

// synthetic describes a response heed makes up.
type synthetic struct {
	refusal Refusal
	kind    refusalKind
	vendor  string
	// cooldown is the cooldown replayed, or nil.
	cooldown *store.Cooldown
}

// synthetic makes heed's own answer of kind with status, for a wait of
// wait from now, replaying cd when it is a cooldown.
func (c *call) synthetic(kind refusalKind, status int, wait time.Duration, cd *store.Cooldown) *synthetic {
	return &synthetic{kind: kind, vendor: c.u.answersVendor(), cooldown: cd, refusal: Refusal{
		Kind: kind.word(), Upstream: c.u.cfg.Name, Scope: c.sc.short, Status: status, Wait: max(wait, 0), At: c.u.t.clock.Now(),
	}}
}

// answer builds the synthetic response to the call's request.
func (c *call) answer(s *synthetic) *http.Response { return s.response(c.req) }

// response builds the synthetic response to req.
func (s *synthetic) response(req *http.Request) *http.Response {
	h := http.Header{}
	if s.cooldown != nil {
		h = replayed(s.cooldown.Header, s.refusal.At.Sub(s.cooldown.At), s.cooldown.At.IsZero())
	}
	r := &s.refusal
	h.Set(SyntheticHeader, r.Kind)
	h.Set(UpstreamHeader, r.Upstream)
	h.Set(ScopeHeader, r.Scope)
	h.Set("Content-Type", "application/json")
	if r.Wait > 0 {
		h.Set("Retry-After", strconv.FormatInt(ceilSeconds(r.Wait), 10))
		h.Set(RetryAfterMsHeader, strconv.FormatInt(ceilMillis(r.Wait), 10))
	}
	b := s.body()
	h.Set("Content-Length", strconv.Itoa(len(b)))
	refusal := *r
	return &http.Response{
		Status:        strconv.Itoa(r.Status) + " " + http.StatusText(r.Status),
		StatusCode:    r.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          &body{ReadCloser: io.NopCloser(bytes.NewReader(b)), refusal: &refusal},
		ContentLength: int64(len(b)),
		Request:       req,
	}
}

// ceilSeconds rounds a wait up to whole seconds, as Retry-After carries it:
// a caller that honours it never comes back early, and at most a second
// late (Retry-After-Ms has the exact wait).
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// ceilMillis rounds a wait up to whole milliseconds.
func ceilMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// The bodies of synthetic responses. Each vendor's SDK parses its own
// error shape (the OpenAI SDKs read error.message, error.type and
// error.code into their API error type; Anthropic's read error.type and
// error.message; go-github and Octokit read message and
// documentation_url); heed's own fields go alongside, under "heed" where
// the vendor's shape has "error" as an object, else at the top level.

// heedFields are heed's own fields of a synthetic body.
type heedFields struct {
	Kind              string  `json:"kind,omitempty"`
	Error             string  `json:"error,omitempty"`
	Message           string  `json:"message,omitempty"`
	Upstream          string  `json:"upstream"`
	Scope             string  `json:"scope"`
	RetryAfterSeconds float64 `json:"retry_after_seconds"`
}

// genericBody is the body for an API heed knows no error shape of:
// heed's fields at the top level.
type genericBody struct {
	heedFields
	DocumentationURL string `json:"documentation_url,omitempty"`
	Status           string `json:"status,omitempty"`
}

type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

type openAIBody struct {
	Error openAIError `json:"error"`
	Heed  heedFields  `json:"heed"`
}

type anthropicError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type anthropicBody struct {
	Type  string         `json:"type"`
	Error anthropicError `json:"error"`
	Heed  heedFields     `json:"heed"`
}

// GitHub's documentation of its rate limits, which go-github and Octokit
// read to tell a secondary rate limit from others.
const (
	githubRateLimitDocs = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
	githubSecondaryDocs = githubRateLimitDocs + "#about-secondary-rate-limits"
)

// body returns the JSON body, in the vendor's error shape.
func (s *synthetic) body() []byte {
	r := &s.refusal
	msg := s.kind.message()
	own := heedFields{Kind: r.Kind, Upstream: r.Upstream, Scope: r.Scope, RetryAfterSeconds: math.Round(r.Wait.Seconds()*1000) / 1000}
	var v any
	switch s.vendor {
	case quota.VendorOpenAI, quota.VendorMicrosoft:
		v = openAIBody{Error: openAIError{Message: msg, Type: "heed_" + strings.ReplaceAll(r.Kind, "-", "_"), Code: s.kind.openAICode()}, Heed: own}
	case quota.VendorAnthropic:
		v = anthropicBody{Type: "error", Error: anthropicError{Type: s.kind.anthropicType(), Message: msg}, Heed: own}
	default:
		own.Error, own.Message, own.Kind = r.Kind, msg, ""
		g := genericBody{heedFields: own}
		if s.vendor == quota.VendorGitHub {
			g.DocumentationURL, g.Status = s.githubDocs(), strconv.Itoa(r.Status)
		}
		v = g
	}
	b, _ := json.Marshal(v)
	return append(b, '\n')
}

// githubDocs is the documentation_url of a GitHub-shaped body: the
// secondary limits' unless the replayed headers say the primary quota is
// spent, so that go-github and Octokit tell them apart as GitHub's own
// answers let them.
func (s *synthetic) githubDocs() string {
	if s.cooldown != nil && s.cooldown.Header.Get("X-Ratelimit-Remaining") == "0" {
		return githubRateLimitDocs
	}
	return githubSecondaryDocs
}

// replayed returns the replayed headers of a cooldown as they stand
// elapsed after they were received: a header that counts time from its
// response ("6m0s" until a reset, a wait in seconds or milliseconds) says
// the time left now. Retry-After and Retry-After-Ms are set by the caller.
// With unknown set, when the cooldown does not say when it was received,
// such headers are dropped rather than replayed stale.
func replayed(orig http.Header, elapsed time.Duration, unknown bool) http.Header {
	h := make(http.Header, len(orig)+6)
	for k, vs := range orig {
		rel, ok := relativeHeaders[http.CanonicalHeaderKey(k)]
		switch {
		case !ok:
			h[k] = append([]string(nil), vs...)
		case rel != nil && !unknown && len(vs) > 0:
			if v, ok := rel(vs[0], max(elapsed, 0)); ok {
				h.Set(k, v)
			}
		}
	}
	return h
}

// relativeHeaders are the replayed headers whose values count time from
// their response, with how to restate each a time later; a nil function
// means one heed sets itself.
var relativeHeaders = map[string]func(v string, elapsed time.Duration) (string, bool){
	"Retry-After":                 nil,
	"Retry-After-Ms":              nil,
	"X-Ms-Retry-After-Ms":         lessMillis,
	"X-Ratelimit-Reset-Requests":  lessDuration,
	"X-Ratelimit-Reset-Tokens":    lessDuration,
	"X-Rate-Limit-Reset-Tokens":   lessSeconds,
	"X-Rate-Limit-Reset-Requests": lessSeconds,
	"Ratelimit-Reset":             lessSeconds,
	"X-Ratelimit-Reset-After":     lessSeconds,
	"X-Ratelimit-Reset":           lessSecondsUnlessEpoch,
}

// lessDuration restates a Go-style duration ("6m0s", "1.5s", "20ms", as
// OpenAI sends) elapsed later.
func lessDuration(v string, elapsed time.Duration) (string, bool) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return "", false
	}
	return max(d-elapsed, 0).Round(time.Millisecond).String(), true
}

// lessSeconds restates a number of seconds elapsed later, keeping whole
// seconds whole (rounded up).
func lessSeconds(v string, elapsed time.Duration) (string, bool) {
	v = strings.TrimSpace(v)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	left := max(f-elapsed.Seconds(), 0)
	if !strings.ContainsAny(v, ".eE") {
		return strconv.FormatFloat(math.Ceil(left), 'f', 0, 64), true
	}
	return strconv.FormatFloat(left, 'f', 3, 64), true
}

// lessMillis restates a number of milliseconds elapsed later.
func lessMillis(v string, elapsed time.Duration) (string, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	return strconv.FormatFloat(math.Ceil(max(f-float64(elapsed.Milliseconds()), 0)), 'f', 0, 64), true
}

// epochSeconds is where X-RateLimit-Reset values stop being a number of
// seconds and start being a Unix time (as quota reads them).
const epochSeconds = 1e9

// lessSecondsUnlessEpoch restates X-RateLimit-Reset when it is a number of
// seconds; a Unix time (GitHub's) stays as it is.
func lessSecondsUnlessEpoch(v string, elapsed time.Duration) (string, bool) {
	if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= epochSeconds {
		return v, true
	}
	return lessSeconds(v, elapsed)
}

// replayHeader keeps the rate-limit headers of a response, the only ones a
// cooldown replays: never a cookie, a credential or a body header.
func replayHeader(h http.Header) http.Header {
	out := http.Header{}
	for k, vs := range h {
		if isRateLimitHeader(k) {
			out[k] = append([]string(nil), vs...)
		}
	}
	return out
}

// rateLimitPrefixes are the lower-case prefixes of the headers that describe
// a quota, as package quota reads them.
var rateLimitPrefixes = []string{
	"retry-after", "x-ratelimit", "x-rate-limit", "ratelimit", "anthropic-ratelimit",
	"x-app-limit", "x-user-limit", "x-shopify-shop-api-call-limit", "sforce-limit-info",
	"x-hubspot-ratelimit", "x-ms-ratelimit", "x-ms-retry-after",
}

func isRateLimitHeader(k string) bool {
	k = strings.ToLower(k)
	for _, p := range rateLimitPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}
