package mockapi

import "time"

// bucket names one of a credential's LLM buckets.
type bucket int

const (
	bucketRequests bucket = iota
	bucketTokens
	bucketInputTokens
	bucketOutputTokens
	numBuckets
)

// String returns the bucket's name as the vendors' headers spell it.
func (b bucket) String() string {
	return [numBuckets]string{"requests", "tokens", "input-tokens", "output-tokens"}[b]
}

// cost is what a request costs in each bucket, in requests or tokens.
type cost [numBuckets]int64

// minus returns c - d, bucket by bucket.
func (c cost) minus(d cost) cost {
	for i := range c {
		c[i] -= d[i]
	}
	return c
}

// meters are one credential's LLM buckets, each a continuously refilling
// token bucket of its limit per minute, full at first; nil for a bucket
// that is off. Its methods take the time as an argument and never read the
// clock. It is not safe for concurrent use; the Server guards it.
type meters [numBuckets]*tokenBucket

// newMeters returns the buckets of limits (per minute; 0 is off).
func newMeters(limits [numBuckets]int64) meters {
	var m meters
	for i, n := range limits {
		if n > 0 {
			m[i] = &tokenBucket{capacity: n, rate: n, cost: int64(time.Minute), per: time.Minute}
		}
	}
	return m
}

// bucketView is one bucket's state as a response describes it.
type bucketView struct {
	// on reports that the bucket exists; the other fields are zero if not.
	on               bool
	limit, remaining int64
	// full is when the bucket is full again (the vendors' reset).
	full time.Time
}

// verdict is the answer of meters.charge.
type verdict struct {
	allowed bool
	// wait is, for a refused request, how long until its charge fits;
	// never reports that it cannot fit at all (it is larger than a bucket).
	wait  time.Duration
	never bool
	// short marks the buckets that lacked room.
	short [numBuckets]bool
	// views are the buckets after the charge (or the refusal).
	views [numBuckets]bucketView
}

// charge takes c from every bucket at now if it fits in all of them, and
// takes nothing otherwise.
func (m *meters) charge(now time.Time, c cost) verdict {
	var v verdict
	for i, b := range m {
		if b == nil {
			continue
		}
		b.refill(now)
		wait, ok := b.waitN(c[i])
		v.short[i] = !ok || wait > 0
		v.never = v.never || !ok
		v.wait = max(v.wait, wait)
	}
	v.allowed = v.short == [numBuckets]bool{}
	if v.allowed {
		for i, b := range m {
			if b != nil {
				b.takeN(c[i])
			}
		}
	}
	v.views = m.views(now)
	return v
}

// correct settles a request charged arrival whose cost turned out final:
// it gives back what the arrival charged too much, or takes what it
// charged too little.
func (m *meters) correct(now time.Time, arrival, final cost) {
	for i, d := range arrival.minus(final) {
		b := m[i]
		if b == nil || d == 0 {
			continue
		}
		b.refill(now)
		if d > 0 {
			b.giveN(d)
		} else {
			b.takeN(-d)
		}
	}
}

// views returns every bucket's state at now.
func (m *meters) views(now time.Time) [numBuckets]bucketView {
	var out [numBuckets]bucketView
	for i, b := range m {
		if b == nil {
			continue
		}
		b.refill(now)
		out[i] = bucketView{on: true, limit: b.capacity, remaining: b.held(), full: now.Add(b.untilFull())}
	}
	return out
}

// firstShort returns the first bucket that lacked room in v, in the order
// requests, tokens, input tokens, output tokens.
func firstShort(v verdict) bucket {
	for b := range numBuckets {
		if v.short[b] {
			return b
		}
	}
	return bucketRequests
}
