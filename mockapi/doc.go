// Package mockapi is a fake API with a rate limit, for testing how a client
// behaves when it is told to slow down. Run it in your own tests with
// net/http/httptest, or as a process with heed mock; point your client at
// it; then ask it what your client did: how many requests were refused and
// how many arrived while the API had said to wait.
//
//	mock, err := mockapi.New(mockapi.Config{
//		Limit:   mockapi.Limit{Algorithm: mockapi.AlgorithmSliding, Requests: 10, Per: time.Second},
//		Dialect: mockapi.DialectOpenAI,
//	})
//	srv := httptest.NewServer(mock)
//	defer srv.Close()
//	runMyClient(srv.URL)
//	if st := mock.Stats(); st.Total.DuringWait > 0 {
//		t.Errorf("%d requests ignored a Retry-After", st.Total.DuringWait)
//	}
//
// # Credentials
//
// Limits are per credential. The credential of a request is the token of
// its Authorization header (the part after the scheme, so "Bearer sk-1" and
// "token sk-1" are both "sk-1"), else its X-Api-Key header, else its
// api_key query parameter; a request with none of them is anonymous. The
// mock never keeps, logs or shows a credential: stats and logs name it by
// its cred id, the first 12 hex digits of its SHA-256 (see CredID).
//
// # Limits
//
// Limit.Algorithm picks how requests are counted: a fixed window (the
// window opens with a credential's first request), a sliding window log, a
// token bucket, or a cap on requests in flight. Every answer that went
// through the limit describes the credential's quota after it: its size,
// what remains and when it resets. The reset is honest for the algorithm:
// the end of the fixed window; when the oldest request of the sliding window
// leaves it; when the bucket's next token is back; and, for the concurrency
// cap, nothing (a refusal says Retry-After: 1).
//
// # Dialects
//
// Config.Dialect picks how the quota is described and how a refusal looks.
// Times are rounded up, so a client that honours them never comes back too
// early.
//
//   - ietf (the default): RateLimit-Policy: "default";q=<limit>;w=<window
//     seconds> and RateLimit: "default";r=<remaining>;t=<seconds to the
//     reset>; a refusal is a 429 with Retry-After and a problem+json body.
//   - github: x-ratelimit-limit, -remaining, -used, -reset (epoch seconds)
//     and -resource: core; a refusal is a 403 with x-ratelimit-remaining: 0
//     and GitHub's "API rate limit exceeded" body (plus Retry-After for the
//     concurrency cap, which has no reset).
//   - openai: x-ratelimit-limit-requests, -remaining-requests and
//     -reset-requests (a Go duration such as "1s" or "6m0s"); a refusal is
//     a 429 with retry-after and OpenAI's rate_limit_exceeded error body.
//   - anthropic: anthropic-ratelimit-requests-limit, -remaining and -reset
//     (RFC 3339); a refusal is a 429 with retry-after and Anthropic's
//     rate_limit_error body.
//   - retry-after: no quota headers; a refusal is a 429 with Retry-After.
//   - none: no quota headers; a refusal is a bare 429.
//
// Package quota reads every dialect back: what it reports as remaining,
// limited and wait is what the mock meant.
//
// # Endpoints
//
// Any path answers an accepted request with 200 and a JSON echo of it:
//
//	{"ok":true,"method":"POST","path":"/v1/x","n":3,"idempotency_key":"k1","body_sha256":"..."}
//
// where n is the request's number among its credential's requests and
// body_sha256 is the hex SHA-256 of its body (at most MaxBody bytes), which
// helps check that a retry sent the same body. Two paths answer otherwise,
// once the limit accepted them:
//
//   - GET /stream?events=N&interval=D: a text/event-stream of N events
//     (default 10) D apart (default 100ms), each flushed as it is written.
//   - /status/{code}: answers that status (200 to 599).
//   - GET and HEAD /resources/{name}: a cacheable resource (see
//     Resources).
//
// Before the limit is consulted, a pending Force, then Config.ErrorRate,
// may answer instead. Accepted requests wait Config.Latency (plus jitter)
// before their answer; a client that leaves meanwhile is logged as 499.
//
// The control endpoints under /_mock/ are never limited or counted:
//
//   - POST /_mock/force with {"credential":"sk-1","status":429,
//     "retry_after_seconds":2,"count":1}: the next count requests of that
//     credential ("" for every one) get that status (see Force).
//   - GET /_mock/stats: Stats as JSON, in total and per cred id.
//   - GET /_mock/log: the request log as JSON lines (see LogEntry).
//   - POST /_mock/reset: clears counters, log and limit state (see Reset).
//   - GET /_mock/tokens?from=T&to=T&cred_id=ID: Server.TokenUse of every
//     credential (or of ID) as JSON, by cred id; from and to are RFC 3339,
//     by default the first request and now.
//   - POST /_mock/resources/{name}[?size=N]: a new version of the
//     resource, padded to N bytes with size; answers the Resource as JSON.
//   - POST /_mock/gate?n=N&wait=M: once M gated streams (default 0) are
//     held, lets every gated stream in flight send N more chunks (default
//     1); answers {"released":K}, K being how many streams it released.
//
// In-process tests can call Force, Stats, Log, Reset, BumpResource,
// SetResourceSize, AwaitGate and ReleaseGate directly.
//
// # Resources
//
// GET /resources/{name} (any name, slashes allowed) answers as GitHub's
// REST API does for a cacheable resource, so that an HTTP cache can be
// tested against it. A resource exists from its first request, at
// version 1; the body names it, its version and who asked:
//
//	{"name":"repo","version":1,"modified":"...","cred_id":"0f2c10bf3d12","accept":"...","padding":""}
//
// where cred_id is the credential's cred id (never the credential) and
// accept the request's Accept header. The answer carries a strong ETag,
// a hash of the name, version, size, cred id and Accept (GitHub's ETags
// vary with Authorization and Accept), so two credentials never share an
// entity tag; Last-Modified, the version's time; Vary: Accept,
// Authorization, X-Api-Key (the headers a credential comes from); and
// Cache-Control as Config.Cache says, by default "private, max-age=60,
// s-maxage=60". HEAD answers the same head without the body.
//
// A conditional GET or HEAD is answered 304 Not Modified, without a body
// but with ETag, Last-Modified, Cache-Control, Vary and the dialect's
// quota headers, when If-None-Match matches the ETag by weak comparison
// ("*" and lists too), or, with no If-None-Match, when Last-Modified is
// not after If-Modified-Since. As GitHub promises, a 304 costs no quota
// under DialectGitHub (Cache.Free304 says otherwise): its quota headers
// report the quota as it was before it. The limit decides first: a
// request it refuses is refused as any other, whatever its validators.
// Forced and random error answers also go before.
//
// POST /_mock/resources/{name} (or BumpResource) makes a new version, so
// the next conditional request gets 200 and the new body; ?size=N (or
// SetResourceSize) also pads the body to N bytes, up to MaxResourceSize.
// Each version's Last-Modified is at least a second after the last one's.
//
// ?chunks=N sends the body in N flushed chunks of equal size (N at most
// the body's length). With &gate=1 as well, the first chunk is sent at
// once and each next one only when a test releases it, so a test of
// coalescing can check that every waiter got chunk k before chunk k+1
// left the mock: read chunk k in every waiter, call AwaitGate(ctx, m) (or
// POST /_mock/gate?wait=m) until the m streams it expects are held, then
// ReleaseGate(1), which says how many streams it released: 1 when m
// waiters share one request. A stream that arrives after a release starts
// with its first chunk only. A client that leaves, mid-stream or during
// Latency, is logged 499 and counted as cancelled.
//
// Stats.Resources counts, per resource and per cred id, the 200s, 304s,
// HEADs and cancelled requests (see ResourceCounts), with the current
// version.
//
// # LLM endpoints
//
// Config.LLM turns on one vendor's LLM endpoint, whose token buckets charge
// each credential as the vendor does:
//
//   - VendorOpenAI: POST /v1/chat/completions. RequestsPerMinute (RPM) and
//     TokensPerMinute (TPM). OpenAI documents that TPM counts the request's
//     max_tokens before it runs; the mock charges input + n × max tokens
//     (max_completion_tokens, else max_tokens, else LLM.DefaultMaxTokens)
//     at arrival and corrects it to input + actual output when the answer
//     ends. OpenAI does not document that correction; the mock makes it so
//     that a pacer that settles can be tested against it.
//   - VendorAnthropic: POST /v1/messages. RequestsPerMinute (RPM),
//     InputTokensPerMinute (ITPM: input_tokens + cache_creation_input_tokens
//     at arrival; cache reads are free, as for Anthropic's current models)
//     and OutputTokensPerMinute (OTPM: max_tokens at arrival, corrected to
//     output_tokens at the end).
//
// Every bucket is continuous: it holds its limit, is full at first and
// refills limit/60 each second. A request is charged in every bucket at
// once or not at all. One that does not fit gets the vendor's 429: its
// error body (OpenAI's rate_limit_exceeded with type "requests" or
// "tokens"; Anthropic's rate_limit_error), retry-after in whole seconds
// until it fits, and the headers below. A request larger than a whole
// bucket gets the 429 without retry-after: it can never pass. Every answer
// of the endpoint carries the vendor's headers, as of the request's arrival
// charge: OpenAI's x-ratelimit-{limit,remaining,reset}-{requests,tokens},
// the reset a duration ("6m0s", "20ms") until the bucket is full again;
// Anthropic's anthropic-ratelimit-{requests,input-tokens,output-tokens,
// tokens}-{limit,remaining,reset}, the reset an RFC 3339 time when it is
// full again, tokens-* being the token bucket with fewer remaining. (The
// mock tells remaining tokens exactly; Anthropic rounds them.) Config.Limit
// does not apply to the endpoint; Force and ErrorRate do. Every other path
// behaves as without LLM.
//
// Tokens are counted with OpenAI's o200k_base encoding, compiled in, for
// both vendors (Anthropic publishes no tokenizer): each text block apart,
// plus 3 per message and 3 to prime the reply (the rule of OpenAI's
// cookbook); blocks that are not text (images, tool calls and results)
// and tool definitions count as their JSON text. The count is
// deterministic; it is the "true" usage that answers report.
//
// Anthropic's prompt cache: a block with cache_control ends a cached
// prefix (in the order tools, system, messages). The first request with a
// prefix writes it (cache_creation_input_tokens); a later one of the same
// credential with an identical prefix within LLM.CacheTTL reads it
// (cache_read_input_tokens) and is not charged for it. There is no minimum
// length. OpenAI's cached_tokens is always 0.
//
// Answers are deterministic text of common words, one o200k_base token
// each. How many output tokens an answer has is its request's
// Mock-Output-Tokens header, else LLM.OutputTokens, else LLM.OutputShare
// of max tokens (default DefaultOutputShare, at least 1); never more than
// max tokens
// (stop reason "max_tokens" or finish reason "length" when it reaches it).
// With "stream": true the answer is the vendor's event stream: for OpenAI,
// data-only chat.completion.chunk events (a role chunk, content deltas, a
// finish_reason chunk, with stream_options.include_usage a last chunk with
// empty choices and the usage, then data: [DONE]); for Anthropic,
// message_start (the input usage), content_block_start, ping,
// content_block_delta text deltas, content_block_stop, message_delta
// (stop_reason and the cumulative usage) and message_stop. Each event is
// flushed as it is written, LLM.ChunkTokens tokens a delta, LLM.ChunkDelay
// apart. A client that leaves mid-stream is charged the output it was sent.
//
// Counts.Tokens tells, per credential and in total, what was charged at
// arrival and in the end per bucket, what each bucket refused, and the
// true usage; each LogEntry.LLM tells the same of one request, and when
// its stream's first event was sent. Server.TokenUse tells what a
// credential's buckets were charged over a span against their limits,
// the used fraction; GET /_mock/tokens?from=T&to=T serves it as JSON.
//
// # Time
//
// Config.Now and Config.Sleep replace the clock and the timer, so a unit
// test can run every limit decision at exact, fixed times without sleeping.
// A Server is safe for concurrent use.
package mockapi
