package failover

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/heedhq/heed/internal/clock"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/memory"
)

// The operations of the shared store, as Options.OnError receives them.
const (
	OpAcquire   = "acquire"
	OpCooldown  = "cooldown"
	OpPace      = "pace"
	OpSettle    = "settle"
	OpRelease   = "release"
	OpHeartbeat = "heartbeat"
)

// Defaults of Options.
const (
	// DefaultRetryEvery is how often an unavailable shared store is tried.
	DefaultRetryEvery = time.Second
	// DefaultHeartbeatEvery is how often the Store says, per group, that
	// this process is alive; a process counts as alive for three beats.
	DefaultHeartbeatEvery = 5 * time.Second
	// leaveTimeout bounds the farewell heartbeat of Close.
	leaveTimeout = time.Second
	// localLease marks the leases the fallback gave.
	localLease = 1 << 63
)

// Options configures a Store. The zero value of every field means its
// documented default.
type Options struct {
	// Closed makes every operation fail at once while the shared store is
	// out of reach (with an error wrapping store.ErrUnavailable) instead
	// of answering from the fallback. Recording a cooldown or a pace still
	// goes to the fallback: what an API said is never dropped.
	Closed bool
	// RetryEvery is how often an unavailable shared store is tried again;
	// 0 means DefaultRetryEvery.
	RetryEvery time.Duration
	// Groups are the groups of processes this process beats for (heed: one
	// per upstream), when the shared store is a store.Presence.
	Groups []string
	// GroupOf returns the group a scope belongs to, whose live count
	// divides the scope's limits in the fallback; nil (or a group not in
	// Groups) means a share of 1.
	GroupOf func(scope string) string
	// HeartbeatEvery is how often this process beats; 0 means
	// DefaultHeartbeatEvery.
	HeartbeatEvery time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done, for the heartbeats; nil means a
	// real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnError, when set, is called each time the shared store fails an
	// operation, with the group of its scope ("" when unknown), the
	// operation (one of the Op words) and the error. It must be fast and
	// must not call back into the Store.
	OnError func(group, op string, err error)
	// OnLive, when set, is called with each count of a group's live
	// processes.
	OnLive func(group string, n int)
	// LeaveOpen makes Close leave the shared store open (its owner closes
	// it).
	LeaveOpen bool
}

// Store is a store.Store over a shared store, with a fallback for its
// outages. It is safe for concurrent use. Make one with New; Close it.
type Store struct {
	shared store.Store
	local  *memory.Store
	opts   Options
	live   map[string]*atomic.Int64 // by group; read-only after New

	// downUntil is when to try the shared store again after a failure, in
	// Unix microseconds; 0 while it answers.
	downUntil atomic.Int64
	// lastErr is the shared store's last error, for closed mode's message.
	lastErr atomic.Pointer[error]

	// member names this process among the live ones (random, no meaning);
	// stop ends the heartbeats and done is closed when they have ended.
	member string
	stop   context.CancelFunc
	done   chan struct{}
}

var _ store.Store = (*Store)(nil)

// New returns a Store over shared, and starts its heartbeats when shared
// is a store.Presence and Options.Groups names groups.
func New(shared store.Store, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = clock.Sleep
	}
	opts.RetryEvery = cmpOr(opts.RetryEvery, DefaultRetryEvery)
	opts.HeartbeatEvery = cmpOr(opts.HeartbeatEvery, DefaultHeartbeatEvery)
	s := &Store{shared: shared, local: memory.New(memory.Options{Now: opts.Now}), opts: opts, live: make(map[string]*atomic.Int64)}
	for _, g := range opts.Groups {
		s.live[g] = new(atomic.Int64)
	}
	if p, ok := shared.(store.Presence); ok && len(opts.Groups) > 0 {
		s.startHeartbeats(p)
	}
	return s
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Down reports whether the shared store failed and has not answered since.
func (s *Store) Down() bool { return s.downUntil.Load() != 0 }

// Live returns how many processes of group were alive at the last
// heartbeat, this one included; 0 before the first count.
func (s *Store) Live(group string) int {
	if n, ok := s.live[group]; ok {
		return int(n.Load())
	}
	return 0
}

// share returns how many processes share the limits of scope: at least 1.
func (s *Store) share(scope string) int {
	if s.opts.GroupOf == nil {
		return 1
	}
	return max(s.Live(s.opts.GroupOf(scope)), 1)
}

// group returns the group of scope, or "".
func (s *Store) group(scope string) string {
	if s.opts.GroupOf == nil {
		return ""
	}
	return s.opts.GroupOf(scope)
}

// useShared reports whether to ask the shared store now: always while it
// answers; after a failure, one caller per RetryEvery.
func (s *Store) useShared() bool {
	until := s.downUntil.Load()
	if until == 0 {
		return true
	}
	now := s.opts.Now()
	if now.UnixMicro() < until {
		return false
	}
	return s.downUntil.CompareAndSwap(until, now.Add(s.opts.RetryEvery).UnixMicro())
}

// ok notes that the shared store answered.
func (s *Store) ok() {
	if s.downUntil.Load() != 0 {
		s.downUntil.Store(0)
	}
}

// failed notes that the shared store failed op for scope.
func (s *Store) failed(scope, op string, err error) {
	s.lastErr.Store(&err)
	s.downUntil.Store(s.opts.Now().Add(s.opts.RetryEvery).UnixMicro())
	s.report(s.group(scope), op, err)
}

// report tells OnError.
func (s *Store) report(group, op string, err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(group, op, err)
	}
}

// errSkipped stands for the shared store's last error when an operation
// did not try it (it failed less than RetryEvery ago).
var errSkipped = errors.New("it failed moments ago and is not tried again yet")

// unavailable is closed mode's error.
func (s *Store) unavailable(why error) error {
	if p := s.lastErr.Load(); why == errSkipped && p != nil {
		why = fmt.Errorf("%w: %w", errSkipped, *p)
	}
	return fmt.Errorf("%w (on_store_error: closed): %w", store.ErrUnavailable, why)
}

// Acquire implements store.Store.
func (s *Store) Acquire(ctx context.Context, req store.Request) (store.Grant, error) {
	var why error = errSkipped
	if s.useShared() {
		g, err := s.shared.Acquire(ctx, req)
		if err == nil {
			s.ok()
			return g, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return g, ctxErr
		}
		s.failed(req.Scope, OpAcquire, err)
		why = err
	}
	if s.opts.Closed {
		return store.Grant{}, s.unavailable(why)
	}
	g, err := s.local.Acquire(ctx, shareOf(req, s.share(req.Scope)))
	if g.Lease != (store.Lease{}) {
		g.Lease.ID |= localLease
	}
	return g, err
}

// shareOf returns req with one n-th of every limit and of the concurrency
// cap.
func shareOf(req store.Request, n int) store.Request {
	if n == 1 {
		return req
	}
	req.Limits = shareLimits(req.Limits, n)
	if req.Concurrency > 0 {
		req.Concurrency = max(req.Concurrency/n, 1)
	}
	return req
}

// shareLimits returns one n-th of every limit.
func shareLimits(limits []store.Limit, n int) []store.Limit {
	if n == 1 {
		return limits
	}
	out := make([]store.Limit, len(limits))
	for i, l := range limits {
		l.GCRA = l.GCRA.Share(n)
		out[i] = l
	}
	return out
}

// Release implements store.Store: the lease goes back to the store it came
// from.
func (s *Store) Release(ctx context.Context, scope string, lease store.Lease) error {
	if lease.ID&localLease != 0 {
		lease.ID &^= localLease
		return s.local.Release(ctx, scope, lease)
	}
	err := s.shared.Release(ctx, scope, lease)
	if err != nil {
		s.report(s.group(scope), OpRelease, err)
	}
	return err
}

// SetCooldown implements store.Store.
func (s *Store) SetCooldown(ctx context.Context, scope string, c store.Cooldown) (store.Cooldown, error) {
	if s.useShared() {
		inForce, err := s.shared.SetCooldown(ctx, scope, c)
		if err == nil {
			s.ok()
			return inForce, nil
		}
		s.failed(scope, OpCooldown, err)
	}
	return s.local.SetCooldown(ctx, scope, c)
}

// Cooldown implements store.Store: the shared store's answer, or the
// fallback's while the shared store is down. A failure is returned, and
// does not count as an outage.
func (s *Store) Cooldown(ctx context.Context, scope string) (store.Cooldown, bool, error) {
	if s.Down() {
		return s.local.Cooldown(ctx, scope)
	}
	return s.shared.Cooldown(ctx, scope)
}

// SetPace implements store.Store; the fallback gets this process's share.
func (s *Store) SetPace(ctx context.Context, scope string, p store.Pace) error {
	if s.useShared() {
		err := s.shared.SetPace(ctx, scope, p)
		if err == nil {
			s.ok()
			return nil
		}
		s.failed(scope, OpPace, err)
	}
	p.GCRA = p.GCRA.Share(s.share(scope))
	return s.local.SetPace(ctx, scope, p)
}

// Settle implements store.Store. A charge is settled in the store in use
// now, which may not be the one that took it when the shared store went
// away or came back in between: the error is at most one request's cost.
func (s *Store) Settle(ctx context.Context, set store.Settlement) error {
	if s.useShared() {
		err := s.shared.Settle(ctx, set)
		if err == nil {
			s.ok()
			return nil
		}
		s.failed(set.Scope, OpSettle, err)
	}
	set.Limits = shareLimits(set.Limits, s.share(set.Scope))
	return s.local.Settle(ctx, set)
}

// Close ends the heartbeats (saying goodbye, so that the processes left
// stop counting this one), closes the fallback and, unless LeaveOpen, the
// shared store.
func (s *Store) Close() error {
	s.stopHeartbeats()
	_ = s.local.Close()
	if s.opts.LeaveOpen {
		return nil
	}
	return s.shared.Close()
}

// startHeartbeats starts beating for every group.
func (s *Store) startHeartbeats(p store.Presence) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	s.member = hex.EncodeToString(id[:])
	ctx, stop := context.WithCancel(context.Background())
	s.stop, s.done = stop, make(chan struct{})
	go s.beat(ctx, p)
}

// beat says every HeartbeatEvery, for each group, that this process is
// alive, and keeps the number of live processes the store answers.
func (s *Store) beat(ctx context.Context, p store.Presence) {
	defer close(s.done)
	ttl := 3 * s.opts.HeartbeatEvery
	for {
		for _, g := range s.opts.Groups {
			n, err := p.Heartbeat(ctx, g, s.member, ttl)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				s.report(g, OpHeartbeat, err)
				continue
			}
			s.live[g].Store(int64(max(n, 1)))
			if s.opts.OnLive != nil {
				s.opts.OnLive(g, n)
			}
		}
		if s.opts.Sleep(ctx, s.opts.HeartbeatEvery) != nil {
			return
		}
	}
}

// stopHeartbeats ends the heartbeats and says goodbye.
func (s *Store) stopHeartbeats() {
	if s.stop == nil {
		return
	}
	s.stop()
	<-s.done
	p := s.shared.(store.Presence)
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	for _, g := range s.opts.Groups {
		_, _ = p.Heartbeat(ctx, g, s.member, 0)
	}
}
