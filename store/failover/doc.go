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
// After a failure the shared store is tried again by one operation per
// Options.RetryEvery while the others go on through the fallback, so a
// black-holed Redis costs one timeout per second, not one per request;
// the first success brings every operation back to the shared store. A
// concurrency lease is given back to the store it came from.
//
// What the fallback learned is not yet written back to the shared store
// when it returns, and a cooldown known only to the shared store is not
// kept through an outage: see the open issues.
package failover
