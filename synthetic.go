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

// synthetic describes a response heed makes up.
type synthetic struct {
	kind     string
	status   int
	wait     time.Duration
	upstream string
	replay   http.Header // rate-limit headers of the response replayed, or nil
}

// response builds the synthetic response to req.
func (s synthetic) response(req *http.Request) *http.Response {
	h := s.replay.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(SyntheticHeader, s.kind)
	h.Set("Content-Type", "application/json")
	if s.wait > 0 {
		h.Set("Retry-After", strconv.FormatInt(ceilSeconds(s.wait), 10))
	}
	body := s.body()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status:        strconv.Itoa(s.status) + " " + http.StatusText(s.status),
		StatusCode:    s.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// syntheticBody is the JSON body of a synthetic response.
type syntheticBody struct {
	Error             string  `json:"error"`
	Message           string  `json:"message"`
	Upstream          string  `json:"upstream"`
	RetryAfterSeconds float64 `json:"retry_after_seconds"`
}

func (s synthetic) body() []byte {
	b, _ := json.Marshal(syntheticBody{
		Error:             s.kind,
		Message:           syntheticMessages[s.kind],
		Upstream:          s.upstream,
		RetryAfterSeconds: math.Round(s.wait.Seconds()*1000) / 1000,
	})
	return append(b, '\n')
}

var syntheticMessages = map[string]string{
	SyntheticCooldown:    "heed: the API asked every client of this credential to wait; request not sent",
	SyntheticLimit:       "heed: no room under the rate limit within max_wait or the request's deadline; request not sent",
	SyntheticCircuitOpen: "heed: the upstream is failing and its circuit is open; request not sent",
}

// ceilSeconds rounds a wait up to whole seconds, as Retry-After carries it.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
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
