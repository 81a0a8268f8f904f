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
//
// In-process tests can call Force, Stats, Log and Reset directly.
//
// # Time
//
// Config.Now and Config.Sleep replace the clock and the timer, so a unit
// test can run every limit decision at exact, fixed times without sleeping.
// A Server is safe for concurrent use.
package mockapi
