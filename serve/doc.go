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
// For an upstream with fair shares (a fairness section), the request
// header Heed-Priority (PriorityHeader) names the request's priority class
// (heed.WithPriority): a malformed one is a 400 invalid_priority, a class
// the upstream lacks a 400 unknown_priority whose "classes" lists those it
// has; the header never reaches the upstream, nor do Heed-Token and the
// tenant_header.
//
// The admin surface lives under /-/ (no upstream name starts with "-"):
// /-/healthz, /-/metrics (Prometheus), /-/state (heed.Snapshot as JSON),
// /-/history (per-second counts for the dashboard) and /-/ itself, the
// dashboard. With the job API on (a jobs section), /v1/jobs takes durable
// jobs.
//
// Who needs which token (Config.AdminToken, Config.APITokens; each at
// least 16 bytes, compared in constant time, never logged or quoted):
//
//   - /-/healthz: none, ever (load balancers).
//   - the rest of /-/: admin_token, when set, as "Authorization: Bearer
//     <token>" or the cookie /-/?token=<token> sets for a browser.
//   - /v1/jobs...: when any token is set, one of api_tokens or
//     admin_token, as "Authorization: Bearer <token>" or "Heed-Token:
//     <token>".
//   - route mode and the forward proxy: when api_tokens is set, one of
//     them or admin_token in "Heed-Token: <token>" (Authorization is the
//     upstream's credential and passes untouched; Heed-Token is removed
//     before the upstream); the forward proxy also takes the token as the
//     Proxy-Authorization password, and answers 407 without.
//
// A missing or wrong token is a 401 JSON error with WWW-Authenticate (407
// with Proxy-Authenticate from the forward proxy). A part left open, no
// token being configured for it, answers only requests addressed to a
// loopback Host, so that a web page cannot reach it by DNS rebinding. heed serve
// refuses to listen beyond loopback without both admin_token and
// api_tokens (ErrAdminTokenRequired, ErrAPITokensRequired): it would be a
// relay into every upstream for whoever reaches the port.
//
// Web pages are kept out: the job API and route mode answer 403 to a
// request whose Origin is not heed serve's own or whose Sec-Fetch-Site is
// neither same-origin nor none, and the job API takes writes only as
// application/json (415), which a page cannot send to another origin
// without asking first. Route mode and the forward proxy refuse a path
// with a . or .. segment in any encoding (400).
//
// Every answer heed serve makes itself is a JSON error with a stable
// "error" code, those of its ServeMuxes (404, 405) and of request headers
// over MaxHeaderBytes or MaxHeaderFields (431) included; WrapListener
// extends that to the answers net/http writes before any handler runs
// (malformed requests, headers over the http.Server's bound).
//
// Config is heed serve's configuration: the library's heed.Config, whose
// keys sit at the top level of the file, and the settings only heed serve
// reads (listen, admin_token, api_tokens, tenant_header, jobs). LoadConfig reads it
// from the same YAML file a Go program reads with config.Load.
package serve
