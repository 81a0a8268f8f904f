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
// Every request belongs to a scope: the tenant, the upstream and a keyed
// fingerprint of the credential the request carries (package scope). Scopes
// are the unit of shared state, so two tokens never share a cooldown, and a
// credential never leaves the process in plain text.
//
// The Transport's doc lists the steps of one request in order. The state
// scopes share lives in a store.Store (the memory store by default);
// Config.Metrics receives what happens (metrics/prom exports it to
// Prometheus); Config.Logger receives cooldowns, retries and warnings.
package heed
