package quota

import (
	"fmt"
	"net/http"
	"time"
)

// Response is what Parse reads: the parts of an HTTP response that can carry
// rate-limit signals. The zero value is a response that says nothing.
type Response struct {
	// Status is the HTTP status code, e.g. 429.
	Status int
	// Header holds the response headers. Keys may be in any case.
	Header http.Header
	// Body holds the first bytes of the body, or nil. Parse reads at most
	// MaxBody bytes of it; callers need not pass more.
	Body []byte
	// Host names the API that answered ("api.github.com"), or is empty.
	// When set, it decides the vendor before the headers' shape does.
	Host string
	// Vendor, when set, is the vendor that answered (one of the Vendor
	// constants, as VendorOf returns them), and Host is not looked at:
	// callers that parse many responses of one API look it up once.
	Vendor string
}

// MaxBody is how many bytes of a body Parse looks at.
const MaxBody = 64 << 10

// Cause says why a response refused the request, and so whether waiting can
// help.
type Cause int

const (
	// CauseNone: nothing in the response says the request was refused for a
	// limit.
	CauseNone Cause = iota
	// CauseRateLimit: a rate limit refused the request; waiting (Signal.Wait,
	// or a caller's default when Wait is 0) lets a later request succeed.
	CauseRateLimit
	// CauseQuotaExhausted: a hard or billing quota is used up (OpenAI's
	// insufficient_quota, for example). Waiting a few seconds does not help;
	// a person has to act, or a long period has to end.
	CauseQuotaExhausted
	// CauseOverloaded: the server is overloaded (Anthropic's 529
	// overloaded_error). It is not the caller's quota: retry with backoff, but
	// do not hold back everyone who shares the credential.
	CauseOverloaded
)

var causeNames = [...]string{"none", "rate_limit", "quota_exhausted", "overloaded"}

// String returns the cause as a snake_case word: "none", "rate_limit",
// "quota_exhausted" or "overloaded".
func (c Cause) String() string {
	if c < 0 || int(c) >= len(causeNames) {
		return fmt.Sprintf("cause(%d)", int(c))
	}
	return causeNames[c]
}

// Signal is everything one response said about the caller's quota.
type Signal struct {
	// Status is the response's status code.
	Status int
	// Vendor is the API recognized by host or by the headers' shape, e.g.
	// "github", or "" when none was recognized.
	Vendor string
	// Limited reports that this response refused the request because of a
	// limit: a 429, a 503 with Retry-After, a GitHub-style 403 with no
	// remaining quota, a throttling error in a 200 GraphQL body, and so on.
	Limited bool
	// Cause says why the request was refused and whether waiting helps. It is
	// CauseNone exactly when neither Limited nor an overload was seen.
	Cause Cause
	// Wait is how long until a next request can succeed according to this
	// response: a Retry-After-like field, or the reset of an exhausted quota
	// (even on a 200 that spent the last unit). It is 0 when nothing says to
	// wait, never negative; it is not capped (capping is the caller's).
	Wait time.Duration
	// WaitSource names the header (lower case) or body field that set Wait,
	// e.g. "retry-after" or "body:retryDelay"; "" when Wait is 0.
	WaitSource string
	// Quotas lists every quota the response described, in header order of
	// recognition (stable for a given response).
	Quotas []Quota
	// Warnings lists malformed or ambiguous values of known fields. Unknown
	// headers are ignored silently.
	Warnings []Warning
}

// WaitHelps reports whether waiting Wait (or a default when Wait is 0) can
// make a next request succeed: the response was refused by a rate limit.
func (s Signal) WaitHelps() bool { return s.Cause == CauseRateLimit }

// Quota is one quota a response described. Counts are float64 because some
// APIs report fractions (Reddit, Shopify); unknown fields have their Has
// flag false or their zero value, as documented per field.
type Quota struct {
	// Name is the quota's name as the API gave it (GitHub's resource
	// "core", an IETF policy name, a Discord bucket), else what it counts:
	// "requests", "tokens", "input-tokens", "output-tokens", ...
	Name string
	// Unit is what the quota counts: "requests", "tokens", "cost", ..., or
	// "" when the API does not say.
	Unit string
	// Limit is the quota's size per window, valid when HasLimit.
	Limit    float64
	HasLimit bool
	// Remaining is what is left in the current window, valid when
	// HasRemaining. It may be 0 (exhausted); it is never negative.
	Remaining    float64
	HasRemaining bool
	// Reset is when the quota next refills (fully, or by enough for a
	// request); the zero Time when unknown.
	Reset time.Time
	// Window is the length of the quota's window; 0 when unknown.
	Window time.Duration
	// Refill is the rate, in units per second, at which a leaky-bucket
	// quota (Shopify) restores; 0 when unknown.
	Refill float64
	// Source is the header (lower case) or body field the quota came from.
	Source string
}

// Exhausted reports whether the quota is known to have nothing left.
func (q Quota) Exhausted() bool { return q.HasRemaining && q.Remaining <= 0 }

// Warning is a known field whose value was malformed or ambiguous.
type Warning struct {
	// Field is the header (lower case) or body field, e.g. "retry-after".
	Field string
	// Value is the offending value, shortened to at most 64 bytes.
	Value string
	// Problem says what is wrong, e.g. "not a number or HTTP-date".
	Problem string
}

// String formats the warning for a log line.
func (w Warning) String() string {
	return fmt.Sprintf("%s: %s (%q)", w.Field, w.Problem, w.Value)
}
