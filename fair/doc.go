// Package fair orders the requests waiting for one quota so that it is
// shared as configured: priority classes get capacity in proportion to
// their shares, and within a class every flow (a tenant, a credential, a
// customer header) gets an equal share, each request counted at its cost
// (a request of 1,800 tokens counts 1,800 against its flow).
//
// It is pure: a Scheduler holds queues and virtual times, and is told
// what arrives (Push), what leaves without being served (Remove) and asks
// who goes next (Pop). Waiting, clocks and stores are its caller's.
//
// # The discipline: start-time fair queuing, two levels
//
// The discipline is start-time fair queuing (SFQ; Goyal, Vin and Cheng,
// 1996), applied twice: once among the classes of a Scheduler, weighted
// by their shares, and once among the flows of each class, weighted
// equally. Every active queue carries a start tag in virtual time: when a
// queue becomes active its tag is max(V, F), V being the level's virtual
// time (the start tag of what was served last) and F the finish tag of
// the queue's last served request; serving a request of cost c from a
// queue of weight w moves the queue's tag to S + c/w. Pop serves, at each
// level, the queue with the smallest start tag.
//
// Why SFQ rather than deficit round robin: its tags need no quantum tuned
// to the largest cost (token costs span 1 to 10^6), it serves one request
// at a time without rounds, and a flow that was idle does not bank credit
// (its tag restarts at V).
//
// Why no shuffle sharding (Kubernetes' API Priority and Fairness hashes
// flows onto a fixed number of queues because it keeps a queue per
// queue slot): a Scheduler keeps a queue only for a flow with requests
// waiting, plus the tags of flows recently served, so every tenant gets
// a queue of its own and none shares another's fate; memory is bounded
// by MaxQueue and MaxFlows instead, and idle flows whose tags give them
// nothing are forgotten.
//
// # Bounds
//
//   - Fairness (SFQ's theorem): over any interval in which two queues f and
//     g of one level are both backlogged, the work served, divided by their
//     weights, differs by at most cmax_f/w_f + cmax_g/w_g, where cmax is
//     the largest cost of a request of that queue. With equal-cost
//     requests, two tenants of a class never differ by more than one
//     request each (two in all); classes of shares 3 and 1 never drift from
//     3:1 by more than one request of each.
//   - Work conservation: Pop returns a request whenever one waits; a class
//     or flow that wants nothing leaves its share to those that do.
//   - No starvation: a queue's tag grows only when it is served, and every
//     other active queue's tag grows when it is served, so a waiting
//     request is served after at most the sum over the other active queues
//     of their weighted work up to its tag.
//   - Memory: MaxQueue bounds each flow's queue and MaxFlows the flows; a
//     request beyond them is refused at once (ErrFull): the youngest is
//     refused first, as Kubernetes' API Priority and Fairness does, and a
//     flow that floods its own queue only delays itself.
//
// # Fleets
//
// When many processes share one quota through a shared store, each keeps
// its own Scheduler (its waiting room), whose first request, the head,
// asks the store; the store arbitrates between the heads with a Board,
// the same two-level tags kept once for the whole fleet. The store
// admits a head when no contender (a head refused recently, which holds a
// place until its refusal's wait plus a grace) has a smaller class start
// tag, nor, in its class, a smaller flow start tag; ties go to the head
// asking. An admission moves the fleet's tags exactly as Pop moves a
// Scheduler's, so tags are exact across processes: a flow served by three
// processes has one tag, and gets one flow's share, not three. How far
// the fleet may drift from one SFQ over every waiting request:
//
//   - Only heads are seen: each process's own order picks its head, and
//     a request behind it waits for it. Between flows that each have a
//     head holding a place throughout an interval, SFQ's fairness bound
//     above holds as stated (one request of each, weighted).
//   - A head is seen from its first refusal on: one that asks while the
//     quota has room is admitted at once (the store is work-conserving),
//     so a head that has not asked yet loses at most the admissions made
//     before its first ask, one round trip.
//   - A contender that vanished (its process died, its request gave up)
//     blocks the others at most until its place ends: its last refusal's
//     wait plus the store's grace (store.TurnGrace). Its refusal's wait
//     includes up to one more interval of the quota (at most the grace),
//     so that it asks back once the head it yields to has been admitted.
//   - Memory: when an admission leaves no contender of its class, the
//     class is not backlogged, and, as SFQ does when its server idles, it
//     forgets its flows' tags (each flow's next request starts at the
//     class's virtual time), so a fleet of unbounded tenants keeps few
//     tags. A backlogged class forgets them when it keeps more than
//     MaxClassFlows: each flow then gains at most what it was ahead of
//     the class's virtual time. MaxContenders bounds the places; a head
//     of a new member beyond them is refused without one.
package fair
