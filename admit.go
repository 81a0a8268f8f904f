package heed

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/heedhq/heed/store"
)

// ErrStoreUnavailable is wrapped by the error a request fails with when the
// store cannot be reached and on_store_error is closed.
var ErrStoreUnavailable = store.ErrUnavailable

// admitLayer lets an attempt go down only once the store admits it, holds
// its concurrency lease until its response body is done, and gives the
// scope's probe back once the answer has taught what it could.
func admitLayer(next handler) handler {
	return func(c *call) outcome {
		lease, syn, err := c.admit()
		switch {
		case err != nil:
			return abandon(err)
		case syn != nil:
			return outcome{syn: syn}
		}
		out := next(c)
		c.settleAttempt(&out)
		c.dropProbe() // after record, below
		if out.resp != nil {
			c.holdLease(out.resp, lease)
		} else {
			c.release(lease)
		}
		return out
	}
}

// admit waits until the store lets the request go: no cooldown, room under
// every limit and pace, a concurrency slot. It answers with a synthetic
// response instead when the scope cools down and on_limit is fail, or when
// the wait would pass max_wait or the request's deadline.
func (c *call) admit() (store.Lease, *synthetic, error) {
	req := store.Request{Scope: c.sc.key, Limits: c.u.limitsFor(c.req.URL.Path, c.tenant), Concurrency: c.u.cfg.Concurrency}
	if c.estimate(); c.est.priced {
		req.Cost = c.u.pricing.cost(c.est.tokens)
		if err := c.u.fits(req); err != nil {
			return store.Lease{}, nil, err
		}
	}
	deadline := c.waitDeadline()
	if c.u.fair != nil {
		return c.admitFair(req, deadline)
	}
	return c.ask(req, deadline, nil)
}

// ask asks the store until it lets the request go, or answers for it. In
// a waiting room (r not nil: the call is its head), each refusal is told
// to the room, so that those waiting behind learn how long it will be.
func (c *call) ask(req store.Request, deadline time.Time, r *room) (store.Lease, *synthetic, error) {
	for {
		if !c.takeProbe() {
			if err := c.sleep(waitConcurrency, store.ConcurrencyPoll); err != nil {
				return store.Lease{}, nil, err
			}
			continue
		}
		g, err := c.u.t.store.Acquire(c.ctx, req)
		if err != nil {
			c.dropProbe()
			return store.Lease{}, nil, c.storeErr(err)
		}
		if g.Allowed {
			c.seq = c.sc.admitted.Add(1)
			c.charge = charge{limits: req.Limits, cost: req.Cost, est: c.est}
			if c.est.priced {
				c.u.t.metrics.TokensReserved(c.u.cfg.Name, c.est.input, c.est.output)
			}
			return g.Lease, nil, nil
		}
		c.dropProbe()
		if r != nil {
			r.refused(g, c.u.t.clock.Now(), c.u.fair.onFail)
		}
		if syn := c.refusal(g, deadline); syn != nil {
			return store.Lease{}, syn, nil
		}
		if err := c.sleep(waitReasonOf(g.Reason), g.Wait); err != nil {
			return store.Lease{}, nil, err
		}
	}
}

// storeErr names the upstream in a store's error.
func (c *call) storeErr(err error) error {
	if c.ctx.Err() != nil {
		return err
	}
	return &upstreamError{upstream: c.u.cfg.Name, err: err}
}

// upstreamError is an error of the store while serving an upstream.
type upstreamError struct {
	upstream string
	err      error
}

func (e *upstreamError) Error() string {
	return "heed: upstream " + strconv.Quote(e.upstream) + ": " + e.err.Error()
}
func (e *upstreamError) Unwrap() error { return e.err }

// takeProbe reports whether the call may go on to ask the store. While a
// learning call's scope has no quota knowledge, one request at a time goes
// first to learn the quota (see scopeState.known).
func (c *call) takeProbe() bool {
	if !c.learns() || c.sc.known(c.u.t.clock.Now()) {
		return true
	}
	c.probing = c.sc.takeProbe()
	return c.probing
}

// dropProbe gives the probe back, when this call holds it.
func (c *call) dropProbe() {
	if c.probing {
		c.probing = false
		c.sc.dropProbe()
	}
}

// refusal returns the synthetic response for a refused Acquire, or nil when
// the request should wait.
func (c *call) refusal(g store.Grant, deadline time.Time) *synthetic {
	late := c.u.t.clock.Now().Add(g.Wait).After(deadline)
	switch {
	case g.Reason == store.ReasonCooldown && (late || c.u.cfg.OnLimit == OnLimitFail):
		return c.synthetic(refusalCooldown, http.StatusTooManyRequests, g.Wait, &g.Cooldown)
	case late:
		return c.synthetic(refusalLimit, http.StatusTooManyRequests, g.Wait, nil)
	}
	return nil
}

// release gives a concurrency lease back.
func (c *call) release(lease store.Lease) {
	c.u.release(c.ctx, c.sc.key, lease)
}

// release gives a scope's concurrency lease back, even when ctx is done.
func (u *upstream) release(ctx context.Context, scopeKey string, lease store.Lease) {
	if lease == (store.Lease{}) {
		return
	}
	if err := u.t.store.Release(context.WithoutCancel(ctx), scopeKey, lease); err != nil {
		if u.t.fleet == nil {
			u.t.metrics.StoreError(u.cfg.Name, StoreOpRelease)
		}
		u.t.log.LogAttrs(ctx, slogWarn, "heed: releasing a concurrency slot failed", attr("upstream", u.cfg.Name), attr("error", err.Error()))
	}
}

// holdLease keeps the lease until the response body is closed or read to
// the end: a request is in flight until its answer has arrived.
func (c *call) holdLease(resp *http.Response, lease store.Lease) {
	if lease == (store.Lease{}) {
		return
	}
	u, ctx, key := c.u, c.ctx, c.sc.key
	whenDone(resp, func() { u.release(ctx, key, lease) })
}
