package limit

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Microsecond is the unit of every time and duration in this package.
const Microsecond = int64(time.Microsecond)

// Micros converts a duration to microseconds, rounding up so that a wait is
// never shorter than asked.
func Micros(d time.Duration) int64 {
	return int64((d + time.Microsecond - 1) / time.Microsecond)
}

// Duration converts microseconds to a duration.
func Duration(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// GCRA is a generic cell rate algorithm: one unit every Interval, with up to
// Tolerance of credit for bursts. Its state is one number, the theoretical
// arrival time (TAT) of the next unit, in microseconds; 0 means never used.
// The zero GCRA allows everything.
type GCRA struct {
	Interval  int64 // microseconds per unit
	Tolerance int64 // microseconds of burst beyond one unit: (burst-1)*Interval
}

// ErrInvalid is returned for limits that cannot be enforced.
var ErrInvalid = errors.New("limit: invalid limit")

// maxInterval bounds an interval at about 100 years, far beyond any real
// limit, so that interval*burst cannot overflow.
const maxInterval = 100 * 365 * 24 * 3600 * 1_000_000

// maxBurst bounds a burst, for the same reason.
const maxBurst = 1 << 20

// NewGCRA returns the GCRA for "requests per per", letting burst requests
// through back to back (0 means 1), with headroom in [0, 0.5) of the rate
// left unused.
func NewGCRA(requests int64, per time.Duration, burst int64, headroom float64) (GCRA, error) {
	switch {
	case requests <= 0 || per <= 0:
		return GCRA{}, fmt.Errorf("%w: %d per %v: both must be positive", ErrInvalid, requests, per)
	case burst < 0 || burst > maxBurst:
		return GCRA{}, fmt.Errorf("%w: burst %d out of [0, %d]", ErrInvalid, burst, maxBurst)
	case !(headroom >= 0 && headroom < 0.5):
		return GCRA{}, fmt.Errorf("%w: headroom %v out of [0, 0.5)", ErrInvalid, headroom)
	}
	interval := math.Ceil(float64(per) / float64(time.Microsecond) / float64(requests) / (1 - headroom))
	if interval > maxInterval {
		return GCRA{}, fmt.Errorf("%w: %d per %v is slower than one a century", ErrInvalid, requests, per)
	}
	return GCRA{Interval: max(int64(interval), 1), Tolerance: (max(burst, 1) - 1) * max(int64(interval), 1)}, nil
}

// Burst returns how many units the GCRA lets through back to back.
func (g GCRA) Burst() int64 {
	if g.Interval <= 0 {
		return 0
	}
	return g.Tolerance/g.Interval + 1
}

// Decision is the outcome of asking a GCRA for units at a time.
type Decision struct {
	// Allowed reports whether the units may be spent now.
	Allowed bool
	// TAT is the state to keep: the new TAT when allowed, the old one when not.
	TAT int64
	// Wait is how long, in microseconds, until the same request would be
	// allowed; 0 when allowed.
	Wait int64
	// Remaining is how many more units would be allowed at once after this
	// decision.
	Remaining int64
	// ResetAfter is how long, in microseconds, until the GCRA is back to its
	// full burst.
	ResetAfter int64
}

// Decide asks for cost units at now, given the state tat. A cost above the
// burst is charged as the burst, so that such a request is not refused
// forever; callers should not ask for it.
func (g GCRA) Decide(tat, now, cost int64) Decision {
	if g.Interval <= 0 {
		return Decision{Allowed: true, TAT: tat}
	}
	cost = min(max(cost, 1), g.Burst())
	newTAT := max(tat, now) + cost*g.Interval
	allowAt := newTAT - g.Interval - g.Tolerance
	if allowAt > now {
		return Decision{TAT: tat, Wait: allowAt - now, Remaining: 0, ResetAfter: max(tat-now, 0)}
	}
	return Decision{Allowed: true, TAT: newTAT, Remaining: g.remaining(newTAT, now), ResetAfter: newTAT - now}
}

// remaining returns how many units are allowed at once given tat at now.
func (g GCRA) remaining(tat, now int64) int64 {
	return max((now+g.Tolerance+g.Interval-tat)/g.Interval, 0)
}

// Spread returns the GCRA that spends remaining units by a reset
// untilReset microseconds away without spending more: adaptive pacing from
// an API's quota headers. Half the remainder (at least one unit) may go at
// once, so a program far from its quota is not slowed; the rest is spread
// evenly until the reset. Started fresh, it allows at most remaining units
// before the reset: the burst B at once, then one every untilReset/(R-B).
// With no whole unit left it allows one unit per untilReset: the caller
// cools down until the reset, and then one request goes first to learn the
// new state instead of every waiting one at once. It reports false when the
// reset has passed or remaining is not a number.
func Spread(remaining float64, untilReset int64) (GCRA, bool) {
	switch {
	case untilReset <= 0 || math.IsNaN(remaining):
		return GCRA{}, false
	case remaining < 1:
		return GCRA{Interval: untilReset}, true
	}
	r := int64(min(math.Floor(remaining), maxBurst))
	burst := max(r/2, 1)
	interval := max((untilReset+max(r-burst, 1)-1)/max(r-burst, 1), 1)
	return GCRA{Interval: interval, Tolerance: (burst - 1) * interval}, true
}

// Reprice converts the state tat of GCRA from into the state of GCRA to at
// now, keeping the units already spent and not yet restored: a pace whose
// rate changes keeps its debt, counted in units, not in time.
func Reprice(from, to GCRA, tat, now int64) int64 {
	if tat <= now || from.Interval <= 0 {
		return tat
	}
	units := float64(tat-now) / float64(from.Interval)
	return now + int64(math.Ceil(units*float64(max(to.Interval, 0))))
}

// Share returns the part of g that one of n equal sharers may spend on its
// own, so that n of them together stay within g: the rate divided by n, and
// the burst divided by n (at least one unit each). n below 2 returns g. A
// fleet falls back to its share when the state it shares is out of reach.
func (g GCRA) Share(n int) GCRA {
	if n < 2 || g.Interval <= 0 {
		return g
	}
	nn := int64(min(n, maxBurst))
	interval := min(g.Interval*nn, maxInterval)
	burst := max(g.Burst()/nn, 1)
	return GCRA{Interval: interval, Tolerance: (burst - 1) * interval}
}

// Adjust returns the state tat after units more are charged at now, or
// -units given back when units is negative: settling a charge made before
// the real cost was known. A charge is taken whatever the room left (the
// request has been sent; the debt delays later requests), up to about a
// century of debt; units given back never lift the GCRA above its full
// burst. The zero GCRA does not change.
func (g GCRA) Adjust(tat, now, units int64) int64 {
	if g.Interval <= 0 || units == 0 {
		return tat
	}
	span := int64(maxInterval) // |units| * Interval, capped so it cannot overflow
	if n := max(units, -units); n < maxInterval/g.Interval {
		span = n * g.Interval
	}
	if units > 0 {
		return max(tat, now) + span
	}
	if tat <= now {
		return tat
	}
	return max(tat-span, now)
}
