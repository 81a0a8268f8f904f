package prom

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heedhq/heed"
)

// namespace prefixes every metric's name.
const namespace = "heed"

// Metrics implements heed.Metrics with Prometheus collectors. It is safe
// for concurrent use. Make one with New.
type Metrics struct {
	// requests counts RoundTrips by upstream and outcome (heed.Outcome*).
	requests *prometheus.CounterVec
	// attempts counts the attempts sent to the upstream, by upstream and
	// outcome: what reached the API, retries included.
	attempts *prometheus.CounterVec
	// waits observes, in seconds, the time a request waited before it left
	// or gave up, by upstream and reason (heed.Wait*): one observation per
	// reason it waited for, per attempt.
	waits *prometheus.HistogramVec
	// retries counts attempts sent again, by upstream and reason: the status
	// code that failed ("429", "502", "503", "504") or "transport_error".
	retries *prometheus.CounterVec
	// synthetic counts synthetic answers by upstream and kind: the outcome
	// without its "synthetic_" prefix ("cooldown", "limit", "circuit_open").
	synthetic *prometheus.CounterVec
	// limited counts the refusals for a limit the upstream sent, by
	// upstream: every attempt that ended with one (outcome "limited"),
	// final or retried, whatever its status (a 429, GitHub's 403).
	limited *prometheus.CounterVec
	// cooldowns counts the cooldowns recorded, by upstream.
	cooldowns *prometheus.CounterVec
	// cooldownSeconds observes, in seconds, the length of each cooldown
	// recorded, by upstream.
	cooldownSeconds *prometheus.HistogramVec
	// active counts, by upstream, the cooldowns recorded whose end has not
	// passed, at scrape time.
	active *activeCooldowns
	// remaining is, by upstream and quota, the units a response last said
	// were left.
	remaining *prometheus.GaugeVec
	// breaker is, by upstream, the breaker's state: 0 closed, 1 half-open,
	// 2 open.
	breaker *prometheus.GaugeVec
	// storeErrors counts, by upstream and operation (heed.StoreOp*), the
	// operations the shared store failed.
	storeErrors *prometheus.CounterVec
	// fleet is, by upstream, the number of live processes sharing it, as
	// the shared store's heartbeats last counted them.
	fleet *prometheus.GaugeVec
	// tokensReserved and tokensSettled count, by upstream and kind
	// (input, output), the tokens priced requests were charged when they
	// left and those their responses' usage reported.
	tokensReserved, tokensSettled *prometheus.CounterVec
	// estimate observes, by upstream and kind, the ratio of a request's
	// reported tokens to its estimate (1: exact; below 1: charged more
	// than it cost, as an output maximum is).
	estimate *prometheus.HistogramVec
	// cacheResults counts, by upstream and result (hit, revalidated,
	// miss, coalesced), the GETs and HEADs of an upstream with a cache or
	// coalescing; cacheBytes the body bytes served from the cache;
	// notModified the 304s the API answered; requestsSaved the requests
	// not sent (hits, shared answers); quotaSaved those that spent no unit
	// of the request limits (and free 304s).
	cacheResults                                       *prometheus.CounterVec
	cacheBytes, notModified, requestsSaved, quotaSaved *prometheus.CounterVec
	// fairAdmitted and fairRefused count, by upstream and priority class,
	// the requests of an upstream with fair shares that left the waiting
	// room with their turn, and those refused instead; fairCost adds up
	// the admitted ones' cost (1 per request, or their estimated tokens);
	// fairWait observes, by upstream, class and result (admitted,
	// refused), the seconds each waited in the room. Never by flow: flows
	// are tenants, unbounded.
	fairAdmitted, fairRefused, fairCost *prometheus.CounterVec
	fairWait                            *prometheus.HistogramVec
}

var _ heed.Metrics = (*Metrics)(nil)

// New returns Metrics whose collectors are registered with reg; nil means
// prometheus.DefaultRegisterer. It registers all of them or none: when one
// cannot be registered (most often because a Metrics is already registered
// with reg), it unregisters those it had and returns the error.
func New(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	m := newMetrics()
	var done []prometheus.Collector
	for _, c := range m.collectors() {
		if err := reg.Register(c.Collector); err != nil {
			for _, d := range done {
				reg.Unregister(d)
			}
			return nil, registerError(c.name, err)
		}
		done = append(done, c.Collector)
	}
	return m, nil
}

// registerError explains why the collector of metric name was refused.
func registerError(name string, err error) error {
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		return fmt.Errorf("prom: %s is already registered with this registry (make one prom.Metrics per registry and share it between Transports): %w", name, are)
	}
	return fmt.Errorf("prom: registering %s: %w", name, err)
}

// newMetrics makes the collectors. The bounds of heed_wait_seconds and
// heed_fair_wait_seconds go from 1ms to 5m, those of heed_cooldown_seconds
// from 100ms to 1h (the default cap of a cooldown), each about twice the
// one before.
func newMetrics() *Metrics {
	return &Metrics{
		requests: counter("requests_total", "RoundTrips of requests that matched an upstream, by how they ended.", "outcome"),
		attempts: counter("attempts_total", "Attempts sent to the upstream (what reached the API, retries included), by how they ended.", "outcome"),
		waits: histogram("wait_seconds", "Seconds a request waited before it left or gave up, by reason (cooldown, limit, concurrency, backoff).",
			prometheus.ExponentialBucketsRange(0.001, 300, 20), "reason"),
		retries: counter("retries_total", "Attempts sent again, by the status code that failed or transport_error.", "reason"),
		synthetic: counter("synthetic_responses_total",
			"Responses heed made up instead of sending the request, by kind (cooldown, limit, circuit_open).", "kind"),
		limited:   counter("limited_responses_total", "Refusals for a limit (429s and the like) the upstream sent, final or retried."),
		cooldowns: counter("cooldowns_total", "Cooldowns recorded for a scope (a tenant and credential) of the upstream."),
		cooldownSeconds: histogram("cooldown_seconds", "Length in seconds of the cooldowns recorded.",
			prometheus.ExponentialBucketsRange(0.1, 3600, 16)),
		active: newActiveCooldowns(),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "quota_remaining",
			Help: "Units of the quota the upstream last said were left."}, []string{"upstream", "quota"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "breaker_state",
			Help: "State of the upstream's circuit breaker: 0 closed, 1 half-open, 2 open."}, []string{"upstream"}),
		storeErrors: counter("store_errors_total",
			"Operations the shared store (Redis) failed, by operation (acquire, cooldown, pace, release, heartbeat); while it fails, requests use this process's share of each limit (on_store_error: open) or fail (closed).", "operation"),
		fleet: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "fleet_processes",
			Help: "Live processes sharing the upstream's limits through the shared store, as last counted by heartbeats."}, []string{"upstream"}),
		tokensReserved: counter("tokens_reserved_total", "Tokens priced requests were charged when they left (estimated input, maximum output), by kind (input, output).", "kind"),
		tokensSettled:  counter("tokens_settled_total", "Tokens priced requests cost as their responses' usage reported, by kind (input, output).", "kind"),
		estimate: histogram("token_estimate_ratio", "Reported tokens over the tokens charged when the request left, per request and kind (input, output): 1 is exact.",
			[]float64{0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.25, 1.5, 2, 3}, "kind"),
		cacheResults:  counter("cache_results_total", "GETs and HEADs of an upstream with a cache or coalescing, by result (hit, revalidated, miss, coalesced).", "result"),
		cacheBytes:    counter("cache_bytes_total", "Body bytes served from the response cache (hits and revalidated answers)."),
		notModified:   counter("cache_not_modified_total", "304 Not Modified answers the API sent to a conditional request."),
		requestsSaved: counter("cache_requests_saved_total", "Requests not sent: answered from the cache or shared with an identical request in flight."),
		quotaSaved:    counter("cache_quota_saved_total", "Requests that spent no unit of the request limits: not sent, or answered 304 by an API that does not charge it (free_304)."),
		fairAdmitted:  counter("fair_admitted_total", "Requests of an upstream with fair shares let go at their turn, by priority class.", "class"),
		fairRefused: counter("fair_refused_total",
			"Requests of an upstream with fair shares answered with a synthetic limit answer instead of a turn (their flow's queue full, or their turn too far off), by priority class.", "class"),
		fairCost: counter("fair_cost_total", "Cost of the requests let go at their turn (1 per request, or their estimated tokens when the upstream prices requests), by priority class.", "class"),
		fairWait: histogram("fair_wait_seconds", "Seconds a request of an upstream with fair shares waited for its turn, by priority class and result (admitted, refused).",
			prometheus.ExponentialBucketsRange(0.001, 300, 20), "class", "result"),
	}
}

// counter makes a counter vector labelled by upstream and labels.
func counter(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help},
		append([]string{"upstream"}, labels...))
}

// histogram makes a histogram vector labelled by upstream and labels.
func histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets},
		append([]string{"upstream"}, labels...))
}

// named is a collector with the name of the metric it collects.
type named struct {
	name string
	prometheus.Collector
}

func (m *Metrics) collectors() []named {
	return []named{
		{"heed_requests_total", m.requests},
		{"heed_attempts_total", m.attempts},
		{"heed_wait_seconds", m.waits},
		{"heed_retries_total", m.retries},
		{"heed_synthetic_responses_total", m.synthetic},
		{"heed_limited_responses_total", m.limited},
		{"heed_cooldowns_total", m.cooldowns},
		{"heed_cooldown_seconds", m.cooldownSeconds},
		{"heed_active_cooldowns", m.active},
		{"heed_quota_remaining", m.remaining},
		{"heed_breaker_state", m.breaker},
		{"heed_store_errors_total", m.storeErrors},
		{"heed_fleet_processes", m.fleet},
		{"heed_tokens_reserved_total", m.tokensReserved},
		{"heed_tokens_settled_total", m.tokensSettled},
		{"heed_token_estimate_ratio", m.estimate},
		{"heed_cache_results_total", m.cacheResults},
		{"heed_cache_bytes_total", m.cacheBytes},
		{"heed_cache_not_modified_total", m.notModified},
		{"heed_cache_requests_saved_total", m.requestsSaved},
		{"heed_cache_quota_saved_total", m.quotaSaved},
		{"heed_fair_admitted_total", m.fairAdmitted},
		{"heed_fair_refused_total", m.fairRefused},
		{"heed_fair_cost_total", m.fairCost},
		{"heed_fair_wait_seconds", m.fairWait},
	}
}

// Label values that are not valid UTF-8 make a vector refuse them: such an
// observation is dropped rather than let a metric panic inside a request.
// Only a quota's name, which the upstream chooses, can be one.

// Request counts a RoundTrip, and the synthetic answer it ended with.
func (m *Metrics) Request(upstream, outcome string) {
	if c, err := m.requests.GetMetricWithLabelValues(upstream, outcome); err == nil {
		c.Inc()
	}
	if kind, ok := strings.CutPrefix(outcome, "synthetic_"); ok {
		if c, err := m.synthetic.GetMetricWithLabelValues(upstream, kind); err == nil {
			c.Inc()
		}
	}
}

// Attempt counts an attempt sent, and the refusal for a limit it ended
// with.
func (m *Metrics) Attempt(upstream, outcome string) {
	if c, err := m.attempts.GetMetricWithLabelValues(upstream, outcome); err == nil {
		c.Inc()
	}
	if outcome != heed.OutcomeLimited {
		return
	}
	if c, err := m.limited.GetMetricWithLabelValues(upstream); err == nil {
		c.Inc()
	}
}

// Waited observes a wait, in seconds.
func (m *Metrics) Waited(upstream, reason string, d time.Duration) {
	if o, err := m.waits.GetMetricWithLabelValues(upstream, reason); err == nil {
		o.Observe(d.Seconds())
	}
}

// Retry counts a retry.
func (m *Metrics) Retry(upstream, reason string) {
	if c, err := m.retries.GetMetricWithLabelValues(upstream, reason); err == nil {
		c.Inc()
	}
}

// Cooldown counts a cooldown, observes its length in seconds and keeps its
// end until it passes.
func (m *Metrics) Cooldown(upstream string, d time.Duration) {
	c, err := m.cooldowns.GetMetricWithLabelValues(upstream)
	if err != nil {
		return
	}
	c.Inc()
	if o, err := m.cooldownSeconds.GetMetricWithLabelValues(upstream); err == nil {
		o.Observe(d.Seconds())
	}
	m.active.add(upstream, d)
}

// Remaining sets the quota's remaining units.
func (m *Metrics) Remaining(upstream, quota string, remaining float64) {
	if g, err := m.remaining.GetMetricWithLabelValues(upstream, quota); err == nil {
		g.Set(remaining)
	}
}

// Breaker sets the breaker's state: 0 closed, 1 half-open, 2 open. An
// unknown state is ignored.
func (m *Metrics) Breaker(upstream, state string) {
	var v float64
	switch state {
	case heed.BreakerClosed:
		v = 0
	case heed.BreakerHalfOpen:
		v = 1
	case heed.BreakerOpen:
		v = 2
	default:
		return
	}
	if g, err := m.breaker.GetMetricWithLabelValues(upstream); err == nil {
		g.Set(v)
	}
}

// StoreError counts an operation the shared store failed.
func (m *Metrics) StoreError(upstream, op string) {
	if c, err := m.storeErrors.GetMetricWithLabelValues(upstream, op); err == nil {
		c.Inc()
	}
}

// FleetSize sets the number of live processes sharing the upstream.
func (m *Metrics) FleetSize(upstream string, processes int) {
	if g, err := m.fleet.GetMetricWithLabelValues(upstream); err == nil {
		g.Set(float64(processes))
	}
}

// Cache counts what the response cache and coalescing did for a request.
func (m *Metrics) Cache(upstream string, ev heed.CacheEvent) {
	if c, err := m.cacheResults.GetMetricWithLabelValues(upstream, ev.Result); err == nil {
		c.Inc()
	}
	saved := ev.Result == heed.CacheHit || ev.Result == heed.CacheCoalesced
	for _, x := range [...]struct {
		v   *prometheus.CounterVec
		add float64
	}{{m.cacheBytes, float64(ev.Bytes)}, {m.notModified, b2f(ev.NotModified)}, {m.requestsSaved, b2f(saved)}, {m.quotaSaved, b2f(saved || (ev.NotModified && !ev.Charged))}} {
		if x.add == 0 {
			continue
		}
		if c, err := x.v.GetMetricWithLabelValues(upstream); err == nil {
			c.Add(x.add)
		}
	}
}

// b2f is 1 for true, 0 for false.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TokensReserved counts the tokens an attempt was charged.
func (m *Metrics) TokensReserved(upstream string, input, output int64) {
	m.addTokens(m.tokensReserved, upstream, input, output)
}

// TokensSettled counts the tokens a response's usage reported, and
// observes the ratio of each kind to its estimate.
func (m *Metrics) TokensSettled(upstream string, input, output, estimatedInput, estimatedOutput int64) {
	m.addTokens(m.tokensSettled, upstream, input, output)
	for _, k := range [...]struct {
		kind      string
		real, est int64
	}{{"input", input, estimatedInput}, {"output", output, estimatedOutput}} {
		if k.est <= 0 {
			continue
		}
		if o, err := m.estimate.GetMetricWithLabelValues(upstream, k.kind); err == nil {
			o.Observe(float64(k.real) / float64(k.est))
		}
	}
}

// addTokens adds input and output tokens to c.
func (m *Metrics) addTokens(c *prometheus.CounterVec, upstream string, input, output int64) {
	if input > 0 {
		if v, err := c.GetMetricWithLabelValues(upstream, "input"); err == nil {
			v.Add(float64(input))
		}
	}
	if output > 0 {
		if v, err := c.GetMetricWithLabelValues(upstream, "output"); err == nil {
			v.Add(float64(output))
		}
	}
}

// Fair counts a request's passage through fair shares: admitted (and its
// cost) or refused, and observes how long it waited, under its class and
// result. An unknown result is ignored.
func (m *Metrics) Fair(upstream string, ev heed.FairEvent) {
	var c *prometheus.CounterVec
	switch ev.Result {
	case heed.FairAdmitted:
		c = m.fairAdmitted
		if ev.Cost > 0 {
			if v, err := m.fairCost.GetMetricWithLabelValues(upstream, ev.Class); err == nil {
				v.Add(float64(ev.Cost))
			}
		}
	case heed.FairRefused:
		c = m.fairRefused
	default:
		return
	}
	if v, err := c.GetMetricWithLabelValues(upstream, ev.Class); err == nil {
		v.Inc()
	}
	if o, err := m.fairWait.GetMetricWithLabelValues(upstream, ev.Class, ev.Result); err == nil {
		o.Observe(max(ev.Waited, 0).Seconds())
	}
}
