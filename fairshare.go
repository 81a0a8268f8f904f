package heed

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heedhq/heed/fair"
	"github.com/heedhq/heed/store"
)

// fairShares is an upstream's FairnessPolicy compiled for use: its
// classes for package fair, the header that names a flow, and this
// process's name among the waiting rooms of the fleet (store.Turn.Member).
type fairShares struct {
	policy  FairnessPolicy
	classes []fair.Class
	header  string
	member  string
	onFail  bool // on_limit fail: a cooldown refuses every waiter at once
}

// newFairShares compiles an upstream's fairness policy (with its defaults
// filled in); nil when it has none.
func newFairShares(u Upstream) *fairShares {
	if u.Fairness == nil {
		return nil
	}
	p := *u.Fairness
	fs := &fairShares{policy: p, header: p.header(), member: randomMember(), onFail: u.OnLimit == OnLimitFail}
	for _, c := range p.Priorities {
		fs.classes = append(fs.classes, fair.Class{Name: c.Name, Share: c.Share})
	}
	return fs
}

// randomMember names this process's waiting rooms among the fleet's.
func randomMember() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b)
}

// classOf returns the class a request names: default_priority for "", the
// class of that name, or for "1" to "4" (a job's priority) when no class
// has that name, the priority-th class (the last for the rest).
func (fs *fairShares) classOf(upstream, name string) (Priority, error) {
	if name == "" {
		name = fs.policy.DefaultPriority
	}
	if c, ok := fs.policy.class(name); ok {
		return c, nil
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 1 && n <= 4 && len(name) == 1 {
		return fs.policy.Priorities[min(n, len(fs.policy.Priorities))-1], nil
	}
	names := make([]string, len(fs.policy.Priorities))
	for i, c := range fs.policy.Priorities {
		names[i] = c.Name
	}
	return Priority{}, fmt.Errorf("%w %q: upstream %q has %s", ErrUnknownPriority, truncate(name, maxClassLen), upstream, strings.Join(names, ", "))
}

// maxFlowName is the longest flow name kept as it is; a longer one (a
// header value) is replaced by a digest of it.
const maxFlowName = 64

// flow returns who the call counts against within its class.
func (c *call) flow(fs *fairShares) string {
	var f string
	switch {
	case fs.header != "":
		f = c.req.Header.Get(fs.header)
	case fs.policy.By == FairByCredential:
		f = c.sc.short
	default:
		f = c.tenant
	}
	if len(f) > maxFlowName {
		sum := sha256.Sum256([]byte(f))
		f = "#" + hex.EncodeToString(sum[:12])
	}
	return f
}

// room is the waiting room of one scope of an upstream with fair shares,
// in this process. One request at a time, its head, asks the store (with
// its store.Turn, so that the store arbitrates between the rooms of a
// fleet); the others wait in a fair.Scheduler, which picks the next head
// when the head leaves. A request that finds the room empty becomes its
// head at once: an uncontended scope costs no queuing.
type room struct {
	mu    sync.Mutex
	sched *fair.Scheduler
	head  *waiter
	// queued are the waiters in sched.
	queued map[*waiter]struct{}
	// until is when the store last said the scope may have room again
	// (the head's last refusal, last), the zero Time once a head was let
	// go; kickFrom is no later than the earliest deadline of a queued
	// waiter not yet woken for a refusal (zero: unknown).
	until    time.Time
	last     store.Grant
	kickFrom time.Time
	// lastAdmit and spacing (a moving average of the time between
	// admissions) estimate a refused waiter's Retry-After.
	lastAdmit time.Time
	spacing   time.Duration
}

// waiter is one request in a room.
type waiter struct {
	req      fair.Request
	deadline time.Time
	// wake, set while the waiter sleeps, ends its sleep: it became the
	// head, or a refusal may make it late. Guarded by the room's mu.
	wake context.CancelFunc
}

func newRoom(fs *fairShares) *room {
	s, err := fair.New(fs.classes, fair.Options{MaxQueue: fs.policy.MaxQueue})
	if err != nil { // Validate checked the classes
		panic("heed: " + err.Error())
	}
	return &room{sched: s, queued: make(map[*waiter]struct{})}
}

// errRoomFull marks a request refused because its flow's queue is full.
var errRoomFull = errors.New("queue full")

// enter lets w in at now: it reports whether w is the head (the room was
// empty), or an error when w's flow has a full queue.
func (r *room) enter(w *waiter) (head bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.head == nil && r.sched.Len() == 0 {
		r.head = w
		return true, nil
	}
	w.req.Value = w
	if err := r.sched.Push(&w.req); err != nil {
		return false, errRoomFull
	}
	r.queued[w] = struct{}{}
	if r.kickFrom.IsZero() || w.deadline.Before(r.kickFrom) {
		r.kickFrom = w.deadline
	}
	return false, nil
}

// handOn makes the next waiter the head once w, the head, leaves;
// admitted says whether w was let go at now.
func (r *room) handOn(w *waiter, admitted bool, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handOnLocked(w, admitted, now)
}

// handOnLocked is handOn with r.mu held.
func (r *room) handOnLocked(w *waiter, admitted bool, now time.Time) {
	if r.head != w {
		return
	}
	if admitted {
		if !r.lastAdmit.IsZero() {
			gap := now.Sub(r.lastAdmit)
			r.spacing = (7*r.spacing + gap) / 8
		}
		r.lastAdmit, r.until = now, time.Time{}
	}
	r.head = nil
	if next := r.sched.Pop(); next != nil {
		nw := next.Value.(*waiter)
		delete(r.queued, nw)
		r.head = nw
		if nw.wake != nil {
			nw.wake()
		}
	}
}

// leave takes w, who gives up, out of the room, handing the head on when
// it was the head.
func (r *room) leave(w *waiter, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.head == w {
		r.handOnLocked(w, false, now)
		return
	}
	if _, ok := r.queued[w]; ok {
		r.sched.Remove(&w.req)
		delete(r.queued, w)
	}
}

// refused records the head's refusal g at now, and wakes the waiters it
// may make late (their deadline is before the room has room again, or a
// cooldown refuses all when on_limit is fail) so that they answer at once
// rather than at their deadline.
func (r *room) refused(g store.Grant, now time.Time, onFail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.until, r.last = now.Add(g.Wait), g
	all := onFail && g.Reason == store.ReasonCooldown
	if !all && !r.kickFrom.IsZero() && !r.until.After(r.kickFrom) {
		return // no queued waiter's deadline is before until
	}
	var earliest time.Time
	for w := range r.queued {
		switch {
		case all || w.deadline.Before(r.until):
			if w.wake != nil {
				w.wake()
			}
		case earliest.IsZero() || w.deadline.Before(earliest):
			earliest = w.deadline
		}
	}
	r.kickFrom = earliest
}

// lastRefusal returns the head's last refusal as it stands at now, and
// whether it still stands.
func (r *room) lastRefusal(now time.Time) (store.Grant, bool) {
	if !r.until.After(now) {
		return store.Grant{}, false
	}
	g := r.last
	g.Wait = r.until.Sub(now)
	return g, true
}

// retryAfter estimates, at now, how long until a waiter refused for its
// deadline would have had its turn: the room's own refusal, or the
// waiters ahead at the pace admissions have gone.
func (r *room) retryAfter(now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := time.Duration(r.sched.Len()+1) * r.spacing
	if g, ok := r.lastRefusal(now); ok {
		d = max(d, g.Wait)
	}
	return max(d, minRetryAfter)
}

// minRetryAfter is the least Retry-After of a request refused for its
// turn: a caller that asks again at once only joins the queue again.
const minRetryAfter = 100 * time.Millisecond

// admitFair is admit for an upstream with fair shares: the request waits
// in its scope's room for its turn to ask the store, then asks as the
// room's head.
func (c *call) admitFair(req store.Request, deadline time.Time) (store.Lease, *synthetic, error) {
	fs, clock := c.u.fair, c.u.t.clock
	class, err := fs.classOf(c.u.cfg.Name, c.opts.priority)
	if err != nil {
		return store.Lease{}, nil, err
	}
	cost := int64(1)
	if c.est.priced {
		cost = max(c.est.input+c.est.output, 1)
	}
	// The waiter and the turn live in the call (recycled), not on the heap.
	c.waiter = waiter{req: fair.Request{Class: class.Name, Flow: c.flow(fs), Cost: cost}, deadline: deadline}
	c.turn = store.Turn{Member: fs.member, Class: class.Name, Share: class.Share, Flow: c.waiter.req.Flow, Cost: cost}
	w := &c.waiter
	req.Turn = &c.turn
	r, entered := c.sc.room, clock.Now()
	report := func(result string) { c.reportFair(result, entered) }
	head, err := r.enter(w)
	if err != nil {
		report(FairRefused)
		return store.Lease{}, c.synthetic(refusalLimit, 429, r.retryAfter(entered), nil), nil
	}
	if !head {
		if syn, err := c.awaitTurn(r, w); err != nil || syn != nil {
			if syn != nil {
				report(FairRefused)
			}
			return store.Lease{}, syn, err
		}
	}
	lease, syn, err := c.ask(req, deadline, r)
	r.handOn(w, err == nil && syn == nil, clock.Now())
	switch {
	case syn != nil:
		report(FairRefused)
	case err == nil:
		report(FairAdmitted)
	}
	return lease, syn, err
}

// reportFair tells Metrics.Fair how the call's turn ended.
func (c *call) reportFair(result string, entered time.Time) {
	r := c.waiter.req
	c.u.t.metrics.Fair(c.u.cfg.Name, FairEvent{Class: r.Class, Result: result, Waited: c.u.t.clock.Now().Sub(entered), Cost: r.Cost})
}

// awaitTurn waits until w is its room's head. It returns a synthetic
// answer instead when w's turn cannot come before its deadline (the head
// was told to wait past it, or the deadline came), and the context's
// error when it ends; in both cases w has left the room.
func (c *call) awaitTurn(r *room, w *waiter) (*synthetic, error) {
	clock := c.u.t.clock
	for {
		now := clock.Now()
		r.mu.Lock()
		if r.head == w {
			w.wake = nil
			r.mu.Unlock()
			return nil, nil
		}
		if g, ok := r.lastRefusal(now); ok {
			if syn := c.refusal(g, w.deadline); syn != nil {
				r.mu.Unlock()
				r.leave(w, now)
				return syn, nil
			}
		}
		if !now.Before(w.deadline) {
			r.mu.Unlock()
			r.leave(w, now) // hands the turn on if it came just now
			return c.synthetic(refusalLimit, 429, r.retryAfter(now), nil), nil
		}
		ctx, wake := context.WithCancel(c.ctx)
		w.wake = wake
		r.mu.Unlock()
		_ = c.sleepIn(ctx, waitLimit, w.deadline.Sub(now)) // woken, the deadline, or the request's end: the loop looks
		wake()
		if c.ctx.Err() != nil {
			r.leave(w, clock.Now())
			return nil, c.ctx.Err()
		}
	}
}

// fairState returns the upstream's FairState at this moment, nil without
// fair shares.
func (u *upstream) fairState() *FairState {
	fs := u.fair
	if fs == nil {
		return nil
	}
	st := &FairState{By: fs.policy.By}
	waiting := map[string]int{}
	type key struct{ class, flow string }
	flows := map[key]int{}
	u.scopes.each(func(sc *scopeState) {
		if sc.room == nil {
			return
		}
		sc.room.mu.Lock()
		sc.room.sched.Waiting(func(class, flow string, n int) {
			waiting[class] += n
			flows[key{class, flow}] += n
		})
		if h := sc.room.head; h != nil { // it waits too, asking the store
			waiting[h.req.Class]++
			flows[key{h.req.Class, h.req.Flow}]++
		}
		sc.room.mu.Unlock()
	})
	for _, c := range fs.policy.Priorities {
		st.Classes = append(st.Classes, FairClassState{Name: c.Name, Share: c.Share, Waiting: waiting[c.Name]})
	}
	for k, n := range flows {
		st.TopWaiting = append(st.TopWaiting, FairFlowState{Flow: k.flow, Class: k.class, Waiting: n})
	}
	slices.SortFunc(st.TopWaiting, func(a, b FairFlowState) int {
		return cmp.Or(cmp.Compare(b.Waiting, a.Waiting), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Flow, b.Flow))
	})
	if len(st.TopWaiting) > MaxTopWaiting {
		st.TopWaiting = st.TopWaiting[:MaxTopWaiting]
	}
	return st
}
