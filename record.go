package heed

import (
	"context"
	"net/http"
	"time"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/store"
)

// recordLayer writes what each response said into the scope's shared state
// on its way back up, and reports the attempt.
func recordLayer(next handler) handler {
	return func(c *call) outcome {
		out := next(c)
		switch {
		case out.resp != nil:
			c.record(&out)
			c.u.t.metrics.Attempt(c.u.cfg.Name, out.name())
		case out.err != nil && !out.unsent:
			c.u.t.metrics.Attempt(c.u.cfg.Name, OutcomeTransportError)
		}
		return out
	}
}

// record writes what a response said into the scope's shared state: one
// cooldown when it says to wait (however many of its signals say so), and
// paces when its quota runs low.
func (c *call) record(out *outcome) {
	sig, now := out.sig, c.now
	c.reportRemaining(sig)
	c.sc.keepQuotas(sig.Quotas, now, sig.Limited || sig.Wait > 0)
	c.u.learnVendor(sig.Vendor)
	learn := c.learns()
	cd, ok := c.cooldownOf(sig, learn)
	if learn {
		if until, source, empty := c.pace(sig, now); empty && until.After(cd.until) {
			cd, ok = pause{until: until, source: source}, true
		}
	}
	if !ok {
		return
	}
	inForce := c.setCooldown(out.resp, cd, now)
	if sig.Limited && sig.Cause == quota.CauseRateLimit {
		out.refused = c.upstreamRefusal(out.resp.StatusCode, inForce.Sub(now), now)
	}
}

// learns reports whether the call's pacing is learned from quota headers:
// the upstream is adaptive and no configured limit covers the request. A
// configured limit is what the user knows of the rate; it takes precedence,
// because quota headers are often coarse (resets rounded to whole seconds
// would make a learned pace far slower than a sub-second limit allows). A
// refusal still cools the scope down either way.
func (c *call) learns() bool {
	return c.u.adaptive() && !c.u.configuredFor(c.req.URL.Path)
}

// pause is a cooldown to record: until when, and what said so.
type pause struct {
	until  time.Time
	source string
}

// cooldownOf returns the pause sig asks for: the wait it names, or the
// configured default when a limited response names none, capped by the
// configured maximum. When learning, it also pauses until the reset of a
// quota a successful response spent to the last unit.
func (c *call) cooldownOf(sig quota.Signal, learn bool) (pause, bool) {
	pol := c.u.cfg.Cooldown
	switch {
	case sig.Limited && sig.Cause == quota.CauseRateLimit:
		if sig.Wait == 0 {
			return pause{c.now.Add(pol.Default), "default"}, true
		}
		return pause{c.now.Add(min(sig.Wait, pol.Max)), sig.WaitSource}, true
	case !sig.Limited && sig.Wait > 0 && learn:
		return pause{c.now.Add(min(sig.Wait, pol.Max)), sig.WaitSource}, true
	}
	return pause{}, false
}

// setCooldown records the pause for the scope and returns when the
// cooldown in force ends. The first time an anonymous scope is limited, it
// tells the developer how to give it its own credential.
func (c *call) setCooldown(resp *http.Response, p pause, now time.Time) time.Time {
	t := c.u.t
	cd := store.Cooldown{Until: p.until, Status: orStatus(resp.StatusCode), Header: replayHeader(resp.Header), Source: p.source, At: now}
	inForce, err := t.store.SetCooldown(context.WithoutCancel(c.ctx), c.sc.key, cd)
	if err != nil {
		t.log.LogAttrs(c.ctx, slogWarn, "heed: recording a cooldown failed", attr("upstream", c.u.cfg.Name), attr("error", err.Error()))
		inForce = cd
	} else if !inForce.Until.After(p.until) { // not kept a longer one
		t.metrics.Cooldown(c.u.cfg.Name, p.until.Sub(now))
	}
	t.log.LogAttrs(c.ctx, slogInfo, "heed: cooling down", attr("upstream", c.u.cfg.Name), attr("scope", c.sc.short),
		attr("status", resp.StatusCode), attr("until", p.until), attr("source", p.source))
	if c.sc.anonymous && c.u.anonymousWarned.CompareAndSwap(false, true) {
		t.log.LogAttrs(c.ctx, slogWarn, "heed: rate limited with no recognized credential: every request of this upstream shares one anonymous scope; "+
			"if the API key travels in another header or query parameter, name it under credentials: {headers: [...], query: [...]}",
			attr("upstream", c.u.cfg.Name))
	}
	return inForce.Until
}

// orStatus returns the status a cooldown replays: the one that caused it
// when it was a refusal, else 429.
func orStatus(status int) int {
	if status < 400 {
		return http.StatusTooManyRequests
	}
	return status
}

// pace records a pace for each quota the response reports with units left
// and a reset ahead (limit.Spread), until that reset; a newer observation
// replaces it. What a reset restores is unknown (all of a fixed window, one
// unit of a sliding window or a token bucket), so after it the scope is
// unknown again and goes one request at a time until an answer describes it
// (see scopeState.known). It returns the latest reset of a quota with
// nothing left for anyone, and empty set, when there is one: the scope
// then pauses until it.
//
// The remaining quota a response reports may not count every request this
// process let go: not those sent after it, nor those sent before it that
// reached the server later. They spend from it too, so they are taken off
// first (see scopeState.uncounted).
func (c *call) pace(sig quota.Signal, now time.Time) (until time.Time, source string, empty bool) {
	if len(sig.Quotas) == 0 {
		c.sc.knownUntil.CompareAndSwap(0, noQuotaHeaders)
		return time.Time{}, "", false
	}
	after := float64(c.sc.uncounted(c.seq))
	for _, q := range sig.Quotas {
		bucket := c.bucket(q)
		if !q.HasRemaining || !bucket && !q.Reset.After(now) {
			continue
		}
		left := q.Remaining - after
		switch {
		case c.u.pricing.unitOf(q) != store.UnitRequests:
			// What heed sent since is counted in tokens, not requests.
			left = q.Remaining
		case bucket:
			// An empty bucket refills continuously, for the next
			// request, not at its reset: its pace waits.
		case left < 1 && q.Reset.After(until): // nothing left for anyone until the reset
			until, source, empty = q.Reset, q.Source, true
		}
		p, ok := c.learnedPace(q, left, q.Reset.Sub(now), now)
		if !ok {
			continue
		}
		if err := c.u.t.store.SetPace(context.WithoutCancel(c.ctx), c.sc.key, p); err != nil {
			c.u.t.log.LogAttrs(c.ctx, slogWarn, "heed: recording a pace failed", attr("upstream", c.u.cfg.Name), attr("error", err.Error()))
			return until, source, empty
		}
		c.sc.knownUntil.Store(p.Until.UnixMicro())
	}
	return until, source, empty
}

// learnedPace returns the pace a quota teaches. When the response states
// the quota's size and window (the IETF drafts' q and w, HubSpot's
// interval), it is that rate, as if configured, for one window: it holds
// whatever the window's algorithm, and a whole-second reset does not slow
// it. Otherwise it spreads the remainder until the reset (limit.Spread).
//
// A priced upstream's token quotas (OpenAI's tokens, Anthropic's input
// and output tokens) pace in their unit, counted in the upstream's
// granules, so that what a request is charged is spent from them; an
// unpriced upstream's pace every quota in requests.
func (c *call) learnedPace(q quota.Quota, remaining float64, until time.Duration, now time.Time) (store.Pace, bool) {
	key := "quota:" + q.Name
	unit := c.u.pricing.unitOf(q)
	per := float64(c.u.pricing.granule[unit])
	remaining /= per
	if c.bucket(q) {
		return c.bucketPace(key, unit, q.Limit/per, remaining, until, q.Reset, now)
	}
	// Only request quotas come this far with a size (a priced upstream's
	// sized quotas are buckets), so per is 1 below.
	if q.HasLimit && q.Limit >= 1 && q.Window > 0 {
		g, err := limit.NewGCRA(int64(q.Limit), q.Window+ArrivalJitter, 1, c.u.cfg.Headroom)
		if err == nil {
			return store.Pace{Key: key, GCRA: g, Until: maxTime(q.Reset, now.Add(q.Window)), Unit: unit}, true
		}
	}
	g, ok := limit.Spread(remaining, limit.Micros(until))
	return store.Pace{Key: key, GCRA: g, Until: q.Reset, Unit: unit}, ok
}

// bucketWindow is the window of OpenAI's and Anthropic's limits: they
// count requests and tokens per minute, in buckets that refill
// continuously.
const bucketWindow = time.Minute

// bucket reports whether q is one of a priced upstream's (OpenAI's,
// Anthropic's) buckets with a stated size: its reset says when it is full
// again, not when a window restarts.
func (c *call) bucket(q quota.Quota) bool { return c.u.pricing.priced() && q.HasLimit && q.Limit >= 1 }

// bucketPace is the pace of an LLM vendor's bucket of size units (in the
// upstream's granules): what it holds now may go at once, and it refills
// at the rate the answer shows (what it lacks over the time to its full
// reset), or, when it is full, at its size per bucketWindow. (Spreading
// the remainder until the reset, as for a window, would pace a nearly
// empty bucket at a trickle while it refills at its full rate; and a full
// bucket, whose reset is now, would teach nothing and leave the scope to
// learn one request at a time.) The pace holds for a bucketWindow at
// least, so that the scope stays known while the bucket stays full.
func (c *call) bucketPace(key string, unit store.Unit, size, remaining float64, until time.Duration, reset, now time.Time) (store.Pace, bool) {
	lacks := size - max(remaining, 0)
	burst := min(max(int64(remaining), 1), maxGranuleBurst)
	n, per := int64(lacks), until
	if lacks < 1 || until <= 0 {
		n, per = int64(size), bucketWindow
	}
	g, err := limit.NewGCRA(n, per+ArrivalJitter, burst, c.u.cfg.Headroom)
	if err != nil {
		return store.Pace{}, false
	}
	return store.Pace{Key: key, GCRA: g, Until: maxTime(reset, now.Add(bucketWindow)), Unit: unit}, true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// reportRemaining reports each quota the response says has units left.
func (c *call) reportRemaining(sig quota.Signal) {
	for _, q := range sig.Quotas {
		if q.HasRemaining {
			c.u.t.metrics.Remaining(c.u.cfg.Name, q.Name, q.Remaining)
		}
	}
}
