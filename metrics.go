package heed

import (
	"net/http"
	"time"

	"github.com/heedhq/heed/breaker"
	"github.com/heedhq/heed/store/failover"
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
// Transport. A nil Config.Metrics means none. Implementations should embed
// NoMetrics, so that new events do not break them.
type Metrics interface {
	// Request is called once per RoundTrip with how it ended: one of the
	// Outcome words.
	Request(upstream, outcome string)
	// Attempt is called once per attempt sent to the upstream (a RoundTrip
	// that retries makes several), with how it ended: one of the Outcome
	// words, never a synthetic one. It counts what reached the API: a
	// refusal the API sent and heed retried (GitHub's 403, say) is an
	// Attempt with OutcomeLimited.
	Attempt(upstream, outcome string)
	// Waited is called when a request waited before it left (or before it
	// gave up): the time waited, summed per reason (one of the Wait words)
	// since the request's previous attempt, or since RoundTrip began. It is
	// not called for a reason it did not wait for.
	Waited(upstream, reason string, d time.Duration)
	// Retry is called when a request is to be sent again, with the status
	// code that failed ("429", "502", "503", "504", or another a rate
	// limit answered with, such as GitHub's "403") or
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
	// TokensReserved is called when an attempt of a priced request (see
	// Upstream.Cost) is let go, with the tokens it was charged: its
	// estimated input and its maximum output.
	TokensReserved(upstream string, input, output int64)
	// TokensSettled is called when the usage a response reported settles
	// an attempt's charge, with the tokens it really cost (as the limits
	// count them) and those it was charged (estimated); the ratio of the
	// two is the estimate's error. A charge given back because the API
	// refused the request is not reported.
	TokensSettled(upstream string, input, output, estimatedInput, estimatedOutput int64)
	// Cache is called once per GET or HEAD of an upstream with a cache or
	// coalescing (see Upstream.Cache, Upstream.Coalesce), with what they
	// did for it.
	Cache(upstream string, ev CacheEvent)
	// Fair is called once per request of an upstream with fair shares
	// (see Upstream.Fairness) as it leaves the waiting room: admitted,
	// or refused. It is labelled by class, never by flow: tenants are
	// unbounded.
	Fair(upstream string, ev FairEvent)
}

// FairEvent is what Metrics.Fair receives.
type FairEvent struct {
	// Class is the request's priority class.
	Class string
	// Result is FairAdmitted or FairRefused.
	Result string
	// Waited is how long the request waited for its turn; 0 when it went
	// at once.
	Waited time.Duration
	// Cost is what the request counts against its class and flow: 1 per
	// request, or its estimated tokens when the upstream prices requests.
	Cost int64
}

// The results of a request's passage through fair shares, as FairEvent
// says them.
const (
	// FairAdmitted: the request had its turn and was let go.
	FairAdmitted = "admitted"
	// FairRefused: the request was answered with a synthetic limit
	// answer instead: its flow's queue was full, or its turn would not
	// come within its max_wait or deadline.
	FairRefused = "refused"
)

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
	BreakerClosed   = string(breaker.Closed)
	BreakerHalfOpen = string(breaker.HalfOpen)
	BreakerOpen     = string(breaker.Open)
)

// The store operations, as Metrics.StoreError receives them.
const (
	StoreOpAcquire   = failover.OpAcquire
	StoreOpCooldown  = failover.OpCooldown
	StoreOpPace      = failover.OpPace
	StoreOpSettle    = failover.OpSettle
	StoreOpRelease   = failover.OpRelease
	StoreOpHeartbeat = failover.OpHeartbeat
)

// NoMetrics is a Metrics that records nothing. Embed it in an
// implementation so that events added to Metrics later break nothing: the
// implementation then ignores them until it defines its own.
type NoMetrics struct{}

var _ Metrics = NoMetrics{}

func (NoMetrics) Request(string, string)                           {}
func (NoMetrics) Attempt(string, string)                           {}
func (NoMetrics) Waited(string, string, time.Duration)             {}
func (NoMetrics) Retry(string, string)                             {}
func (NoMetrics) Cooldown(string, time.Duration)                   {}
func (NoMetrics) Remaining(string, string, float64)                {}
func (NoMetrics) Breaker(string, string)                           {}
func (NoMetrics) StoreError(string, string)                        {}
func (NoMetrics) FleetSize(string, int)                            {}
func (NoMetrics) TokensReserved(string, int64, int64)              {}
func (NoMetrics) TokensSettled(string, int64, int64, int64, int64) {}
func (NoMetrics) Cache(string, CacheEvent)                         {}
func (NoMetrics) Fair(string, FairEvent)                           {}

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
