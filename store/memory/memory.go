// Package memory is heed's embedded Store: state in this process's memory,
// shared by every goroutine that uses the same Store. It is the default when
// one process is all there is; fleets use the Redis store.
//
// A request with a Turn takes its turn on the scope's fair.Board, after
// the cooldown and before the limits (see store.Turn); the board is kept
// with the scope's state, and forgotten with it once it has had no
// contender for fair.BoardIdle.
package memory

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/heedhq/heed/fair"
	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Now is the clock; nil means time.Now. Tests pass a fake clock.
	Now func() time.Time
}

// sweepEvery is how many Acquires pass between sweeps of idle scopes.
const sweepEvery = 4096

// Store is the in-memory Store. It is safe for concurrent use.
type Store struct {
	now func() time.Time

	mu        sync.Mutex // guards the fields below
	scopes    map[string]*scopeState
	nextLease uint64
	acquires  uint64
	closed    bool
}

var _ store.Store = (*Store)(nil)

// scopeState is one scope's state. Times are Unix microseconds.
type scopeState struct {
	tats     map[string]int64 // limit key -> TAT
	paces    map[string]*pace // pace key -> pace
	leases   map[uint64]int64 // lease id -> expiry
	cooldown store.Cooldown   // zero Until when none
	until    int64            // cooldown.Until in microseconds
	board    *fair.Board      // the turns of the scope's waiting rooms; nil until a Turn asks
	lastUsed int64
}

type pace struct {
	gcra    limit.GCRA
	until   int64
	tat     int64
	unit    store.Unit
	learned store.Learned
}

// New returns an empty Store.
func New(opts Options) *Store {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, scopes: make(map[string]*scopeState)}
}

func (s *Store) micros() int64 { return s.now().UnixMicro() }

// scope returns the scope's state, creating it. The caller holds s.mu.
func (s *Store) scope(key string) *scopeState {
	st := s.scopes[key]
	if st == nil {
		st = &scopeState{tats: make(map[string]int64)}
		s.scopes[key] = st
	}
	return st
}

// Acquire implements store.Store.
func (s *Store) Acquire(_ context.Context, req store.Request) (store.Grant, error) {
	if req.Scope == "" {
		return store.Grant{}, fmt.Errorf("%w: empty scope", store.ErrInvalid)
	}
	turn, err := boardTurn(req.Turn)
	if err != nil {
		return store.Grant{}, err
	}
	now := s.micros()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.Grant{}, store.ErrClosed
	}
	s.acquires++
	if s.acquires%sweepEvery == 0 {
		s.sweep(now)
	}
	st := s.scope(req.Scope)
	st.lastUsed = now
	g := st.acquire(req, turn, now)
	if g.Allowed && req.Concurrency > 0 {
		s.nextLease++
		g.Lease = store.Lease{ID: s.nextLease}
		st.leases[g.Lease.ID] = now + limit.Micros(leaseTTL(req))
	}
	return g, nil
}

// acquire is Acquire on one scope's state, but for taking the lease. A
// turn (the zero Turn without one) is decided after the cooldown, before the limits.
func (st *scopeState) acquire(req store.Request, turn fair.Turn, now int64) store.Grant {
	if st.until > now {
		return store.Grant{Reason: store.ReasonCooldown, Wait: limit.Duration(st.until - now), Cooldown: cloneCooldown(st.cooldown)}
	}
	var place fair.Place
	asks := turn.Member != ""
	if asks {
		if st.board == nil {
			st.board = new(fair.Board)
		}
		place, _ = st.board.Place(turn, now) // turn is valid: boardTurn checked it
	}
	g, ok := st.checkLimits(req, now)
	switch {
	case asks && !place.InTurn:
		g = store.Grant{Reason: store.ReasonTurn, Wait: turnWait(g, st.turnSpacing(req, now))}
	case ok && req.Concurrency > 0 && st.inFlight(now) >= req.Concurrency:
		g = store.Grant{Reason: store.ReasonConcurrency, Wait: store.ConcurrencyPoll}
	case ok:
		st.commit(req, now)
		if asks {
			st.board.Admit(place)
		}
		return store.Grant{Allowed: true}
	}
	if asks {
		st.board.Contend(place, now+limit.Micros(g.Wait+store.TurnGrace))
	}
	return g
}

// boardTurn checks t and returns it as the Board takes it; the zero Turn
// (no Member) for none.
func boardTurn(t *store.Turn) (fair.Turn, error) {
	if t == nil {
		return fair.Turn{}, nil
	}
	ft := fair.Turn{Member: t.Member, Class: t.Class, Share: t.Share, Flow: t.Flow, Cost: t.Cost}
	if err := ft.Validate(); err != nil {
		return fair.Turn{}, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	return ft, nil
}

// turnWait is the Wait of a refusal for the turn: the wait of the limits
// (0 when they have room), plus spacing, the time one admission takes of
// the slowest limit or pace, at most store.TurnGrace: by then the head it
// yields to has gone. At least a millisecond.
func turnWait(limits store.Grant, spacing int64) time.Duration {
	w := limits.Wait + min(limit.Duration(spacing), store.TurnGrace)
	return max(w, time.Millisecond)
}

// turnSpacing returns the largest, over the limits of req and the scope's
// paces in force, of interval times req's charge (capped at the burst, as
// the GCRA charges), in µs.
func (st *scopeState) turnSpacing(req store.Request, now int64) int64 {
	var most int64
	for _, l := range req.Limits {
		most = max(most, spacing(l.GCRA, req.Cost.Charge(l.Unit)))
	}
	for _, p := range st.paces {
		if p.until > now {
			most = max(most, spacing(p.gcra, req.Cost.Charge(p.unit)))
		}
	}
	return most
}

// spacing is how long g takes to restore charge units (at most its burst).
func spacing(g limit.GCRA, charge int64) int64 {
	if g.Interval <= 0 {
		return 0
	}
	return g.Interval * min(charge, g.Burst())
}

func leaseTTL(req store.Request) time.Duration {
	if req.LeaseTTL > 0 {
		return req.LeaseTTL
	}
	return store.DefaultLeaseTTL
}

// checkLimits asks every limit and pace without changing any; it returns
// the refusal with the longest wait.
func (st *scopeState) checkLimits(req store.Request, now int64) (store.Grant, bool) {
	var refusal store.Grant
	for _, l := range req.Limits {
		if d := l.GCRA.Decide(st.tats[l.Key], now, req.Cost.Charge(l.Unit)); !d.Allowed {
			refusal = longer(refusal, l.Key, d.Wait)
		}
	}
	for key, p := range st.paces {
		if p.until <= now {
			delete(st.paces, key)
			continue
		}
		if d := p.gcra.Decide(p.tat, now, req.Cost.Charge(p.unit)); !d.Allowed {
			refusal = longer(refusal, key, d.Wait)
		}
	}
	return refusal, refusal.Reason == store.ReasonNone
}

// longer returns the refusal with the longer wait.
func longer(g store.Grant, key string, wait int64) store.Grant {
	if d := limit.Duration(wait); g.Reason == store.ReasonNone || d > g.Wait {
		return store.Grant{Reason: store.ReasonLimit, Wait: d, Limit: key}
	}
	return g
}

// commit charges every limit and pace.
func (st *scopeState) commit(req store.Request, now int64) {
	for _, l := range req.Limits {
		st.tats[l.Key] = l.GCRA.Decide(st.tats[l.Key], now, req.Cost.Charge(l.Unit)).TAT
	}
	for _, p := range st.paces {
		p.tat = p.gcra.Decide(p.tat, now, req.Cost.Charge(p.unit)).TAT
	}
}

// inFlight counts live leases, dropping expired ones.
func (st *scopeState) inFlight(now int64) int {
	if st.leases == nil {
		st.leases = make(map[uint64]int64)
	}
	maps.DeleteFunc(st.leases, func(_ uint64, exp int64) bool { return exp <= now })
	return len(st.leases)
}

// Release implements store.Store.
func (s *Store) Release(_ context.Context, scope string, lease store.Lease) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	if st := s.scopes[scope]; st != nil {
		delete(st.leases, lease.ID)
	}
	return nil
}

// SetCooldown implements store.Store.
func (s *Store) SetCooldown(_ context.Context, scope string, c store.Cooldown) (store.Cooldown, error) {
	if scope == "" {
		return store.Cooldown{}, fmt.Errorf("%w: empty scope", store.ErrInvalid)
	}
	now := s.micros()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.Cooldown{}, store.ErrClosed
	}
	st := s.scope(scope)
	st.lastUsed = now
	if until := c.Until.UnixMicro(); until > st.until || st.until <= now {
		st.cooldown, st.until = cloneCooldown(c), until
	}
	return cloneCooldown(st.cooldown), nil
}

// Cooldown implements store.Store.
func (s *Store) Cooldown(_ context.Context, scope string) (store.Cooldown, bool, error) {
	now := s.micros()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.Cooldown{}, false, store.ErrClosed
	}
	st := s.scopes[scope]
	if st == nil || st.until <= now {
		return store.Cooldown{}, false, nil
	}
	return cloneCooldown(st.cooldown), true, nil
}

// SetPace implements store.Store.
func (s *Store) SetPace(_ context.Context, scope string, p store.Pace) (store.Pace, error) {
	if scope == "" || p.Key == "" {
		return store.Pace{}, fmt.Errorf("%w: empty scope or pace key", store.ErrInvalid)
	}
	now := s.micros()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.Pace{}, store.ErrClosed
	}
	st := s.scope(scope)
	st.lastUsed = now
	if st.paces == nil {
		st.paces = make(map[string]*pace)
	}
	old := st.paces[p.Key]
	if old != nil && p.Learned.IsZero() && !old.learned.IsZero() && old.until > now {
		return store.Pace{Key: p.Key, GCRA: old.gcra, Until: time.UnixMicro(old.until), Unit: old.unit, Learned: old.learned}, nil
	}
	np := &pace{gcra: p.GCRA, until: p.Until.UnixMicro(), unit: p.Unit, learned: p.Learned}
	if old != nil && !p.Fresh {
		np.tat = limit.Reprice(old.gcra, p.GCRA, old.tat, now)
	}
	st.paces[p.Key] = np
	return p, nil
}

// Settle implements store.Store.
func (s *Store) Settle(_ context.Context, set store.Settlement) error {
	if set.Scope == "" {
		return fmt.Errorf("%w: empty scope", store.ErrInvalid)
	}
	if set.Delta.IsZero() {
		return nil
	}
	now := s.micros()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	st := s.scope(set.Scope)
	st.lastUsed = now
	for _, l := range set.Limits {
		if d := set.Delta.Of(l.Unit); d != 0 {
			st.tats[l.Key] = l.GCRA.Adjust(st.tats[l.Key], now, d)
		}
	}
	for _, p := range st.paces {
		if d := set.Delta.Of(p.unit); d != 0 && p.until > now {
			p.tat = p.gcra.Adjust(p.tat, now, d)
		}
	}
	return nil
}

// Close implements store.Store. Later calls return store.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.scopes = nil
	return nil
}

// Len returns how many scopes the store holds state for.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.scopes)
}

// ScopeCooldown is a cooldown in force and the scope it binds.
type ScopeCooldown struct {
	Scope    string
	Cooldown store.Cooldown
}

// Cooldowns returns every cooldown in force now, in no order: what a
// fallback learned while the store it stood in for was away, to write back
// when it returns.
func (s *Store) Cooldowns() []ScopeCooldown {
	now := s.micros()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ScopeCooldown
	for key, st := range s.scopes {
		if st.until > now {
			out = append(out, ScopeCooldown{Scope: key, Cooldown: cloneCooldown(st.cooldown)})
		}
	}
	return out
}

// Sweep drops now the scopes whose state no longer matters, as Acquire
// does every few thousand calls: a program that stops sending still gets
// its memory back.
func (s *Store) Sweep() {
	now := s.micros()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.sweep(now)
	}
}

// Limits returns how many limit states the store holds for scope.
func (s *Store) Limits(scope string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.scopes[scope]; st != nil {
		return len(st.tats)
	}
	return 0
}

// sweep drops scopes whose state no longer matters, and in the others the
// limits back to full (a limit keyed per tenant leaves one behind for each
// tenant that stopped). The caller holds s.mu.
func (s *Store) sweep(now int64) {
	n := len(s.scopes)
	maps.DeleteFunc(s.scopes, func(_ string, st *scopeState) bool {
		maps.DeleteFunc(st.tats, func(_ string, tat int64) bool { return tat <= now })
		return st.idle(now)
	})
	if n >= shrinkFrom && len(s.scopes) < n/4 { // a map never shrinks: give its room back
		s.scopes = resized(s.scopes)
	}
}

// shrinkFrom is the size from which a sweep that leaves under a quarter of
// the scopes copies the map into a smaller one.
const shrinkFrom = 1024

// idle reports whether forgetting the scope changes no decision.
func (st *scopeState) idle(now int64) bool {
	if st.until > now || st.inFlight(now) > 0 || st.board != nil && !st.board.Idle(now) {
		return false
	}
	for _, tat := range st.tats {
		if tat > now {
			return false
		}
	}
	for _, p := range st.paces {
		if p.until > now {
			return false
		}
	}
	return true
}

// cloneCooldown copies c so that callers cannot change the stored one.
func cloneCooldown(c store.Cooldown) store.Cooldown {
	c.Header = c.Header.Clone()
	return c
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
