// Package prom exports what a heed Transport does as Prometheus metrics.
// New registers the collectors and returns a *Metrics to set as
// heed.Config.Metrics:
//
//	m, err := prom.New(prometheus.DefaultRegisterer)
//	...
//	t, err := heed.New(heed.Config{Metrics: m, Upstreams: ...})
//
// Every series is labelled by the upstream's name, and some by an outcome,
// a reason, a kind, a result, a priority class or a quota's name as the
// API reported it: never a credential, a scope fingerprint, a tenant or a
// URL path. Times are in seconds.
//
//	heed_requests_total{upstream,outcome}          counter: RoundTrips by how they ended (heed.Outcome*)
//	heed_attempts_total{upstream,outcome}          counter: attempts that reached the API, retries included, by how they ended
//	heed_wait_seconds{upstream,reason}             histogram: time requests waited before leaving, by reason (heed.Wait*)
//	heed_retries_total{upstream,reason}            counter: attempts sent again, by status code or "transport_error"
//	heed_synthetic_responses_total{upstream,kind}  counter: synthetic answers, by kind (cooldown, limit, circuit_open)
//	heed_limited_responses_total{upstream}         counter: refusals for a limit the upstream sent (429s, GitHub's 403 and the like), final or retried
//	heed_cooldowns_total{upstream}                 counter: cooldowns recorded
//	heed_cooldown_seconds{upstream}                histogram: the length of the cooldowns recorded
//	heed_active_cooldowns{upstream}                gauge: cooldowns recorded that have not ended yet
//	heed_quota_remaining{upstream,quota}           gauge: the last remaining units a response reported
//	heed_breaker_state{upstream}                   gauge: 0 closed, 1 half-open, 2 open
//	heed_store_errors_total{upstream,operation}    counter: operations the shared store failed
//	heed_fleet_processes{upstream}                 gauge: live processes sharing the upstream through the shared store
//	heed_tokens_reserved_total{upstream,kind}      counter: tokens priced requests were charged as they left (input, output)
//	heed_tokens_settled_total{upstream,kind}       counter: tokens their responses' usage reported (input, output)
//	heed_token_estimate_ratio{upstream,kind}       histogram: reported tokens over those charged, per request
//	heed_cache_results_total{upstream,result}      counter: GETs and HEADs the cache looked up (hit, revalidated, miss, coalesced)
//	heed_cache_bytes_total{upstream}               counter: body bytes served from the cache
//	heed_cache_not_modified_total{upstream}        counter: 304s the API answered to a conditional request
//	heed_cache_requests_saved_total{upstream}      counter: requests not sent (hits, coalesced)
//	heed_cache_quota_saved_total{upstream}         counter: requests that spent no unit of the request limits
//	heed_fair_admitted_total{upstream,class}       counter: requests of an upstream with fair shares let go at their turn
//	heed_fair_refused_total{upstream,class}        counter: those refused instead (queue full, turn too far off)
//	heed_fair_cost_total{upstream,class}           counter: the cost of those let go (1 a request, or estimated tokens)
//	heed_fair_wait_seconds{upstream,class,result}  histogram: time in the waiting room, admitted and refused apart
//
// The fair-share series are labelled by priority class, never by flow
// (tenant, credential or header value), which is unbounded: one wait
// histogram with a result label, so that the waits of requests refused
// (which often waited their whole max_wait) can be told from those of
// requests let go, and summed back for every request. A class's share of
// the capacity over a period is the increase of its heed_fair_cost_total
// over that of every class of the upstream.
//
// One *Metrics may serve several Transports: their counts add up. Their
// gauges of an upstream name they share overwrite each other, so give
// upstreams distinct names across Transports that share a *Metrics.
package prom
