package heed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/memory"
)

// A shared store (Redis) can be out of reach. With on_store_error: open the
// Transport then admits requests through a fallback: a memory store in this
// process, enforcing this process's share of every limit and pace: the
// limit divided by the number of live processes of the upstream last seen
// in the shared store (heartbeats), so that a fleet of N does not send N
// times the limit. Cooldowns recorded meanwhile stay in the fallback. After
// a failure, the shared store is tried again by one request per
// storeRetryEvery while the others go on through the fallback, so a
// black-holed Redis costs one timeout per second, not one per request; the
// first success brings every request back to the shared store.
//
// With on_store_error: closed, requests fail at once with
// ErrStoreUnavailable instead, and also try the shared store only once per
// storeRetryEvery, so they fail fast.

const (
	// storeRetryEvery is how often an unavailable shared store is tried.
	storeRetryEvery = time.Second
	// heartbeatEvery is how often a Transport on a shared store says, per
	// upstream, that it is alive.
	heartbeatEvery = 5 * time.Second
	// heartbeatTTL is how long a process counts as alive after its last
	// heartbeat: three missed beats.
	heartbeatTTL = 3 * heartbeatEvery
	// leaveTimeout bounds the farewell heartbeat of Close.
	leaveTimeout = time.Second
)

// fleet is the Transport's side of a shared store: the fallback and the
// heartbeats. The zero fleet (memory store) has neither.
type fleet struct {
	// local is the fallback store; nil when the store is in-process.
	local store.Store
	// downUntil is when to try the shared store again after a failure, in
	// Unix microseconds; 0 while it answers.
	downUntil atomic.Int64
	// lastErr is the shared store's last error, for closed mode's message.
	lastErr atomic.Pointer[error]
	// member names this process among the live ones (random, no meaning).
	member string
	// stop ends the heartbeat loop; done is closed when it has ended.
	stop context.CancelFunc
	done chan struct{}
}

// startFleet prepares the fallback and starts the heartbeats when the
// Transport's store is shared.
func (t *Transport) startFleet() {
	if _, inProcess := t.store.(*memory.Store); inProcess {
		return
	}
	t.fleet.local = memory.New(memory.Options{Now: t.clock.Now})
	p, ok := t.store.(store.Presence)
	if !ok {
		return
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	t.fleet.member = hex.EncodeToString(id[:])
	ctx, stop := context.WithCancel(context.Background())
	t.fleet.stop, t.fleet.done = stop, make(chan struct{})
	go t.beat(ctx, p)
}

// beat says every heartbeatEvery, for each upstream, that this process is
// alive, and keeps the number of live processes the store answers.
func (t *Transport) beat(ctx context.Context, p store.Presence) {
	defer close(t.fleet.done)
	for {
		for _, u := range t.ups {
			n, err := p.Heartbeat(ctx, u.group(), t.fleet.member, heartbeatTTL)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				t.metrics.StoreError(u.cfg.Name, StoreOpHeartbeat)
				continue
			}
			u.live.Store(int64(max(n, 1)))
			t.metrics.FleetSize(u.cfg.Name, n)
		}
		if t.clock.Sleep(ctx, heartbeatEvery) != nil {
			return
		}
	}
}

// stopFleet ends the heartbeats and says goodbye, so that the processes
// left do not count this one while the shared store is away. It is called
// before the store is closed.
func (t *Transport) stopFleet() {
	if t.fleet.stop == nil {
		return
	}
	t.fleet.stop()
	<-t.fleet.done
	p := t.store.(store.Presence)
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	for _, u := range t.ups {
		_, _ = p.Heartbeat(ctx, u.group(), t.fleet.member, 0)
	}
}

// group names the upstream among the store's heartbeat groups: tenant and
// upstream name, never anything of a credential.
func (u *upstream) group() string { return u.t.cfg.Tenant + "/" + u.cfg.Name }

// share returns the number of processes sharing the upstream's limits, as
// last counted: at least 1.
func (u *upstream) share() int { return int(max(u.live.Load(), 1)) }

// The store operations, as Metrics.StoreError receives them.
const (
	StoreOpAcquire   = "acquire"
	StoreOpCooldown  = "cooldown"
	StoreOpPace      = "pace"
	StoreOpRelease   = "release"
	StoreOpHeartbeat = "heartbeat"
)

// useShared reports whether to ask the shared store now: always while it
// answers; after a failure, one caller per storeRetryEvery.
func (f *fleet) useShared(now time.Time) bool {
	if f.local == nil {
		return true
	}
	until := f.downUntil.Load()
	if until == 0 {
		return true
	}
	if now.UnixMicro() < until {
		return false
	}
	return f.downUntil.CompareAndSwap(until, now.Add(storeRetryEvery).UnixMicro())
}

// sharedOK notes that the shared store answered.
func (f *fleet) sharedOK() {
	if f.downUntil.Load() != 0 {
		f.downUntil.Store(0)
	}
}

// sharedFailed notes that the shared store did not answer at now.
func (f *fleet) sharedFailed(now time.Time, err error) {
	f.lastErr.Store(&err)
	f.downUntil.Store(now.Add(storeRetryEvery).UnixMicro())
}

// errSkipped stands for the shared store's last error when a call did not
// try it (it failed less than storeRetryEvery ago).
var errSkipped = errors.New("failed less than a second ago; not tried again yet")

// storeErr is the error a closed-mode request fails with.
func (c *call) storeErr(err error) error {
	return fmt.Errorf("%w (on_store_error: closed): upstream %q: %w", ErrStoreUnavailable, c.u.cfg.Name, err)
}

// acquire asks the shared store for the request; while it is unavailable,
// it fails (closed) or asks the fallback for this process's share (open).
// local reports that the grant, and its lease, came from the fallback.
func (c *call) acquire(req store.Request) (g store.Grant, local bool, err error) {
	t := c.u.t
	now := t.clock.Now()
	var why error = errSkipped
	if t.fleet.useShared(now) {
		g, err := t.store.Acquire(c.ctx, req)
		if err == nil {
			t.fleet.sharedOK()
			return g, false, nil
		}
		if ctxErr := c.ctx.Err(); ctxErr != nil {
			return g, false, ctxErr
		}
		c.sharedFailed(StoreOpAcquire, err)
		why = err
	}
	if t.cfg.OnStoreError == StoreErrorClosed || t.fleet.local == nil {
		if p := t.fleet.lastErr.Load(); why == errSkipped && p != nil {
			why = fmt.Errorf("%w: %w", errSkipped, *p)
		}
		return g, false, c.storeErr(why)
	}
	g, err = t.fleet.local.Acquire(c.ctx, c.u.shareOf(req))
	return g, true, err
}

// sharedFailed counts, logs (at most every storeWarnEvery per upstream)
// and remembers a failure of the shared store.
func (c *call) sharedFailed(op string, err error) {
	t := c.u.t
	now := t.clock.Now()
	t.fleet.sharedFailed(now, err)
	t.metrics.StoreError(c.u.cfg.Name, op)
	if t.cfg.OnStoreError == StoreErrorOpen && c.u.storeWarning(now) {
		t.log.LogAttrs(c.ctx, slogWarn, "heed: store unavailable; limiting this process to its share of each limit until it is back (repeats at most every 10s)",
			attr("upstream", c.u.cfg.Name), attr("operation", op), attr("share", fmt.Sprintf("1/%d", c.u.share())), attr("error", err.Error()))
	}
}

// shareOf returns the request with this process's share of every limit
// and of the concurrency cap.
func (u *upstream) shareOf(req store.Request) store.Request {
	n := u.share()
	if n == 1 {
		return req
	}
	limits := make([]store.Limit, len(req.Limits))
	for i, l := range req.Limits {
		limits[i] = store.Limit{Key: l.Key, GCRA: l.GCRA.Share(n)}
	}
	req.Limits = limits
	if req.Concurrency > 0 {
		req.Concurrency = max(req.Concurrency/n, 1)
	}
	return req
}

// recordCooldown records a cooldown in the shared store, or in the
// fallback while the shared store is unavailable.
func (c *call) recordCooldown(cd store.Cooldown) (store.Cooldown, error) {
	ctx, t := context.WithoutCancel(c.ctx), c.u.t
	if t.fleet.useShared(t.clock.Now()) {
		inForce, err := t.store.SetCooldown(ctx, c.scopeKey, cd)
		if err == nil || t.fleet.local == nil {
			return inForce, err
		}
		c.sharedFailed(StoreOpCooldown, err)
	}
	return t.fleet.local.SetCooldown(ctx, c.scopeKey, cd)
}

// recordPace records a learned pace in the shared store, or this process's
// share of it in the fallback while the shared store is unavailable.
func (c *call) recordPace(p store.Pace) error {
	ctx, t := context.WithoutCancel(c.ctx), c.u.t
	if t.fleet.useShared(t.clock.Now()) {
		err := t.store.SetPace(ctx, c.scopeKey, p)
		if err == nil || t.fleet.local == nil {
			return err
		}
		c.sharedFailed(StoreOpPace, err)
	}
	p.GCRA = p.GCRA.Share(c.u.share())
	return t.fleet.local.SetPace(ctx, c.scopeKey, p)
}

// held is a concurrency lease and the store it came from.
type held struct {
	lease store.Lease
	local bool
}
