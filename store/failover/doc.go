// Package failover keeps a program working when its shared store (Redis)
// is out of reach. Its Store wraps the shared one and is a store.Store
// itself, so its user sees one store and never branches on an outage.
//
// While the shared store answers, every operation goes to it. When one
// fails, the Store either fails operations at once (Options.Closed, with
// an error wrapping store.ErrUnavailable) or answers from a fallback in
// this process's memory (the default), enforcing this process's share of
// every limit and pace: the limit divided by the number of live processes
// of its group last counted in the shared store (heartbeats, see
// store.Presence), so that a fleet of N does not send N times the limit.
// Cooldowns and paces recorded meanwhile go to the fallback.
//
// Cooldowns outlive an outage both ways. The fallback keeps a copy of
// every cooldown in force the shared store tells of (an admission refused
// for one, a cooldown recorded or read), so that a cooldown another
// process set still binds this one when the shared store goes away. And
// as soon as the shared store answers again (the Store tries it every
// RetryEvery, requests or not), and before traffic shares again, every
// cooldown in force the fallback holds is written back to it, the later
// end winning there, so that a shared store that restarted empty, or
// never heard of a cooldown recorded during the outage, binds every
// process again. (A shared store that restarts between two operations of this
// process, so that no operation fails, is not noticed.)
//
// A cooldown is written to the shared store even within an outage's retry
// window (a connection cut under some other operation must not keep a
// fresh 429 from the rest of the fleet for a second), unless the last
// failure was a timeout, and a write that meets a cut connection is tried
// once more at once; such a write that succeeds ends the outage.
//
// After a failure the shared store is tried again by one operation per
// Options.RetryEvery while the others go on through the fallback, so a
// black-holed Redis costs one timeout per second, not one per request;
// the first success brings every operation back to the shared store. A
// concurrency lease is given back to the store it came from.
//
// Paces learned during an outage are not written back: the next answers
// teach them again.
//
// A request's Turn (store.Turn) goes to whichever store answers: while
// the shared store does, the fleet's waiting rooms take turns there; the
// fallback arbitrates only between this process's own, and its tags
// start afresh. An Acquire the shared store refuses as invalid
// (store.ErrInvalid) is the request's fault, not an outage: its error is
// returned and the fallback is not asked.
package failover
