// Package serve is heed serve: the heed Transport behind an HTTP endpoint,
// so that programs in any language get the same pacing, cooldowns, retries
// and breaker, sharing state with Go programs on the same store.
//
// Route mode, the main one: a request to /{upstream}/{rest}?{query} is sent
// to the upstream's base URL + /{rest}?{query} through the Transport, so an
// SDK only needs its base URL changed (http://127.0.0.1:8700/openai/v1).
// Forward-proxy mode: a plain-HTTP request with an absolute URI (a client
// honouring HTTP_PROXY) is sent as it is, when it belongs to a configured
// upstream. CONNECT is refused: heed cannot pace what it cannot see inside a
// TLS tunnel; route mode is the way for HTTPS APIs.
//
// Responses stream as they arrive (text/event-stream is flushed at once);
// hop-by-hop headers are dropped and X-Forwarded-For/-Host/-Proto set, by
// net/http/httputil.ReverseProxy. Synthetic answers (cooldown, limit,
// circuit-open) reach the client exactly as a library caller sees them.
// Errors heed serve makes itself are JSON with a stable "error" code.
//
// The admin surface lives under /-/ (no upstream name starts with "-"):
// /-/healthz, /-/metrics (Prometheus), /-/state (heed.Snapshot as JSON),
// /-/history (per-second counts for the dashboard) and /-/ itself, the
// dashboard. With an AdminToken set, everything under /-/ but healthz needs
// "Authorization: Bearer <token>" (or the cookie that /-/?token=<token>
// sets for a browser); a server listening beyond loopback must have one.
//
// Config is heed serve's configuration: the library's heed.Config, whose
// keys sit at the top level of the file, and the settings only heed serve
// reads (listen, admin_token, tenant_header, jobs). LoadConfig reads it
// from the same YAML file a Go program reads with config.Load.
package serve
