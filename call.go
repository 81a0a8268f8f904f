package heed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/scope"
	"github.com/heedhq/heed/store"
)

// call is one RoundTrip of a matched request: its attempts, waits and
// retries.
type call struct {
	u         *upstream
	req       *http.Request
	ctx       context.Context
	key       scope.Key
	scopeKey  string
	anonymous bool
	started   time.Time
	// seq is the scope's admission count when this call's latest attempt
	// was let go.
	seq int64
	// probing is set while this call holds its scope's probe.
	probing bool
	// waited is the time waited per reason since it was last reported
	// (see flushWaits).
	waited [waitReasons]time.Duration
}

func (u *upstream) newCall(req *http.Request) call {
	key, anonymous := u.scopeOf(req)
	c := call{u: u, req: req, ctx: req.Context(), key: key, scopeKey: key.String(), anonymous: anonymous, started: u.t.clock.Now()}
	u.flightOf(key, c.scopeKey, c.started)
	return c
}

// outcome is what one attempt produced: a response or an error, and the
// signal read from the response.
type outcome struct {
	resp *http.Response
	err  error
	sig  quota.Signal
}

// run makes attempts until one is final.
func (c *call) run() (*http.Response, error) {
	defer c.flushWaits() // the waits of a request that gives up
	for attempt := 1; ; attempt++ {
		tk, syn := c.enterBreaker()
		if syn != nil {
			return c.answer(syn), nil
		}
		lease, syn, err := c.admit()
		if err != nil || syn != nil {
			c.reportBreaker(tk, verdictNotSent)
		}
		if err != nil {
			return nil, c.abandon(err)
		}
		if syn != nil {
			return c.answer(syn), nil
		}
		out := c.send(attempt, lease, tk)
		delay, again := c.retryDelay(attempt, out)
		if !again {
			return c.finish(out)
		}
		c.u.t.metrics.Retry(c.u.cfg.Name, retryReason(out))
		c.u.t.log.LogAttrs(c.ctx, slogInfo, "heed: retrying",
			attr("upstream", c.u.cfg.Name), attr("scope", c.key.Short()), attr("attempt", attempt+1),
			attr("delay", delay), attr("reason", reasonOf(out)))
		discard(out.resp)
		if err := c.sleep(waitBackoff, delay); err != nil {
			return nil, c.abandon(err)
		}
	}
}

// send makes one attempt: it sends a clone of the request, releases the
// concurrency lease when the response body is done, and records what the
// response said.
func (c *call) send(attempt int, lease held, tk ticket) outcome {
	c.flushWaits()      // the waits before this attempt left
	defer c.dropProbe() // after record: the answer has taught what it could
	req, err := c.attemptRequest(attempt)
	if err != nil {
		c.reportBreaker(tk, verdictNotSent)
		c.release(lease)
		return outcome{err: err}
	}
	resp, err := c.roundTrip(req)
	c.u.flight(c.scopeKey).answered.Add(1)
	c.reportBreaker(tk, c.breakerVerdict(resp, err))
	if err != nil {
		c.release(lease)
		return outcome{err: err}
	}
	now := c.u.t.clock.Now()
	out := outcome{resp: resp, sig: c.read(req, resp, now)}
	c.record(resp, out.sig, now)
	c.holdLease(resp, lease)
	return out
}

// ErrUpstreamTimeout is wrapped by the error of an attempt whose response
// headers did not arrive within the upstream's Timeout.
var ErrUpstreamTimeout = errors.New("heed: upstream did not answer in time")

// roundTrip sends one attempt through the base transport, bounding the
// wait for the response's headers by the upstream's Timeout. The body,
// which may be a long stream, is not bounded.
func (c *call) roundTrip(req *http.Request) (*http.Response, error) {
	d := c.u.cfg.Timeout
	if d <= 0 {
		return c.u.t.base.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(d, func() { cancel(ErrUpstreamTimeout) })
	resp, err := c.u.t.base.RoundTrip(req.WithContext(ctx))
	fired := !timer.Stop()
	if err != nil {
		cancel(nil)
		if fired && errors.Is(context.Cause(ctx), ErrUpstreamTimeout) {
			err = fmt.Errorf("%w (timeout %v): %w", ErrUpstreamTimeout, d, err)
		}
		return nil, err
	}
	if resp.Body == nil {
		cancel(nil)
		return resp, nil
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

// cancelBody ends its request's context when the body is closed or read to
// the end.
type cancelBody struct {
	io.ReadCloser
	once   sync.Once
	cancel func()
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.cancel)
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.cancel)
	return err
}

// attemptRequest returns the request to send: the caller's own the first
// time (heed changes nothing in it), then a shallow copy whose body is
// replayed from GetBody.
func (c *call) attemptRequest(attempt int) (*http.Request, error) {
	if attempt == 1 || c.req.Body == nil || c.req.Body == http.NoBody {
		return c.req, nil
	}
	body, err := c.req.GetBody()
	if err != nil {
		return nil, err
	}
	req := *c.req
	req.Body = body
	return &req, nil
}

// read parses the response's rate-limit signals; now is when it arrived.
func (c *call) read(req *http.Request, resp *http.Response, now time.Time) quota.Signal {
	var peek []byte
	if shouldPeek(req, resp) {
		peek = peekBody(resp, errorPeek)
	}
	return quota.Parse(quota.Response{Status: resp.StatusCode, Header: resp.Header, Body: peek, Vendor: c.u.vendor}, now)
}

// release gives a concurrency lease back.
func (c *call) release(lease held) {
	c.u.release(c.ctx, c.scopeKey, lease)
}

// release gives a scope's concurrency lease back, even when ctx is done.
func (u *upstream) release(ctx context.Context, scopeKey string, h held) {
	if h.lease == (store.Lease{}) {
		return
	}
	s := u.t.store
	if h.local {
		s = u.t.fleet.local
	}
	if err := s.Release(context.WithoutCancel(ctx), scopeKey, h.lease); err != nil {
		u.t.metrics.StoreError(u.cfg.Name, StoreOpRelease)
		u.t.log.LogAttrs(ctx, slogWarn, "heed: releasing a concurrency slot failed", attr("upstream", u.cfg.Name), attr("error", err.Error()))
	}
}

// holdLease keeps the lease until the response body is closed or read to
// the end: a request is in flight until its answer has arrived.
func (c *call) holdLease(resp *http.Response, lease held) {
	if lease.lease == (store.Lease{}) {
		return
	}
	if resp.Body == nil {
		c.release(lease)
		return
	}
	resp.Body = &leasedBody{ReadCloser: resp.Body, u: c.u, ctx: c.ctx, scopeKey: c.scopeKey, lease: lease}
}

// leasedBody releases its lease once, at EOF or Close.
type leasedBody struct {
	io.ReadCloser
	once     sync.Once
	u        *upstream
	ctx      context.Context
	scopeKey string
	lease    held
}

func (b *leasedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.release)
	}
	return n, err
}

func (b *leasedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

func (b *leasedBody) release() { b.u.release(b.ctx, b.scopeKey, b.lease) }

// discard drains (bounded) and closes the body of a response that will not
// reach the caller, so its connection can be reused.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}
