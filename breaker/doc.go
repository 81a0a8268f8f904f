// Package breaker is heed's circuit breaker: after a run of consecutive
// failures it opens and refuses every attempt for a while, then lets a few
// probes through (half-open) and closes when they succeed.
//
// Time comes from an injected clock (Options.Now), so every state change is
// a table test; while closed, Allow reads no clock and takes no lock, so
// that a healthy upstream costs nothing.
//
// gobreaker was the first choice; it reads the wall clock twice per request
// and cannot be driven by an injected clock, which made it both the largest
// fixed cost on heed's request path and untestable with a fake clock.
package breaker
