// Package heed makes programs good API citizens. Its Transport, an
// http.RoundTripper, paces outgoing calls under each API's quota, shares
// cooldowns across every worker that uses the same credential, retries what
// is worth retrying and breaks the circuit when an API keeps failing. No
// calling code changes: the program's http.Client sends through it.
//
// A Config says which APIs (upstreams) heed governs and how: matched by
// scheme, host and path prefix, each upstream has its limits, concurrency
// cap, cooldown bounds, retry and breaker policies. Requests that match no
// upstream pass through untouched. Package config reads the same Config
// from a YAML file (config.Load); Validate reports every problem at once.
//
// Every request belongs to a scope: the upstream and a keyed fingerprint
// of the credential the request carries (package scope). Scopes are the
// unit of shared state, so two tokens never share a cooldown, and a
// credential never leaves the process in plain text. A request also has a
// tenant (WithTenant, else Config.Tenant), which keys per-tenant limits; a
// cooldown binds the credential for every tenant, since the quota is the
// credential's.
//
// # The way of one request
//
// Each step is one file, in this order (call.go says it once more):
//
//	RoundTrip ─▶ route (route.go) ─▶ scope (scope.go, scopestate.go)
//	   │
//	   ▼           layers (call.go: pipeline), each around the ones below
//	 ┌─────────────────────────────────────────────────────────────────┐
//	 │ cache    cache.go    (with Upstream.Cache or Coalesce) a fresh  │
//	 │                      entry answers; a stale one is revalidated; │
//	 │                      identical GETs in flight share one request │
//	 │ retry    retry.go    again after backoff, or return             │
//	 │ breaker  circuit.go  open: answer circuit-open ─────────────┐   │
//	 │ admit    admit.go    store.Acquire: cooldown, limits (each  │   │
//	 │                      in its unit), paces, concurrency; wait │   │
//	 │                      (wait.go) or answer cooldown/limit ───┤   │
//	 │          fairshare.go (Upstream.Fairness) first its turn in  │   │
//	 │                      the scope's waiting room (package fair) │   │
//	 │ record   record.go   ▲ cooldown, paces, quotas, Attempt     │   │
//	 │ read     send.go     ▲ quota.Parse of status, headers, body │   │
//	 │ send     send.go     base transport, timeout ─▶ the API     │   │
//	 └────────────────────────────────────────────────────────────┼───┘
//	                                                               ▼
//	                        synthetic.go, refusal.go: heed's own answer,
//	                        in the vendor's error shape; RefusalOf
//
// An attempt goes down the layers and its outcome comes back up; a layer
// may answer without calling the ones below. The layers are data, so that
// a new one goes in at a named position: the cache's layer is put in above
// retry only for the upstreams that have one (Transport.openCaches).
//
// The state scopes share lives in a store.Store (the memory store by
// default; a shared one, such as Redis, is wrapped by store/failover for
// its outages); Config.Metrics receives what happens (metrics/prom
// exports it to Prometheus; embed NoMetrics in your own); Config.Logger
// receives cooldowns, retries and warnings.
package heed
