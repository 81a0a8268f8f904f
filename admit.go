package heed

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/heedhq/heed/store"
)

// admit waits until the store lets the request go: no cooldown, room under
// every limit and pace, a concurrency slot. It answers with a synthetic
// response instead when the scope cools down and on_limit is fail, or when
// the wait would pass max_wait or the request's deadline.
func (c *call) admit() (held, *synthetic, error) {
	req := store.Request{Scope: c.scopeKey, Limits: c.u.limitsFor(c.req.URL.Path), Concurrency: c.u.cfg.Concurrency}
	deadline := c.waitDeadline()
	for {
		if !c.takeProbe() {
			if err := c.sleep(waitConcurrency, store.ConcurrencyPoll); err != nil {
				return held{}, nil, err
			}
			continue
		}
		g, local, err := c.acquire(req)
		if err != nil {
			c.dropProbe()
			return held{}, nil, err
		}
		if g.Allowed {
			c.seq = c.u.flight(c.scopeKey).admitted.Add(1)
			return held{lease: g.Lease, local: local}, nil, nil
		}
		c.dropProbe()
		if syn := c.refusal(g, deadline); syn != nil {
			return held{}, syn, nil
		}
		if err := c.sleep(waitReasonOf(g.Reason), g.Wait); err != nil {
			return held{}, nil, err
		}
	}
}

// ErrStoreUnavailable is wrapped by the error a request fails with when the
// store cannot be reached and on_store_error is closed.
var ErrStoreUnavailable = errors.New("heed: store unavailable")

// takeProbe reports whether the call may go on to ask the store. While a
// learning call's scope has no quota knowledge (before its first answer, and
// again when the last learned pace has run out), one request at a time goes
// first to learn the quota, instead of many spending it blind: the probe.
func (c *call) takeProbe() bool {
	if !c.learns() {
		return true
	}
	f := c.u.flight(c.scopeKey)
	switch known := f.knownUntil.Load(); {
	case known == noQuotaHeaders, known > 0 && c.u.t.clock.Now().UnixMicro() < known:
		return true
	}
	c.probing = f.probe.CompareAndSwap(false, true)
	return c.probing
}

// dropProbe gives the probe back, when this call holds it.
func (c *call) dropProbe() {
	if c.probing {
		c.probing = false
		c.u.flight(c.scopeKey).probe.Store(false)
	}
}

// waitDeadline is the latest time a request may still be waiting to leave:
// max_wait after RoundTrip began, or the request's deadline if sooner.
func (c *call) waitDeadline() time.Time {
	maxWait := c.u.cfg.MaxWait
	if w, ok := c.ctx.Value(maxWaitKey{}).(time.Duration); ok && w < maxWait {
		maxWait = w
	}
	d := c.started.Add(maxWait)
	if ctxD, ok := c.ctx.Deadline(); ok && ctxD.Before(d) {
		d = ctxD
	}
	return d
}

// refusal returns the synthetic response for a refused Acquire, or nil when
// the request should wait.
func (c *call) refusal(g store.Grant, deadline time.Time) *synthetic {
	late := c.u.t.clock.Now().Add(g.Wait).After(deadline)
	switch {
	case g.Reason == store.ReasonCooldown && (late || c.u.cfg.OnLimit == OnLimitFail):
		return &synthetic{kind: SyntheticCooldown, status: http.StatusTooManyRequests, wait: g.Wait, upstream: c.u.cfg.Name, replay: g.Cooldown.Header}
	case late:
		return &synthetic{kind: SyntheticLimit, status: http.StatusTooManyRequests, wait: g.Wait, upstream: c.u.cfg.Name}
	}
	return nil
}

// orStatus returns the status a cooldown replays: the one that caused it
// when it was a refusal, else 429.
func orStatus(status int) int {
	if status < 400 {
		return http.StatusTooManyRequests
	}
	return status
}

// enterBreaker asks the upstream's breaker to let an attempt go (as a probe
// when half-open). It returns the ticket to report the outcome with (see
// reportBreaker), or, while the breaker refuses, the synthetic circuit-open
// answer.
func (c *call) enterBreaker() (ticket, *synthetic) {
	if c.u.breaker == nil {
		return ticket{}, nil
	}
	t, ok := c.u.breaker.allow()
	if !ok {
		return t, &synthetic{kind: SyntheticCircuitOpen, status: http.StatusServiceUnavailable, wait: c.u.cfg.Breaker.OpenFor, upstream: c.u.cfg.Name}
	}
	return t, nil
}

// reportBreaker tells the breaker, if any, how an attempt went.
func (c *call) reportBreaker(t ticket, v verdict) {
	if c.u.breaker != nil {
		c.u.breaker.done(t, v)
	}
}

// breakerVerdict is what the breaker is told of an attempt: a failure for a
// 5xx or a transport error, nothing when the caller gave up.
func (c *call) breakerVerdict(resp *http.Response, err error) verdict {
	switch {
	case err != nil && context.Cause(c.ctx) != nil:
		return verdictNotSent
	case err != nil || resp.StatusCode >= 500:
		return verdictFailure
	}
	return verdictSuccess
}

// maxWaitKey carries WithMaxWait's bound in a context.
type maxWaitKey struct{}

// WithMaxWait returns a context under which a request waits at most d
// before it leaves (less than the upstream's max_wait, never more): a
// request that would wait longer is answered at once with a synthetic
// response whose Retry-After says how long (Heed-Synthetic: cooldown or
// limit). Unlike a deadline it does not bound the request once sent. Job
// runners use it to put work aside instead of holding a worker.
func WithMaxWait(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, maxWaitKey{}, max(d, 0))
}
