// Package heedgrpc makes gRPC clients good API citizens with the same core
// as heed's http.RoundTripper: client interceptors that pace calls under
// each API's quota, share cooldowns across every process that uses the
// same credential, retry what is worth retrying and break the circuit when
// an API keeps failing.
//
//	ic, err := heedgrpc.New(cfg) // a heed.Config, as for heed.New
//	...
//	defer ic.Close()
//	conn, err := grpc.NewClient(target,
//		grpc.WithUnaryInterceptor(ic.Unary()),
//		grpc.WithStreamInterceptor(ic.Stream()))
//
// # One pipeline, not two
//
// An Interceptor holds a heed.Transport, and each gRPC call goes through
// it as an HTTP request: POST grpc://{target}/{package.Service}/{Method},
// with the call's outgoing metadata as its headers. So the Config, the
// routing, the scopes, the store (memory, or Redis for a fleet), the
// limits and learned paces, the cooldowns, the retry policy, the breaker,
// the metrics and the logs are the Transport's own, and what heed's
// package doc says of them holds here. The Transport's base RoundTripper
// (Config.Base, which New sets and so ignores) is the gRPC invocation
// itself: it makes the call and turns its status into a response that
// the Transport reads (see the mapping below); the caller then gets the
// call's own reply or error, never an HTTP response.
//
// # Routing and scopes
//
// An upstream governs gRPC calls with a grpc:// (or grpcs://) base URL:
// the target's host and port (443 when it names none) and, as path, the
// prefix of the full method names it governs:
//
//	base_url: grpc://translate.googleapis.com:443/google.cloud.translation.v3.TranslationService/
//
// The host and port are the endpoint of the ClientConn's canonical target
// (dns:///host:port, passthrough:///host:port); a target whose endpoint is
// no host, such as a unix socket, is "localhost". Calls that no upstream
// covers go straight to the invoker, untouched.
//
// The credential that keys the scope is read, as heed reads it from an
// HTTP request, from the call's metadata (authorization, x-goog-api-key,
// x-api-key and the upstream's credentials.headers) and from the metadata
// of per-RPC credentials given as a call option (grpc.PerRPCCredentials).
// Credentials given to the ClientConn (grpc.WithPerRPCCredentials) are out
// of an interceptor's sight: those calls share the upstream's anonymous
// scope, so give each credential its upstream, or pass it per call.
//
// # Statuses as the Transport reads them
//
// A call's status becomes the response status Google's own HTTP mapping
// gives it (google/rpc/code.proto): OK 200, INVALID_ARGUMENT,
// FAILED_PRECONDITION and OUT_OF_RANGE 400, UNAUTHENTICATED 401,
// PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS and ABORTED 409,
// RESOURCE_EXHAUSTED 429, CANCELLED 499, UNIMPLEMENTED 501, UNAVAILABLE
// 503, DEADLINE_EXCEEDED 504, the others 500. The wait the status asks
// for, the longer of its google.rpc.RetryInfo retry_delay and its
// grpc-retry-pushback-ms trailer, becomes Retry-After-Ms (and
// Retry-After, in whole seconds rounded up); a RESOURCE_EXHAUSTED that
// names none cools down for cooldown.default. So a RESOURCE_EXHAUSTED with
// a RetryInfo cools the scope down for that delay, across the fleet when
// the store is shared: every call of that credential, in every process,
// waits it out (or, with on_limit: fail or past max_wait, is refused at
// once). A call the caller gave up on (its context ended) is an error
// for the Transport, not a response.
//
// A per-day quota fails fast instead: a RESOURCE_EXHAUSTED whose
// QuotaFailure names a quota_id containing "PerDay" (or whose ErrorInfo's
// quota_limit does), or whose delay passes the upstream's cooldown.max,
// is read as an exhausted quota (the body carries Google's own reason
// word for it, dailyLimitExceeded). Waiting a day helps no caller: the
// call is not retried and no cooldown is recorded, and the caller gets
// the server's RESOURCE_EXHAUSTED at once, its RetryInfo intact.
//
// The cooldown binds the scope, that is the upstream and the credential,
// not the QuotaFailure's quota_id alone: heed does not know which other
// methods a quota_id covers, and a cooldown that spared them would let
// calls through that the server refuses. To keep methods under different
// quotas apart, give each group its own upstream: base URLs match by
// method prefix, so one service, or one method, can be an upstream.
//
// # Heed's own answers
//
// When heed refuses a call itself (a cooldown or a limit with no room in
// time, an open circuit), nothing reaches the server and the caller gets
// a status error: RESOURCE_EXHAUSTED (UNAVAILABLE for an open circuit)
// with a google.rpc.RetryInfo of the real wait and a google.rpc.ErrorInfo
// of domain "heed" (reason HEED_COOLDOWN, HEED_LIMIT or
// HEED_CIRCUIT_OPEN; metadata upstream and scope, the scope's short
// fingerprint, never the credential). The error also unwraps to the
// *heed.Refusal, so errors.Is(err, heed.ErrCooldown) holds.
//
// # Retries
//
// A gRPC call is a POST to heed's retry policy: it is retried (a 429's
// wait being the scope's cooldown, a 503 or an UNAVAILABLE with backoff)
// only when the upstream sets retry.non_idempotent, or the call carries
// idempotency-key metadata. Heed cannot tell from the method name whether
// a call may run twice.
//
// # Streams
//
// A stream is paced at its start: opening it is admitted as one request
// (limits, cooldown, breaker), and it holds its concurrency slot until it
// ends (an error or io.EOF from RecvMsg or SendMsg, or its context done).
// What the server says after the stream has started (a status at its end)
// reaches the caller as it is and is not read for signals.
//
// An Interceptor is safe for concurrent use; its interceptors may serve
// any number of ClientConns.
package heedgrpc
