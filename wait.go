package heed

import (
	"context"
	"time"

	"github.com/heedhq/heed/store"
)

// waitReason indexes call.waited.
type waitReason int

const (
	waitCooldown waitReason = iota
	waitLimit
	waitConcurrency
	waitBackoff
	waitReasons // how many there are
)

// name is the reason's Wait word.
func (r waitReason) name() string {
	switch r {
	case waitCooldown:
		return WaitCooldown
	case waitLimit:
		return WaitLimit
	case waitConcurrency:
		return WaitConcurrency
	}
	return WaitBackoff
}

// waitReasonOf is why a refused Acquire makes the request wait.
func waitReasonOf(r store.Reason) waitReason {
	switch r {
	case store.ReasonCooldown:
		return waitCooldown
	case store.ReasonConcurrency:
		return waitConcurrency
	}
	return waitLimit
}

// waitDeadline is the latest time a request may still be waiting to leave:
// max_wait after RoundTrip began (or the shorter WithMaxWait), or the
// request's deadline if sooner.
func (c *call) waitDeadline() time.Time {
	if !c.deadline.IsZero() { // a shared flight's call waits by its first caller's
		return c.deadline
	}
	maxWait := c.u.cfg.MaxWait
	if c.opts.hasMaxWait && c.opts.maxWait < maxWait {
		maxWait = c.opts.maxWait
	}
	d := c.started.Add(maxWait)
	if ctxD, ok := c.ctx.Deadline(); ok && ctxD.Before(d) {
		d = ctxD
	}
	return d
}

// sleep waits d like the clock's Sleep, and counts the time it took toward
// reason until flushWaits reports it.
func (c *call) sleep(reason waitReason, d time.Duration) error {
	return c.sleepIn(c.ctx, reason, d)
}

// sleepIn is sleep under ctx instead of the request's context.
func (c *call) sleepIn(ctx context.Context, reason waitReason, d time.Duration) error {
	clock := c.u.t.clock
	if d <= 0 {
		return clock.Sleep(ctx, d)
	}
	if reason != waitBackoff {
		c.sc.waiting.Add(1)
		defer c.sc.waiting.Add(-1)
	}
	start := clock.Now()
	err := clock.Sleep(ctx, d)
	c.waited[reason] += clock.Now().Sub(start)
	return err
}

// flushWaits reports the time waited since the last report, per reason.
func (c *call) flushWaits() {
	for r, d := range c.waited {
		if d > 0 {
			c.u.t.metrics.Waited(c.u.cfg.Name, waitReason(r).name(), d)
			c.waited[r] = 0
		}
	}
}
