package mockapi

import "time"

// decision is a limiter's answer for one request, and what the response
// says about the quota after it.
type decision struct {
	// allowed reports that the request is accepted.
	allowed bool
	// limit is the quota's size: Requests, the bucket's Burst, or
	// Concurrency.
	limit int
	// remaining is what is left after this request.
	remaining int
	// reset is when remaining next grows (the window ends, the oldest
	// request leaves the window, a token is back); the zero Time when the
	// algorithm has none (concurrency).
	reset time.Time
	// window is the quota's window or refill period; 0 for concurrency.
	window time.Duration
	// wait is, for a refused request, how long until a request can
	// succeed; 0 for an accepted one.
	wait time.Duration
}

// limiter is one credential's limit state. Its methods take the time as an
// argument and never read the clock. It is not safe for concurrent use; the
// Server guards it.
type limiter interface {
	// take decides on a request arriving at now and records it.
	take(now time.Time) decision
	// release ends an accepted request (only concurrency cares).
	release()
	// refund gives back what the take just before it, at now, charged,
	// and returns the quota as it stands again: for a request that turned
	// out to be free (a 304 with Cache.Free304). The concurrency cap has
	// nothing to give back: the request holds its slot until release.
	refund(now time.Time) decision
}

// newLimiter returns a fresh limiter for l, or nil for no limit.
func newLimiter(l Limit) limiter {
	switch l.Algorithm {
	case AlgorithmFixed:
		return &fixedWindow{limit: l.Requests, per: l.Per}
	case AlgorithmSliding:
		return &slidingLog{limit: l.Requests, per: l.Per}
	case AlgorithmToken:
		return &tokenBucket{capacity: int64(l.Burst), rate: int64(l.Requests), cost: int64(l.Per), per: l.Per}
	case AlgorithmConcurrency:
		return &inFlightCap{limit: l.Concurrency}
	}
	return nil
}

// fixedWindow accepts limit requests in a window of per that opens with
// the first request after the previous window ended.
type fixedWindow struct {
	limit int
	per   time.Duration
	// start is when the current window opened; zero before the first.
	start time.Time
	// count is how many requests the window accepted.
	count int
}

func (f *fixedWindow) take(now time.Time) decision {
	if f.start.IsZero() || !now.Before(f.start.Add(f.per)) {
		f.start, f.count = now, 0
	}
	d := decision{limit: f.limit, reset: f.start.Add(f.per), window: f.per}
	if f.count >= f.limit {
		d.wait = d.reset.Sub(now)
		return d
	}
	f.count++
	d.allowed, d.remaining = true, f.limit-f.count
	return d
}

func (f *fixedWindow) release() {}

func (f *fixedWindow) refund(now time.Time) decision {
	f.count = max(f.count-1, 0)
	return decision{allowed: true, limit: f.limit, remaining: f.limit - f.count, reset: f.start.Add(f.per), window: f.per}
}

// slidingLog accepts a request when fewer than limit were accepted in the
// span of per that ends now.
type slidingLog struct {
	limit int
	per   time.Duration
	// times holds the arrival times of the accepted requests still in the
	// window, oldest first.
	times []time.Time
}

func (s *slidingLog) take(now time.Time) decision {
	s.prune(now)
	d := decision{limit: s.limit, window: s.per}
	if len(s.times) >= s.limit {
		d.reset = s.times[0].Add(s.per)
		d.wait = d.reset.Sub(now)
		return d
	}
	s.times = append(s.times, now)
	d.allowed, d.remaining, d.reset = true, s.limit-len(s.times), s.times[0].Add(s.per)
	return d
}

// prune drops the requests that left the window by now.
func (s *slidingLog) prune(now time.Time) {
	i := 0
	for i < len(s.times) && !s.times[i].Add(s.per).After(now) {
		i++
	}
	s.times = s.times[i:]
}

func (s *slidingLog) release() {}

// refund drops the newest request, which the take at now appended. An
// empty log is a whole quota already: its reset is now.
func (s *slidingLog) refund(now time.Time) decision {
	if len(s.times) > 0 {
		s.times = s.times[:len(s.times)-1]
	}
	d := decision{allowed: true, limit: s.limit, remaining: s.limit - len(s.times), reset: now, window: s.per}
	if len(s.times) > 0 {
		d.reset = s.times[0].Add(s.per)
	}
	return d
}

// tokenBucket holds up to capacity tokens and regains rate tokens per per.
// It counts in integer units so that every reset is exact: a token is cost
// units (per in nanoseconds) and rate units come back every nanosecond.
type tokenBucket struct {
	capacity, rate, cost int64
	per                  time.Duration
	// credit is the units held at last; last is zero before the first
	// request, when the bucket is full.
	credit int64
	last   time.Time
}

func (b *tokenBucket) take(now time.Time) decision {
	b.refill(now)
	d := decision{limit: int(b.capacity), window: b.per}
	if b.credit < b.cost {
		d.wait = b.until(b.cost)
		d.reset = now.Add(d.wait)
		return d
	}
	b.credit -= b.cost
	d.allowed, d.remaining = true, int(b.credit/b.cost)
	d.reset = now.Add(b.until(int64(d.remaining+1) * b.cost))
	return d
}

// refill adds the units regained since last. A clock that went back adds
// nothing.
func (b *tokenBucket) refill(now time.Time) {
	full := b.capacity * b.cost
	if b.last.IsZero() {
		b.credit, b.last = full, now
		return
	}
	elapsed := int64(now.Sub(b.last))
	if elapsed <= 0 {
		return
	}
	b.last = now
	if missing := full - b.credit; elapsed >= ceilDiv(missing, b.rate) {
		b.credit = full
		return
	}
	b.credit += elapsed * b.rate
}

// until returns how long until the bucket holds units, 0 if it does.
func (b *tokenBucket) until(units int64) time.Duration {
	if b.credit >= units {
		return 0
	}
	return time.Duration(ceilDiv(units-b.credit, b.rate))
}

func (b *tokenBucket) release() {}

// refund gives the token back. A full bucket's reset is now: nothing is
// missing.
func (b *tokenBucket) refund(now time.Time) decision {
	b.giveN(1)
	d := decision{allowed: true, limit: int(b.capacity), remaining: int(b.held()), reset: now, window: b.per}
	if int64(d.remaining) < b.capacity {
		d.reset = now.Add(b.until(int64(d.remaining+1) * b.cost))
	}
	return d
}

// The methods below charge n tokens at once, for the LLM buckets, whose
// requests cost many tokens each. Call refill first.

// waitN returns how long until the bucket holds n tokens, 0 if it does;
// false when n is more than the bucket's capacity, so it never will.
func (b *tokenBucket) waitN(n int64) (time.Duration, bool) {
	if n > b.capacity {
		return 0, false
	}
	return b.until(n * b.cost), true
}

// takeN takes n tokens, which may leave the bucket in debt (a correction
// that charges more than the arrival did), at most one full bucket deep.
func (b *tokenBucket) takeN(n int64) {
	b.credit = max(b.credit-min(n, b.capacity)*b.cost, -b.capacity*b.cost)
}

// giveN gives n tokens back, up to a full bucket.
func (b *tokenBucket) giveN(n int64) {
	b.credit = min(b.credit+min(n, b.capacity)*b.cost, b.capacity*b.cost)
}

// held returns the whole tokens the bucket holds, 0 when in debt.
func (b *tokenBucket) held() int64 {
	return max(b.credit/b.cost, 0)
}

// untilFull returns how long until the bucket is full, 0 if it is.
func (b *tokenBucket) untilFull() time.Duration {
	return b.until(b.capacity * b.cost)
}

// inFlightCap accepts a request while fewer than limit are in flight.
type inFlightCap struct {
	limit int
	// n is how many accepted requests are in flight.
	n int
}

// concurrencyRetry is the wait a concurrency refusal states.
const concurrencyRetry = time.Second

func (c *inFlightCap) take(time.Time) decision {
	d := decision{limit: c.limit}
	if c.n >= c.limit {
		d.wait = concurrencyRetry
		return d
	}
	c.n++
	d.allowed, d.remaining = true, c.limit-c.n
	return d
}

func (c *inFlightCap) refund(time.Time) decision {
	return decision{allowed: true, limit: c.limit, remaining: c.limit - c.n}
}

func (c *inFlightCap) release() {
	if c.n > 0 {
		c.n--
	}
}

// ceilDiv returns a/b rounded up, for a >= 0 and b > 0.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}
