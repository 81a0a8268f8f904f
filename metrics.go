package heed

import (
	"net/http"
	"strconv"
	"time"

	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/store"
)

// Metrics receives what a Transport does, for counting and timing
// (package metrics/prom implements it with Prometheus collectors). Every
// label it is given is an upstream's name, one of the words documented
// below, or a quota's name as the API gave it: never a credential, a scope
// fingerprint or a URL path. Only requests that match an upstream are
// reported; those that pass through are not.
//
// Implementations must be safe for concurrent use and fast: heed calls them
// on every request, from the goroutine making it. Breaker is called while
// the upstream's breaker changes state, so it must not call back into the
// Transport. A nil Config.Metrics means none.
type Metrics interface {
	// Request is called once per RoundTrip with how it ended: one of the
	// Outcome words.
	Request(upstream, outcome string)
	// Waited is called when a request waited before it left (or before it
	// gave up): the time waited, summed per reason (one of the Wait words)
	// since the request's previous attempt, or since RoundTrip began. It is
	// not called for a reason it did not wait for.
	Waited(upstream, reason string, d time.Duration)
	// Retry is called when a request is to be sent again, with the status
	// code that failed ("429", "502", "503" or "504") or
	// OutcomeTransportError.
	Retry(upstream, reason string)
	// Cooldown is called when a cooldown of length d is recorded for a scope
	// of the upstream (not when a longer one already in force is kept).
	Cooldown(upstream string, d time.Duration)
	// Remaining is called for each quota a response reports its remaining
	// units of, with the quota's name (quota.Quota.Name) and the units left
	// as the response said, before heed takes off what it has sent since.
	Remaining(upstream, quota string, remaining float64)
	// Breaker is called with the upstream's breaker state, one of the
	// Breaker words: BreakerClosed when the Transport is made, then on every
	// change.
	Breaker(upstream, state string)
	// StoreError is called when the shared store failed an operation for
	// the upstream: one of the StoreOp words.
	StoreError(upstream, op string)
	// FleetSize is called with the number of live processes sharing the
	// upstream, each time the shared store's heartbeats count them.
	FleetSize(upstream string, processes int)
}

// The outcomes of a RoundTrip, as Metrics.Request receives them.
const (
	// OutcomeOK: a 1xx, 2xx or 3xx response.
	OutcomeOK = "ok"
	// OutcomeClientError: a 4xx response not refused for a limit.
	OutcomeClientError = "client_error"
	// OutcomeLimited: the upstream refused the request for a limit (a 429,
	// or a response package quota reads as limited, such as GitHub's 403
	// with no quota left).
	OutcomeLimited = "limited"
	// OutcomeServerError: a 5xx response not refused for a limit.
	OutcomeServerError = "server_error"
	// OutcomeTransportError: RoundTrip returned an error: the base
	// transport's, or the request's context ending while it waited.
	OutcomeTransportError = "transport_error"
	// OutcomeSyntheticCooldown: a synthetic response of kind
	// SyntheticCooldown.
	OutcomeSyntheticCooldown = "synthetic_cooldown"
	// OutcomeSyntheticLimit: a synthetic response of kind SyntheticLimit.
	OutcomeSyntheticLimit = "synthetic_limit"
	// OutcomeSyntheticCircuitOpen: a synthetic response of kind
	// SyntheticCircuitOpen.
	OutcomeSyntheticCircuitOpen = "synthetic_circuit_open"
)

// The reasons a request waits, as Metrics.Waited receives them.
const (
	// WaitCooldown: the scope was cooling down.
	WaitCooldown = "cooldown"
	// WaitLimit: a configured limit or a learned pace had no room.
	WaitLimit = "limit"
	// WaitConcurrency: the concurrency cap was reached, or another request
	// of the scope was out learning its quota.
	WaitConcurrency = "concurrency"
	// WaitBackoff: the backoff before a retry.
	WaitBackoff = "backoff"
)

// The states of an upstream's circuit breaker, as Metrics.Breaker receives
// them.
const (
	BreakerClosed   = "closed"
	BreakerHalfOpen = "half-open"
	BreakerOpen     = "open"
)

// noMetrics is the Metrics of a Config that has none.
type noMetrics struct{}

func (noMetrics) Request(string, string)               {}
func (noMetrics) Waited(string, string, time.Duration) {}
func (noMetrics) Retry(string, string)                 {}
func (noMetrics) Cooldown(string, time.Duration)       {}
func (noMetrics) Remaining(string, string, float64)    {}
func (noMetrics) Breaker(string, string)               {}
func (noMetrics) StoreError(string, string)            {}
func (noMetrics) FleetSize(string, int)                {}

// waitReason indexes call.waited.
type waitReason int

const (
	waitCooldown waitReason = iota
	waitLimit
	waitConcurrency
	waitBackoff
	waitReasons // how many there are
)

// name is the reason's Wait word.
func (r waitReason) name() string {
	switch r {
	case waitCooldown:
		return WaitCooldown
	case waitLimit:
		return WaitLimit
	case waitConcurrency:
		return WaitConcurrency
	}
	return WaitBackoff
}

// waitReasonOf is why a refused Acquire makes the request wait.
func waitReasonOf(r store.Reason) waitReason {
	switch r {
	case store.ReasonCooldown:
		return waitCooldown
	case store.ReasonConcurrency:
		return waitConcurrency
	}
	return waitLimit
}

// sleep waits d like the clock's Sleep, and counts the time it took toward
// reason until flushWaits reports it.
func (c *call) sleep(reason waitReason, d time.Duration) error {
	if d <= 0 {
		return c.u.t.clock.Sleep(c.ctx, d)
	}
	if reason != waitBackoff {
		w := &c.u.flight(c.scopeKey).waiting
		w.Add(1)
		defer w.Add(-1)
	}
	start := c.u.t.clock.Now()
	err := c.u.t.clock.Sleep(c.ctx, d)
	c.waited[reason] += c.u.t.clock.Now().Sub(start)
	return err
}

// flushWaits reports the time waited since the last report, per reason.
func (c *call) flushWaits() {
	for r, d := range c.waited {
		if d > 0 {
			c.u.t.metrics.Waited(c.u.cfg.Name, waitReason(r).name(), d)
			c.waited[r] = 0
		}
	}
}

// answer reports and builds a synthetic response.
func (c *call) answer(syn *synthetic) *http.Response {
	c.u.t.metrics.Request(c.u.cfg.Name, syn.outcome())
	return syn.response(c.req)
}

// finish reports and returns an attempt that is final.
func (c *call) finish(out outcome) (*http.Response, error) {
	c.u.t.metrics.Request(c.u.cfg.Name, out.name())
	return out.resp, out.err
}

// abandon reports and returns the error that ends a call before an attempt
// was made (the request's context ended while it waited, say).
func (c *call) abandon(err error) error {
	c.u.t.metrics.Request(c.u.cfg.Name, OutcomeTransportError)
	return err
}

// outcome is the synthetic response's Outcome word.
func (s synthetic) outcome() string {
	switch s.kind {
	case SyntheticCooldown:
		return OutcomeSyntheticCooldown
	case SyntheticLimit:
		return OutcomeSyntheticLimit
	}
	return OutcomeSyntheticCircuitOpen
}

// name is the attempt's Outcome word.
func (o outcome) name() string {
	switch {
	case o.err != nil:
		return OutcomeTransportError
	case o.sig.Limited || o.resp.StatusCode == http.StatusTooManyRequests:
		return OutcomeLimited
	case o.resp.StatusCode >= 500:
		return OutcomeServerError
	case o.resp.StatusCode >= 400:
		return OutcomeClientError
	}
	return OutcomeOK
}

// retryReason is why an attempt is sent again, for Metrics.Retry.
func retryReason(out outcome) string {
	if out.err != nil {
		return OutcomeTransportError
	}
	switch out.resp.StatusCode {
	case http.StatusTooManyRequests:
		return "429"
	case http.StatusBadGateway:
		return "502"
	case http.StatusServiceUnavailable:
		return "503"
	case http.StatusGatewayTimeout:
		return "504"
	}
	return strconv.Itoa(out.resp.StatusCode)
}

// reportRemaining reports each quota the response says has units left.
func (c *call) reportRemaining(sig quota.Signal) {
	for _, q := range sig.Quotas {
		if q.HasRemaining {
			c.u.t.metrics.Remaining(c.u.cfg.Name, q.Name, q.Remaining)
		}
	}
}
