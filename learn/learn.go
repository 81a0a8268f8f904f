package learn

import (
	"math"
	"time"
)

// Kind is how a quota comes back.
type Kind uint8

// The kinds.
const (
	// KindUnknown is a quota not yet learned: the caller spreads what is
	// left until the reset.
	KindUnknown Kind = iota
	// KindWindow is a quota that comes back whole one window after it was
	// whole: a fixed window, or a sliding one.
	KindWindow
	// KindBucket is a quota that comes back a unit at a time at a steady
	// rate: a token bucket.
	KindBucket
)

// String names the kind: "unknown", "window" or "bucket".
func (k Kind) String() string {
	switch k {
	case KindWindow:
		return "window"
	case KindBucket:
		return "bucket"
	}
	return "unknown"
}

// Observation is what one answer said of one quota.
type Observation struct {
	// Sent is when the request left; Answered when its answer arrived
	// (the time its reset was read against).
	Sent, Answered time.Time
	// Limit and Remaining are the quota's size and what is left of it
	// after the request.
	Limit, Remaining float64
	// Reset is when the quota next grows; the zero Time when the answer
	// did not say.
	Reset time.Time
	// Window is the window the answer states (the IETF drafts' w=), 0
	// when it states none.
	Window time.Duration
}

// Model is what the learner knows of a quota.
type Model struct {
	Kind Kind
	// Limit is the quota's size.
	Limit float64
	// Window is how long the whole quota takes to come back: a window's
	// length, or the time a bucket takes to refill from empty. Limit units
	// per Window, evenly spaced, never overspend the quota. 0 for
	// KindUnknown.
	Window time.Duration
	// Opened is, for a window, the latest time the current window can have
	// opened (the answer of the latest request that found the quota
	// whole); the zero Time when no answer said.
	Opened time.Time
}

// Known reports whether the model says how the quota comes back.
func (m Model) Known() bool { return m.Kind != KindUnknown && m.Window > 0 }

// Back returns when, at the latest, the quota grows again by what the
// model can vouch for, given an answer's reset (the zero Time when none):
// the end of a window still open, when that is sooner, else the reset.
func (m Model) Back(now, reset time.Time) time.Time {
	if end := m.Opened.Add(m.Window); m.Kind == KindWindow && !m.Opened.IsZero() && end.After(now) && (reset.IsZero() || end.Before(reset)) {
		return end
	}
	return reset
}

// NextUnit returns when a unit is back at the latest, by the model, for a
// quota reported empty at now whose answer gave reset (the zero Time when
// none): for a window still open, its end; for a window that must have
// rolled over since (or a sliding one), one unit's interval; for a bucket,
// the reset. It is never after reset.
func (m Model) NextUnit(now, reset time.Time) time.Time {
	var next time.Time
	switch {
	case m.Kind == KindUnknown:
		return reset
	case m.Kind == KindWindow && !m.Opened.IsZero() && m.Opened.Add(m.Window).After(now):
		next = m.Opened.Add(m.Window)
	case m.Kind == KindWindow || reset.IsZero():
		next = now.Add(m.unit())
	default:
		return reset
	}
	if !reset.IsZero() && reset.Before(next) {
		return reset
	}
	return next
}

// unit is the time one unit takes to come back at the model's rate.
func (m Model) unit() time.Duration {
	if m.Limit < 1 {
		return m.Window
	}
	return time.Duration(float64(m.Window) / m.Limit)
}

// Quota learns one quota from the answers that describe it. The zero
// Quota has learned nothing. It is not safe for concurrent use.
type Quota struct {
	limit float64
	// fine is set once a reset was not a whole number of seconds, from
	// the epoch or from its answer: resets are then taken to the
	// millisecond, else to the second.
	fine bool
	// lo and hi bound the horizon of a whole quota's reset, lo < horizon
	// <= hi, once an answer found the quota whole (hi > 0).
	lo, hi time.Duration
	// stated is the window the answers state, 0 when none; shared the
	// one another learner learned (see Adopt).
	stated, shared time.Duration
	opened         time.Time
	// highSent and highReset are of the first answer with most of the
	// quota left under its reset: for a window someone else opened (another
	// process of a fleet), it opened by highSent and one window before
	// highReset.
	highSent, highReset time.Time
	model               Model
}

// Precisions of a reset: what a reset in whole seconds, or one finer, may
// be late by.
const (
	coarse = time.Second
	fine   = time.Millisecond
)

// maxWindow bounds what is learned: a horizon beyond a day is not a
// window heed paces by.
const maxWindow = 24 * time.Hour

// Observe learns from o and returns the model as it stands. An
// observation without a usable limit teaches nothing.
func (q *Quota) Observe(o Observation) Model {
	if !(o.Limit >= 1 && o.Limit <= math.MaxInt32) || math.IsNaN(o.Remaining) || o.Answered.Before(o.Sent) {
		return q.model
	}
	if o.Limit != q.limit {
		*q = Quota{limit: o.Limit}
	}
	q.notePrecision(o)
	if o.Window > 0 && o.Window <= maxWindow {
		q.stated = o.Window
	}
	if o.Remaining >= o.Limit-1 && o.Reset.After(o.Sent) {
		q.bound(o)
		q.opened = o.Answered
	}
	if o.Remaining >= o.Limit/2 && !o.Reset.IsZero() && (q.highReset.IsZero() || !o.Reset.Before(q.highReset.Add(q.precision()))) {
		q.highSent, q.highReset = o.Sent, o.Reset
	}
	q.model = q.infer()
	return q.model
}

// precision is what the quota's resets may be late by.
func (q *Quota) precision() time.Duration {
	if q.fine {
		return fine
	}
	return coarse
}

// Model returns what has been learned.
func (q *Quota) Model() Model { return q.model }

// Adopt takes a window another learner of the same quota learned (in a
// fleet, another process), when this one has learned nothing yet, and
// returns the model as it stands. A window for another limit is ignored.
func (q *Quota) Adopt(limit float64, window time.Duration) Model {
	if limit == q.limit && window > 0 && window <= maxWindow {
		q.shared = window
		q.model = q.infer()
	}
	return q.model
}

// Refute forgets what was learned from the answers' resets: the model
// proved wrong. A stated window is kept: the API says so.
func (q *Quota) Refute() {
	*q = Quota{limit: q.limit, fine: q.fine, stated: q.stated, highSent: q.highSent, highReset: q.highReset}
	q.model = q.infer()
}

// notePrecision marks the resets fine when o's is not whole seconds.
func (q *Quota) notePrecision(o Observation) {
	if q.fine || o.Reset.IsZero() {
		return
	}
	if o.Reset.Nanosecond() == 0 {
		return // whole seconds since the epoch
	}
	if o.Reset.Sub(o.Answered)%time.Second == 0 {
		return // whole seconds from the answer
	}
	q.fine = true
}

// bound intersects the bounds with those of o, an answer that found the
// quota whole. Bounds that no longer meet start over from o's: the quota
// changed.
func (q *Quota) bound(o Observation) {
	lo, hi := o.Reset.Sub(o.Answered)-q.precision(), o.Reset.Sub(o.Sent)
	if hi > maxWindow {
		return
	}
	if q.hi > 0 {
		if nlo, nhi := max(lo, q.lo), min(hi, q.hi); nlo < nhi {
			lo, hi = nlo, nhi
		}
	}
	q.lo, q.hi = lo, hi
}

// infer returns the model the bounds and the stated window make.
func (q *Quota) infer() Model {
	m := Model{Limit: q.limit, Opened: q.opened}
	switch {
	case q.stated > 0:
		m.Kind, m.Window = KindWindow, q.stated
	case q.hi <= 0 && q.shared > 0:
		m.Kind, m.Window = KindWindow, q.shared
	case q.hi <= 0:
	case !q.fine:
		if w := q.hi.Truncate(time.Second); w >= time.Second && w > q.lo {
			m.Kind, m.Window = KindWindow, w
		}
	case q.hi >= time.Second:
		m.Kind, m.Window = KindWindow, q.hi
	case float64(q.hi)*q.limit <= float64(maxWindow):
		m.Kind, m.Window = KindBucket, time.Duration(float64(q.hi)*q.limit)
	}
	switch {
	case m.Kind == KindBucket:
		m.Opened = time.Time{}
	case m.Kind == KindWindow && !q.highReset.IsZero() && (m.Opened.IsZero() || !q.highReset.Before(m.Opened.Add(m.Window+q.precision()))):
		// A later window than the one this learner saw open.
		m.Opened = q.highSent
		if start := q.highReset.Add(-m.Window); start.Before(m.Opened) {
			m.Opened = start
		}
	}
	return m
}
