package failover

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
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
	// lastTimedOut is whether that error was a timeout.
	lastTimedOut atomic.Bool
	// flip is held by cooldowns written to the fallback during an outage
	// and by the switch back to the shared store, so that no cooldown is
	// written to the fallback after the last write-back; localWrites counts
	// those cooldowns.
	flip        sync.Mutex
	localWrites atomic.Int64

	// member names this process among the live ones (random, no meaning);
	// presence is the shared store's heartbeats, nil when it has none or
	// there are no groups; stop ends run and done is closed when it has.
	member   string
	presence store.Presence
	stop     context.CancelFunc
	done     chan struct{}
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
	p, _ := shared.(store.Presence)
	if len(opts.Groups) == 0 {
		p = nil
	}
	s.start(p)
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
// answers; after a failure, one caller per RetryEvery, which first writes
// back every cooldown the fallback holds (see recover).
func (s *Store) useShared(ctx context.Context) bool {
	until := s.downUntil.Load()
	if until == 0 {
		return true
	}
	now := s.opts.Now()
	if now.UnixMicro() < until || !s.downUntil.CompareAndSwap(until, now.Add(s.opts.RetryEvery).UnixMicro()) {
		return false
	}
	return s.recover(ctx)
}

// maxWriteBackPasses bounds how often recover writes back again because
// new cooldowns were recorded in the fallback during the last pass.
const maxWriteBackPasses = 3

// recover brings the shared store back into use after an outage: it
// writes every cooldown in force that the fallback holds (learned from the
// shared store's answers before the outage, or recorded during it) to the
// shared store, the later end winning there, so that a shared store that
// lost them (restarted empty) or never had them binds every process
// again; only then does traffic share again. A cooldown the fallback
// records while a pass runs makes another pass; the switch happens under
// flip, which fallback writes of cooldowns hold, so none is missed. It
// reports false, the outage going on, when a write fails.
func (s *Store) recover(ctx context.Context) bool {
	ctx = context.WithoutCancel(ctx)
	for range maxWriteBackPasses {
		writes := s.localWrites.Load()
		for _, sc := range s.local.Cooldowns() {
			inForce, err := s.shared.SetCooldown(ctx, sc.Scope, sc.Cooldown)
			if err != nil {
				s.failed(sc.Scope, OpCooldown, err)
				return false
			}
			s.remember(ctx, sc.Scope, inForce)
		}
		s.flip.Lock()
		if s.localWrites.Load() == writes {
			s.downUntil.Store(0)
			s.flip.Unlock()
			return true
		}
		s.flip.Unlock()
	}
	return false // cooldowns keep coming: try again at the next retry
}

// remember keeps in the fallback a cooldown in force that the shared
// store told of, so that it still binds if the shared store goes away.
func (s *Store) remember(ctx context.Context, scope string, cd store.Cooldown) {
	if cd.Until.After(s.opts.Now()) {
		_, _ = s.local.SetCooldown(context.WithoutCancel(ctx), scope, cd)
	}
}

// failed notes that the shared store failed op for scope.
func (s *Store) failed(scope, op string, err error) {
	s.lastErr.Store(&err)
	s.lastTimedOut.Store(isTimeout(err))
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
	if s.useShared(ctx) {
		g, err := s.shared.Acquire(ctx, req)
		if err == nil {
			if g.Reason == store.ReasonCooldown {
				s.remember(ctx, req.Scope, g.Cooldown)
			}
			return g, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return g, ctxErr
		}
		if errors.Is(err, store.ErrInvalid) { // the request's fault, not an outage
			return g, err
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

// SetCooldown implements store.Store. A cooldown is what the fleet must
// not miss, so it is written to the shared store even within an outage's
// retry window, unless the shared store's last failure was a timeout (a
// slow or unreachable Redis costs its timeout at each try), and a write
// that meets a cut connection is tried once more at once. A write that
// succeeds within the retry window ends the outage (see recover). While
// the shared store is away the cooldown goes to the fallback, and to the
// shared store when it is back.
func (s *Store) SetCooldown(ctx context.Context, scope string, c store.Cooldown) (store.Cooldown, error) {
	for range 2 {
		sharing := s.useShared(ctx)
		if sharing || !s.lastTimedOut.Load() {
			inForce, err := s.shared.SetCooldown(ctx, scope, c)
			if err != nil && !isTimeout(err) && ctx.Err() == nil {
				// A connection cut under the write (a Redis restarted or
				// failed over, a proxy's idle cut): a fresh one usually
				// answers, and a cooldown only this process holds leaves
				// the rest of the fleet sending until the write-back.
				inForce, err = s.shared.SetCooldown(ctx, scope, c)
			}
			if err == nil {
				s.remember(ctx, scope, inForce)
				if !sharing {
					s.retryNow(ctx)
				}
				return inForce, nil
			}
			s.failed(scope, OpCooldown, err)
		}
		if inForce, ok, err := s.setLocal(ctx, scope, c); ok {
			return inForce, err
		}
		// The shared store came back meanwhile: record it there.
	}
	return s.local.SetCooldown(ctx, scope, c) // flapping: the next write-back takes it
}

// retryNow ends the retry window of an outage, the shared store having
// answered, and brings it back into use at once (see recover).
func (s *Store) retryNow(ctx context.Context) {
	if until := s.downUntil.Load(); until != 0 && s.downUntil.CompareAndSwap(until, 1) {
		s.useShared(ctx)
	}
}

// isTimeout reports whether err is a timeout, which trying again would
// only double.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// setLocal records a cooldown in the fallback if the shared store is still
// away, and counts it for recover; ok is false when it is back.
func (s *Store) setLocal(ctx context.Context, scope string, c store.Cooldown) (inForce store.Cooldown, ok bool, err error) {
	s.flip.Lock()
	defer s.flip.Unlock()
	if !s.Down() {
		return store.Cooldown{}, false, nil
	}
	inForce, err = s.local.SetCooldown(ctx, scope, c)
	s.localWrites.Add(1)
	return inForce, true, err
}

// Cooldown implements store.Store: the shared store's answer, or the
// fallback's while the shared store is down. A failure is returned, and
// does not count as an outage.
func (s *Store) Cooldown(ctx context.Context, scope string) (store.Cooldown, bool, error) {
	if s.Down() {
		return s.local.Cooldown(ctx, scope)
	}
	cd, ok, err := s.shared.Cooldown(ctx, scope)
	if err == nil && ok {
		s.remember(ctx, scope, cd)
	}
	return cd, ok, err
}

// SetPace implements store.Store; the fallback gets this process's share.
func (s *Store) SetPace(ctx context.Context, scope string, p store.Pace) (store.Pace, error) {
	if s.useShared(ctx) {
		inForce, err := s.shared.SetPace(ctx, scope, p)
		if err == nil {
			return inForce, nil
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
	if s.useShared(ctx) {
		err := s.shared.Settle(ctx, set)
		if err == nil {
			return nil
		}
		s.failed(set.Scope, OpSettle, err)
	}
	set.Limits = shareLimits(set.Limits, s.share(set.Scope))
	return s.local.Settle(ctx, set)
}

// Sweep drops what the fallback holds of idle scopes (see
// memory.Store.Sweep).
func (s *Store) Sweep() { s.local.Sweep() }

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

// start runs the Store's loop (see run), beating for every group when p
// is not nil.
func (s *Store) start(p store.Presence) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	s.member = hex.EncodeToString(id[:])
	ctx, stop := context.WithCancel(context.Background())
	s.stop, s.done, s.presence = stop, make(chan struct{}), p
	go s.run(ctx)
}

// run, until Close, beats every HeartbeatEvery for each group (saying
// this process is alive and keeping the live count the store answers)
// and, while the shared store is away, tries it every RetryEvery, so that
// what the fallback learned is written back as soon as it returns, not at
// the next request (requests may all be waiting out a cooldown).
func (s *Store) run(ctx context.Context) {
	defer close(s.done)
	var last time.Time
	for {
		if s.Down() {
			s.useShared(ctx)
		}
		now := s.opts.Now()
		if s.presence != nil && (last.IsZero() || now.Sub(last) >= s.opts.HeartbeatEvery) {
			last = now
			if !s.beat(ctx) {
				return
			}
		}
		if s.opts.Sleep(ctx, s.nextTry(now)) != nil {
			return
		}
	}
}

// nextTry is how long run sleeps from now: until the shared store is due
// to be tried again while it is away (so that what the fallback holds is
// written back within RetryEvery of the failure, not up to twice that),
// else RetryEvery or HeartbeatEvery, whichever is shorter.
func (s *Store) nextTry(now time.Time) time.Duration {
	every := min(s.opts.RetryEvery, s.opts.HeartbeatEvery)
	if until := s.downUntil.Load(); until != 0 {
		return min(max(time.UnixMicro(until).Sub(now), time.Millisecond), every)
	}
	return every
}

// beat says once, for each group, that this process is alive; false when
// ctx ended.
func (s *Store) beat(ctx context.Context) bool {
	ttl := 3 * s.opts.HeartbeatEvery
	for _, g := range s.opts.Groups {
		n, err := s.presence.Heartbeat(ctx, g, s.member, ttl)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			s.report(g, OpHeartbeat, err)
			continue
		}
		s.live[g].Store(int64(max(n, 1)))
		if s.opts.OnLive != nil {
			s.opts.OnLive(g, n)
		}
	}
	return true
}

// stopHeartbeats ends the loop and says goodbye to each group.
func (s *Store) stopHeartbeats() {
	s.stop()
	<-s.done
	if s.presence == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	for _, g := range s.opts.Groups {
		_, _ = s.presence.Heartbeat(ctx, g, s.member, 0)
	}
}

// Traffic returns the shared store's traffic when it is a
// store.TrafficCounter (the fallback, in memory, sends nothing); false
// when it counts none.
func (s *Store) Traffic() (store.Traffic, bool) {
	if tc, ok := s.shared.(store.TrafficCounter); ok {
		return tc.Traffic(), true
	}
	return store.Traffic{}, false
}
