// Package prom exports what a heed Transport does as Prometheus metrics.
// New registers the collectors and returns a *Metrics to set as
// heed.Config.Metrics:
//
//	m, err := prom.New(prometheus.DefaultRegisterer)
//	...
//	t, err := heed.New(heed.Config{Metrics: m, Upstreams: ...})
//
// Every series is labelled by the upstream's name, and some by an outcome,
// a reason, a kind or a quota's name as the API reported it: never a
// credential, a scope fingerprint or a URL path. Times are in seconds.
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
//
// One *Metrics may serve several Transports: their counts add up. Their
// gauges of an upstream name they share overwrite each other, so give
// upstreams distinct names across Transports that share a *Metrics.
package prom
