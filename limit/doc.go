// Package limit holds heed's pure rate-limit arithmetic: the GCRA that paces
// requests under a configured limit, the spread that paces the remainder of
// an observed quota until its reset, and the backoff schedules of retries.
//
// Nothing here reads a clock or does I/O. Times are integer microseconds
// since the Unix epoch and durations integer microseconds, exactly as the
// stores keep them (the memory store in Go, the Redis store in Lua), so one
// table of steps tests every implementation of the same arithmetic.
//
// # What a limit means
//
// A limit of N requests per P means what a reader of an API's documentation
// expects: no window of length P, wherever it starts, sees more than N
// requests. GCRA with an emission interval of P/N and a burst of 1 spaces
// requests at least P/N apart, so any half-open window of length P holds at
// most N of them; this is safe against fixed-window, sliding-window and
// token-bucket servers alike. A burst of B (opt-in) lets B requests through
// back to back after an idle period; any window of length P then holds at
// most N+B-1. A headroom h (e.g. 0.02) stretches the interval to
// P/(N(1-h)), leaving room for the jitter of arrival times at the server.
package limit
