package heed

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/scope"
)

// scopeState is everything this process learns about one scope of an
// upstream (a credential, whatever the tenant: the quota is the
// credential's): the requests it let go and those answered, whether a
// probe is out learning the quota, until when a learned pace holds, and,
// for snapshots, its waiting calls, its last call and the quotas of its
// last answer with any. The atomic fields may be read and written by any
// goroutine; mu guards quotas and quotasSeen.
type scopeState struct {
	// key is the scope's store key (scope.Key.String of the upstream and
	// fingerprint), short its name for display; both are set when the
	// state is made, then only read.
	key       string
	short     string
	anonymous bool

	admitted, answered atomic.Int64
	// knownUntil is until when this process knows the scope's quota: Unix
	// microseconds until which a learned pace holds, 0 before any answer,
	// noQuotaHeaders when answers describe no quota.
	knownUntil atomic.Int64
	probe      atomic.Bool // a request is out to learn the quota

	waiting  atomic.Int64
	lastSeen atomic.Int64 // Unix µs of the last call
	// learned is what the scope's answers taught of how its quotas come
	// back.
	learned learners
	// room is the scope's waiting room, for an upstream with fair shares
	// (nil otherwise).
	room *room

	// keptAt is when quotas were last kept (Unix µs), read without mu so
	// that a busy scope keeps them at most every keepQuotasEvery.
	keptAt     atomic.Int64
	mu         sync.Mutex // guards quotas and quotasSeen
	quotas     []quota.Quota
	quotasSeen time.Time
}

// keepQuotasEvery spaces the quotas a scope keeps for snapshots: a
// dashboard polls every second or so, a busy scope answers thousands of
// times in that time.
const keepQuotasEvery = 50 * time.Millisecond

// noQuotaHeaders marks a scope whose answers carry no quota headers: there
// is nothing to learn, so nothing to wait for.
const noQuotaHeaders = -1

// scopes holds an upstream's scope states by fingerprint. It is safe for
// concurrent use; lookups of known scopes take a read lock and allocate
// nothing.
type scopes struct {
	upstream string
	fair     *fairShares
	mu       sync.RWMutex // guards m
	m        map[scope.Sum]*scopeState
}

func newScopes(upstream string, fs *fairShares) *scopes {
	return &scopes{upstream: upstream, fair: fs, m: make(map[scope.Sum]*scopeState)}
}

// get returns the state of the scope whose fingerprint is sum (the zero
// Sum: the anonymous scope), making it if it is new, and notes a call of
// it at now.
func (s *scopes) get(sum scope.Sum, now time.Time) *scopeState {
	t := now.UnixMicro()
	s.mu.RLock()
	st := s.m[sum]
	if st != nil && st.lastSeen.Load() != t { // under the lock: sweep sees it
		st.lastSeen.Store(t)
	}
	s.mu.RUnlock()
	if st == nil {
		st = s.make(sum, t)
	}
	return st
}

// make adds the state of a new scope seen at t (Unix µs), unless another
// goroutine just did.
func (s *scopes) make(sum scope.Sum, t int64) *scopeState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.m[sum]; st != nil {
		st.lastSeen.Store(t)
		return st
	}
	k := scope.Key{Upstream: s.upstream, Fingerprint: sum.String()}
	st := &scopeState{key: k.String(), short: k.Short(), anonymous: k.Anonymous()}
	if s.fair != nil {
		st.room = newRoom(s.fair)
	}
	st.lastSeen.Store(t)
	s.m[sum] = st
	return st
}

// sweep forgets the scopes idle at now: no request of theirs in flight,
// waiting or out learning the quota, and none seen for after. It returns
// how many it forgot. A call that found a state just before holds on to
// it until it ends; the next call makes a new one.
func (s *scopes) sweep(now time.Time, after time.Duration) int {
	cutoff := now.Add(-after).UnixMicro()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.m)
	maps.DeleteFunc(s.m, func(_ scope.Sum, st *scopeState) bool { return st.idle(cutoff) })
	if n >= shrinkFrom && len(s.m) < n/4 { // a map never shrinks: give its room back
		s.m = resized(s.m)
	}
	return n - len(s.m)
}

// shrinkFrom is the size from which a sweep that leaves under a quarter of
// a map copies it into a smaller one.
const shrinkFrom = 1024

// idle reports whether nothing of the scope is going on and its last
// request was before cutoff (Unix µs).
func (st *scopeState) idle(cutoff int64) bool {
	return st.lastSeen.Load() < cutoff && st.inFlight() == 0 && st.waiting.Load() == 0 && !st.probe.Load()
}

// each calls f for every scope state.
func (s *scopes) each(f func(*scopeState)) {
	s.mu.RLock()
	all := make([]*scopeState, 0, len(s.m))
	for _, st := range s.m {
		all = append(all, st)
	}
	s.mu.RUnlock()
	for _, st := range all {
		f(st)
	}
}

// inFlight is how many of the scope's requests were let go and have not
// been answered.
func (st *scopeState) inFlight() int64 { return max(st.admitted.Load()-st.answered.Load(), 0) }

// keepQuotas remembers the quotas an answer reported at now, for
// snapshots, unless it kept others less than keepQuotasEvery ago and the
// answer is no news (news: it refused the request or spent the quota). It
// keeps the slice, which the signal does not change again.
func (st *scopeState) keepQuotas(qs []quota.Quota, now time.Time, news bool) {
	at := now.UnixMicro()
	if len(qs) == 0 || !news && at-st.keptAt.Load() < keepQuotasEvery.Microseconds() {
		return
	}
	st.keptAt.Store(at)
	st.mu.Lock()
	st.quotas, st.quotasSeen = qs, now
	st.mu.Unlock()
}

// keptQuotas returns the quotas last kept, as a snapshot shows them.
func (st *scopeState) keptQuotas() []QuotaState {
	st.mu.Lock()
	qs, seen := st.quotas, st.quotasSeen
	st.mu.Unlock()
	if len(qs) == 0 {
		return nil
	}
	out := make([]QuotaState, 0, len(qs))
	for _, q := range qs {
		s := QuotaState{Name: q.Name, Reset: q.Reset, Seen: seen}
		if q.HasLimit {
			s.Limit = &q.Limit
		}
		if q.HasRemaining {
			s.Remaining = &q.Remaining
		}
		out = append(out, s)
	}
	return out
}

// known reports whether this process knows the scope's quota at now, so
// that a learning call may go on to the store without the probe: while
// the scope has no quota
// knowledge (before its first answer, and again when the last learned pace
// has run out), one request at a time goes first to learn the quota,
// instead of many spending it blind.
func (st *scopeState) known(now time.Time) bool {
	switch known := st.knownUntil.Load(); {
	case known == noQuotaHeaders, known > 0 && now.UnixMicro() < known:
		return true
	}
	return false
}

// takeProbe takes the scope's probe, and reports whether it got it.
func (st *scopeState) takeProbe() bool { return st.probe.CompareAndSwap(false, true) }

// dropProbe gives the probe back.
func (st *scopeState) dropProbe() { st.probe.Store(false) }

// uncounted bounds from above how many of the scope's requests this
// process let go that the server may not have counted in the answer of
// the request let go as the seq-th: those let go after it, plus those
// still unanswered (some are counted twice, which errs on the safe side).
func (st *scopeState) uncounted(seq int64) int64 {
	admitted := st.admitted.Load()
	return max(admitted-seq, 0) + max(admitted-st.answered.Load(), 0)
}

// resized copies m into a map made for its size (maps.Clone keeps the
// room of the original).
func resized[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
