package heed

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The errors a Refusal matches with errors.Is, one per kind.
var (
	// ErrCooldown: heed did not send the request because the API had asked
	// every client of its credential to wait (a synthetic cooldown answer).
	ErrCooldown = errors.New("heed: the API asked every client of this credential to wait")
	// ErrLimit: heed did not send the request because a configured limit
	// or a learned pace had no room within max_wait or the deadline.
	ErrLimit = errors.New("heed: no room under the rate limit in time")
	// ErrCircuitOpen: heed did not send the request because the upstream's
	// circuit breaker is open.
	ErrCircuitOpen = errors.New("heed: the upstream is failing and its circuit is open")
	// ErrLimited: the API itself refused the request for a rate limit (a
	// 429, GitHub's 403 with no quota left, a throttling body), and heed
	// returned its answer.
	ErrLimited = errors.New("heed: the API refused the request for a rate limit")
)

// RefusalLimited is the Kind of a Refusal the API sent itself.
const RefusalLimited = "limited"

// Refusal is a request refused for a limit: by heed, which answered in the
// API's place (a synthetic response), or by the API. RefusalOf reads it
// back from a response; it is also an error, matching ErrCooldown,
// ErrLimit, ErrCircuitOpen or ErrLimited with errors.Is.
type Refusal struct {
	// Kind is SyntheticCooldown, SyntheticLimit or SyntheticCircuitOpen
	// when heed answered, RefusalLimited when the API did.
	Kind string
	// Upstream names the upstream; Scope is the scope's short fingerprint
	// (scope.Key.Short, never the credential), or "" when unknown.
	Upstream, Scope string
	// Status is the response's status code.
	Status int
	// Wait is how long, from At, until a request of the scope may be sent
	// again: exact, not rounded as Retry-After is. 0 when nothing says.
	Wait time.Duration
	// At is when the refusal was made.
	At time.Time
}

// Until is when a request of the scope may be sent again.
func (r *Refusal) Until() time.Time { return r.At.Add(r.Wait) }

// Sent reports whether the request reached the API (Kind RefusalLimited).
func (r *Refusal) Sent() bool { return r.Kind == RefusalLimited }

// Error describes the refusal, without any credential.
func (r *Refusal) Error() string {
	return fmt.Sprintf("%s (upstream %q, scope %s, status %d, retry in %v)", r.sentinel(), r.Upstream, r.Scope, r.Status, r.Wait)
}

// Is reports whether target is the sentinel error of r's kind.
func (r *Refusal) Is(target error) bool { return target == r.sentinel() }

// sentinel is the error of r's kind.
func (r *Refusal) sentinel() error {
	switch r.Kind {
	case SyntheticCooldown:
		return ErrCooldown
	case SyntheticLimit:
		return ErrLimit
	case SyntheticCircuitOpen:
		return ErrCircuitOpen
	}
	return ErrLimited
}

// RefusalOf reports whether resp is a refusal for a limit, and which: one
// of heed's synthetic answers, or the API's own rate-limit refusal as a
// Transport read it (then with the wait of the cooldown it recorded). A
// response that passed through heed serve or another process, or whose
// body a client replaced (the OpenAI and Anthropic SDKs keep a copy), has
// only its headers left: RefusalOf then reads heed's synthetic answers
// from Heed-Synthetic, Retry-After-Ms, Heed-Upstream and Heed-Scope, with
// At the time of the call, and reports false for the API's own refusals.
func RefusalOf(resp *http.Response) (*Refusal, bool) {
	if resp == nil {
		return nil, false
	}
	if b, ok := resp.Body.(*body); ok && b.refusal != nil {
		r := *b.refusal
		return &r, true
	}
	kind := resp.Header.Get(SyntheticHeader)
	if _, ok := refusalKinds[kind]; !ok {
		return nil, false
	}
	return &Refusal{Kind: kind, Upstream: resp.Header.Get(UpstreamHeader), Scope: resp.Header.Get(ScopeHeader),
		Status: resp.StatusCode, Wait: waitOfHeaders(resp.Header), At: time.Now()}, true
}

// waitOfHeaders reads a synthetic answer's wait: Retry-After-Ms, else
// Retry-After's seconds.
func waitOfHeaders(h http.Header) time.Duration {
	if ms, err := strconv.ParseInt(h.Get(RetryAfterMsHeader), 10, 64); err == nil && ms >= 0 {
		return time.Duration(min(ms, int64(maxWait/time.Millisecond))) * time.Millisecond
	}
	if s, err := strconv.ParseInt(h.Get("Retry-After"), 10, 64); err == nil && s >= 0 {
		return time.Duration(min(s, int64(maxWait/time.Second))) * time.Second
	}
	return 0
}

// maxWait bounds a wait read from headers, against overflow.
const maxWait = 100 * 365 * 24 * time.Hour

// markRefused attaches r to resp for RefusalOf.
func markRefused(resp *http.Response, r *Refusal) { bodyOf(resp).refusal = r }

// upstreamRefusal is the Refusal of a response the API refused for a rate
// limit, with status, when the scope may try again wait from now.
func (c *call) upstreamRefusal(status int, wait time.Duration, now time.Time) *Refusal {
	return &Refusal{Kind: RefusalLimited, Upstream: c.u.cfg.Name, Scope: c.sc.short, Status: status, Wait: max(wait, 0), At: now}
}

// refusalKind is the kind of a Refusal, in the pipeline.
type refusalKind uint8

const (
	refusalCooldown refusalKind = iota
	refusalLimit
	refusalCircuitOpen
)

// refusalKinds maps the Kind words to their kinds.
var refusalKinds = map[string]refusalKind{
	SyntheticCooldown: refusalCooldown, SyntheticLimit: refusalLimit, SyntheticCircuitOpen: refusalCircuitOpen,
}

// word is the kind's Kind word.
func (k refusalKind) word() string {
	switch k {
	case refusalCooldown:
		return SyntheticCooldown
	case refusalLimit:
		return SyntheticLimit
	}
	return SyntheticCircuitOpen
}

// outcome is the kind's Outcome word.
func (k refusalKind) outcome() string {
	switch k {
	case refusalCooldown:
		return OutcomeSyntheticCooldown
	case refusalLimit:
		return OutcomeSyntheticLimit
	}
	return OutcomeSyntheticCircuitOpen
}

// message is what a synthetic answer of the kind says.
func (k refusalKind) message() string {
	switch k {
	case refusalCooldown:
		return "heed: the API asked every client of this credential to wait; request not sent"
	case refusalLimit:
		return "heed: no room under the rate limit within max_wait or the request's deadline; request not sent"
	}
	return "heed: the upstream is failing and its circuit is open; request not sent"
}

// openAICode is the error code an OpenAI-shaped answer of the kind has:
// the API's own for a rate limit, so that code branching on it works.
func (k refusalKind) openAICode() string {
	if k == refusalCircuitOpen {
		return "heed_circuit_open"
	}
	return "rate_limit_exceeded"
}

// anthropicType is the error type an Anthropic-shaped answer of the kind
// has, as the API names its own.
func (k refusalKind) anthropicType() string {
	if k == refusalCircuitOpen {
		return "api_error"
	}
	return "rate_limit_error"
}
