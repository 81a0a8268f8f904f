package heed

import (
	"context"
	"net/http"
	"time"

	"github.com/heedhq/heed/learn"
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
	learning := c.learns()
	cd, ok := c.cooldownOf(sig, learning)
	if learning {
		until, source, empty, modeled := c.pace(sig, now)
		if modeled && !sig.Limited {
			// The wait a successful answer names is its exhausted
			// quotas' resets; the scope learned when their units are
			// back, which is sooner when resets are rounded.
			cd, ok = pause{}, false
		}
		if empty && until.After(cd.until) {
			cd, ok = pause{until: until, source: source}, true
		}
	}
	if !ok {
		return
	}
	inForce := c.setCooldown(out.resp, cd, now)
	if sig.Limited && sig.Cause == quota.CauseRateLimit {
		if learning {
			c.sc.learned.refute() // the API refused what the models let go
		}
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
// and a reset ahead, until that reset; a newer observation replaces it.
// How it paces is what the scope learned of the quota so far (package
// learn): Limit per learned window, as if configured, once the answers
// told how the quota comes back; until then the remainder spread until the
// reset (limit.Spread), after which the scope is unknown again and goes
// one request at a time until an answer describes it (see
// scopeState.known). It returns the latest time a quota with nothing left
// for anyone has a unit back, and empty set, when there is one: the scope
// then pauses until it; modeled reports that every quota the API reports
// exhausted has a learned model (then that time, not the answer's resets,
// is when the scope may go on).
//
// The remaining quota a response reports may not count every request this
// process let go: not those sent after it, nor those sent before it that
// reached the server later. They spend from it too, so they are taken off
// first (see scopeState.uncounted); a learned pace spaces them already, so
// it pauses only when the API itself reports nothing left.
func (c *call) pace(sig quota.Signal, now time.Time) (until time.Time, source string, empty, modeled bool) {
	if len(sig.Quotas) == 0 {
		c.sc.knownUntil.CompareAndSwap(0, noQuotaHeaders)
		return time.Time{}, "", false, false
	}
	after := float64(c.sc.uncounted(c.seq))
	var ps pauses
	for _, q := range sig.Quotas {
		if err := c.paceQuota(q, after, now, &ps); err != nil {
			c.u.t.log.LogAttrs(c.ctx, slogWarn, "heed: recording a pace failed", attr("upstream", c.u.cfg.Name), attr("error", err.Error()))
			break
		}
	}
	return ps.until, ps.source, !ps.until.IsZero(), ps.exhausted > 0 && ps.modeled == ps.exhausted
}

// pauses is what pace gathers from an answer's quotas: the latest time one
// with nothing left has a unit back (and what said so), and how many of
// those the API reports exhausted have a learned model.
type pauses struct {
	until              time.Time
	source             string
	exhausted, modeled int
}

// note keeps until if it is the latest.
func (ps *pauses) note(until time.Time, source string) {
	if until.After(ps.until) {
		ps.until, ps.source = until, source
	}
}

// paceQuota learns from q, records its pace, and notes in ps when the
// scope must pause for it. A request quota of an unpriced upstream is
// learned (see package learn); once one process of a fleet learned it,
// the store keeps that pace in force, and the others learn it from there.
func (c *call) paceQuota(q quota.Quota, after float64, now time.Time, ps *pauses) error {
	bucket := c.bucket(q)
	if !q.HasRemaining || !bucket && !q.Reset.After(now) {
		return nil
	}
	requests := c.u.pricing.unitOf(q) == store.UnitRequests
	var m learn.Model
	if requests && !bucket {
		m = c.sc.learned.observe(q, c.sent, now)
	}
	left := q.Remaining - after
	if !requests {
		left = q.Remaining // what heed sent since is counted in tokens, not requests
	}
	if p, ok := c.learnedPace(q, m, left, q.Reset.Sub(now), now); ok {
		inForce, err := c.u.t.store.SetPace(context.WithoutCancel(c.ctx), c.sc.key, p)
		if err != nil {
			return err
		}
		if requests && !bucket && !m.Known() && !inForce.Learned.IsZero() {
			m = c.sc.learned.adopt(q, inForce.Learned)
		}
		c.sc.knownUntil.Store(inForce.Until.UnixMicro())
	}
	if requests && !bucket && m.Known() && m.Window >= burstWindow {
		if p, ok := creditPace(q, m, left, now); ok {
			if _, err := c.u.t.store.SetPace(context.WithoutCancel(c.ctx), c.sc.key, p); err != nil {
				return err
			}
			c.sc.knownUntil.Store(p.Until.UnixMicro())
		}
	}
	if q.Exhausted() {
		ps.exhausted++
	}
	switch {
	case !requests || bucket:
		// An empty bucket refills continuously, for the next request,
		// not at its reset: its pace waits.
	case m.Known() && q.Exhausted():
		ps.modeled++
		ps.note(m.NextUnit(now, q.Reset), q.Source)
	case !m.Known() && left < 1: // nothing left for anyone until the reset
		ps.note(q.Reset, q.Source)
	}
	return nil
}

// learnedPace returns the pace a quota teaches. Once the scope learned how
// the quota comes back (m, from the answers, or the window the response
// states: the IETF drafts' w=, HubSpot's interval), it is that rate, as
// if configured (Limit per window, with ArrivalJitter and the headroom),
// for a window at least: it holds whatever the window's algorithm, and a
// whole-second reset does not slow it. A window under burstWindow is paced
// evenly, as a configured limit of the default burst is; a longer one's
// burst is the whole quota, and what may go at once is what the answer
// says is left, which creditPace allows. Otherwise it spreads the
// remainder until the reset (limit.Spread).
//
// A priced upstream's token quotas (OpenAI's tokens, Anthropic's input
// and output tokens) pace in their unit, counted in the upstream's
// granules, so that what a request is charged is spent from them; an
// unpriced upstream's pace every quota in requests.
func (c *call) learnedPace(q quota.Quota, m learn.Model, remaining float64, until time.Duration, now time.Time) (store.Pace, bool) {
	key := "quota:" + q.Name
	unit := c.u.pricing.unitOf(q)
	per := float64(c.u.pricing.granule[unit])
	remaining /= per
	if c.bucket(q) {
		return c.bucketPace(key, unit, q.Limit/per, remaining, until, q.Reset, now)
	}
	if m.Known() {
		// Only request quotas are learned, so per is 1 here. What may
		// go at once is the credit's to say (creditPace).
		burst := int64(1)
		switch {
		case m.Window >= burstWindow:
			burst = int64(m.Limit)
		case m.Kind == learn.KindBucket:
			// What a bucket holds may go at once: it refills
			// continuously, edges or not.
			burst = min(max(int64(remaining), 1), int64(m.Limit))
		}
		g, err := limit.NewGCRA(int64(m.Limit), m.Window+ArrivalJitter, burst, c.u.cfg.Headroom)
		if err == nil {
			return store.Pace{Key: key, GCRA: g, Until: maxTime(q.Reset, now.Add(m.Window)), Unit: unit,
				Learned: store.Learned{Limit: int64(m.Limit), Window: m.Window}}, true
		}
	}
	g, ok := limit.Spread(remaining, limit.Micros(until))
	return store.Pace{Key: key, GCRA: g, Until: q.Reset, Unit: unit}, ok
}

// burstWindow is the shortest learned window whose pace lets a burst go:
// on a shorter one, requests that go back to back at a window's edge meet
// the jitter of arrival times (measured on heed mock's 1-second windows:
// 1.6-3.2% refused when bursting, none paced evenly), while on a window of
// a minute or an hour an even pace would hold a program that is far from
// its quota to a trickle (GitHub's 5,000 an hour: one request every 0.72s).
const burstWindow = time.Minute

// creditPace is the pace of what an answer says is left of a learned
// quota (remaining, less what this process let go since): all of it at
// once, then one unit each time the quota grows again by what the model
// can vouch for (the end of a window still open, else the answer's
// reset). It starts afresh with each answer, which counts what was spent,
// and holds until the reset: after it, or after the process was idle
// until then, one request goes first to learn the quota again (see
// scopeState.known). With the learned rate beside it, a program far from
// an hour's quota is not held to an hour's even rate, and nothing goes
// that the API has not said is there, whatever the window's algorithm.
func creditPace(q quota.Quota, m learn.Model, remaining float64, now time.Time) (store.Pace, bool) {
	back := m.Back(now, q.Reset)
	if !back.After(now) {
		return store.Pace{}, false
	}
	interval := limit.Micros(back.Sub(now))
	units := min(max(int64(remaining), 1), int64(m.Limit))
	return store.Pace{Key: "left:" + q.Name, GCRA: limit.GCRA{Interval: interval, Tolerance: (units - 1) * interval}, Until: q.Reset, Fresh: true}, true
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
