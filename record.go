package heed

import (
	"net/http"
	"time"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/store"
)

// record writes what a response said into the scope's shared state: a
// cooldown when it says to wait, paces when its quota runs low. now is when
// it arrived.
func (c *call) record(resp *http.Response, sig quota.Signal, now time.Time) {
	c.reportRemaining(sig)
	c.u.flight(c.scopeKey).keepQuotas(sig.Quotas, now)
	learn := c.learns()
	if w, source, ok := c.cooldownWait(sig, learn); ok {
		c.setCooldown(resp, now.Add(w), source)
	}
	if learn {
		c.pace(resp, sig, now)
	}
}

// learns reports whether the call's pacing is learned from quota headers:
// the upstream is adaptive and no configured limit covers the request. A
// configured limit is what the user knows of the rate; it takes precedence,
// because quota headers are often coarse (resets rounded to whole seconds
// would make a learned pace far slower than a sub-second limit allows). A
// refusal still cools the scope down either way.
func (c *call) learns() bool {
	return c.u.adaptive() && len(c.u.limitsFor(c.req.URL.Path)) == 0
}

// cooldownWait returns how long the scope must pause after sig: the wait it
// names, or the configured default when a limited response names none,
// capped by the configured maximum. When learning, it also pauses until the
// reset of a quota a successful response spent to the last unit.
func (c *call) cooldownWait(sig quota.Signal, learn bool) (time.Duration, string, bool) {
	pol := c.u.cfg.Cooldown
	switch {
	case sig.Limited && sig.Cause == quota.CauseRateLimit:
		if sig.Wait == 0 {
			return pol.Default, "default", true
		}
		return min(sig.Wait, pol.Max), sig.WaitSource, true
	case !sig.Limited && sig.Wait > 0 && learn:
		return min(sig.Wait, pol.Max), sig.WaitSource, true
	}
	return 0, "", false
}

// setCooldown records the cooldown and, the first time an anonymous scope
// is limited, tells the developer how to give it its own credential.
func (c *call) setCooldown(resp *http.Response, until time.Time, source string) {
	cd := store.Cooldown{Until: until, Status: orStatus(resp.StatusCode), Header: replayHeader(resp.Header), Source: source}
	if inForce, err := c.recordCooldown(cd); err != nil {
		c.u.t.log.LogAttrs(c.ctx, slogWarn, "heed: recording a cooldown failed", attr("upstream", c.u.cfg.Name), attr("error", err.Error()))
	} else if !inForce.Until.After(until) { // not kept a longer one
		c.u.t.metrics.Cooldown(c.u.cfg.Name, until.Sub(c.u.t.clock.Now()))
	}
	c.u.t.log.LogAttrs(c.ctx, slogInfo, "heed: cooling down", attr("upstream", c.u.cfg.Name), attr("scope", c.key.Short()),
		attr("status", resp.StatusCode), attr("until", until), attr("source", source))
	if c.anonymous && c.u.anonymousWarned.CompareAndSwap(false, true) {
		c.u.t.log.LogAttrs(c.ctx, slogWarn, "heed: rate limited with no recognized credential: every request of this upstream shares one anonymous scope; "+
			"if the API key travels in another header or query parameter, name it under credentials: {headers: [...], query: [...]}",
			attr("upstream", c.u.cfg.Name))
	}
}

// pace records a pace for each quota the response reports with units left
// and a reset ahead (limit.Spread), until that reset; a newer observation
// replaces it. What a reset restores is unknown (all of a fixed window, one
// unit of a sliding window or a token bucket), so after it the scope is
// unknown again and goes one request at a time until an answer describes it
// (see concurrency).
//
// The remaining quota a response reports may not count every request this
// process let go: not those sent after it, nor those sent before it that
// reached the server later. They spend from it too, so they are taken off
// first (see uncounted).
func (c *call) pace(resp *http.Response, sig quota.Signal, now time.Time) {
	f := c.u.flight(c.scopeKey)
	if len(sig.Quotas) == 0 {
		f.knownUntil.CompareAndSwap(0, noQuotaHeaders)
		return
	}
	after := float64(c.uncounted())
	for _, q := range sig.Quotas {
		if !q.HasRemaining || !q.Reset.After(now) {
			continue
		}
		until := q.Reset.Sub(now)
		if q.Remaining-after < 1 { // nothing left for anyone until the reset
			c.setCooldown(resp, q.Reset, q.Source)
		}
		p, ok := c.learnedPace(q, q.Remaining-after, until, now)
		if !ok {
			continue
		}
		if err := c.recordPace(p); err != nil {
			c.u.t.log.LogAttrs(c.ctx, slogWarn, "heed: recording a pace failed", attr("upstream", c.u.cfg.Name), attr("error", err.Error()))
			return
		}
		f.knownUntil.Store(p.Until.UnixMicro())
	}
}

// uncounted bounds from above how many of the scope's requests this process
// let go that the server may not have counted in this call's answer: those
// let go after it, plus those still unanswered (some are counted twice,
// which errs on the safe side).
func (c *call) uncounted() int64 {
	f := c.u.flight(c.scopeKey)
	admitted := f.admitted.Load()
	return max(admitted-c.seq, 0) + max(admitted-f.answered.Load(), 0)
}

// learnedPace returns the pace a quota teaches. When the response states
// the quota's size and window (the IETF drafts' q and w, HubSpot's
// interval), it is that rate, as if configured, for one window: it holds
// whatever the window's algorithm, and a whole-second reset does not slow
// it. Otherwise it spreads the remainder until the reset (limit.Spread).
func (c *call) learnedPace(q quota.Quota, remaining float64, until time.Duration, now time.Time) (store.Pace, bool) {
	key := "quota:" + q.Name
	if q.HasLimit && q.Limit >= 1 && q.Window > 0 {
		g, err := limit.NewGCRA(int64(q.Limit), q.Window+ArrivalJitter, 1, c.u.cfg.Headroom)
		if err == nil {
			return store.Pace{Key: key, GCRA: g, Until: maxTime(q.Reset, now.Add(q.Window))}, true
		}
	}
	g, ok := limit.Spread(remaining, limit.Micros(until))
	return store.Pace{Key: key, GCRA: g, Until: q.Reset}, ok
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
