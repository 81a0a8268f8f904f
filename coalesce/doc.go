// Package coalesce lets identical in-flight HTTP requests share one
// upstream request, streaming its body to every caller as it arrives.
//
// A Group keys flights: the first caller of a key starts fetch in a new
// goroutine; callers of the same key that arrive before fetch returns join
// it. When fetch returns, the key is free again, and each caller still
// waiting gets its own *http.Response (a shallow copy, with its own Header
// and Trailer) whose Body reads the same bytes. Which requests are
// "identical" is the key's business: heed keys GETs by scope, method, URL
// and the headers the response may vary on.
//
// # The chunk log
//
// When two or more callers share a body, one pump goroutine reads the
// upstream body and appends each read to a log of chunks. Every caller's
// Body is a reader with its own offset into the log; Read copies from the
// chunk at that offset, and waits for the pump when it has read them all.
// Each chunk counts the readers that have not passed it, and is dropped
// when that count reaches zero, so the log holds only the bytes between
// the slowest reader still reading and the end. Nothing buffers the whole
// body: a response of gigabytes streams through a log of a few chunks,
// and a stream (server-sent events, a long download) reaches every reader
// as the upstream sends it, not when it ends.
//
// # Back-pressure and MaxLag
//
// The pump reads from the upstream only while some reader wants more: a
// reader that has read every chunk. A lone reader (or readers all alike
// slow) thus gets ordinary back-pressure, as if it read the upstream
// itself. A slow reader among fast ones would hold the fast ones back, or
// make the log grow without bound; instead, when the pump is about to read
// and a reader lags more than Options.MaxLag bytes behind the fastest
// one, that reader is detached: its Read returns an error wrapping
// ErrLagging, and the chunks only it needed are dropped. Memory held per
// flight is thus at most about MaxLag plus one read buffer (32 KiB).
//
// # Cancellation
//
// fetch's context carries the first caller's values but not its
// cancellation (context.WithoutCancel): one caller leaving must not fail
// the others. It is cancelled when every caller of the flight has gone: a
// caller goes when its ctx ends before the response (Do returns
// context.Cause(ctx) to it), or, after the response, when it closes its
// body, its body hits an error or is detached, or its ctx ends (its Read
// then returns context.Cause(ctx), as a net/http body does when its
// request's context ends). When the last caller goes, the upstream body is
// closed and the pump exits; an idle Group holds no goroutine.
//
// A caller that is alone when fetch returns gets fetch's response itself,
// with no pump and no copy: its Body is wrapped only so that closing it
// (or the end of its ctx) cancels fetch's context.
//
// # Limits
//
// The pump reads with fetch's context: an upstream body whose Read ignores
// the cancellation of that context keeps the pump until it returns. A
// response whose body is not an ordinary stream (a 101 Switching
// Protocols connection) must not be coalesced: its Body loses its other
// methods. If fetch panics, the callers that joined its flight get an
// error and the key is freed; the panic itself goes on in fetch's
// goroutine, which is the first caller's when its ctx can never end (a
// caller that can never leave early runs fetch itself) and a goroutine of
// its own otherwise. A Group is safe for concurrent use.
package coalesce
