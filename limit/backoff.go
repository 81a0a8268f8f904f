package limit

import (
	"fmt"
	"time"
)

// BackoffKind names a backoff schedule.
type BackoffKind string

// The backoff schedules. Exponential uses full jitter: a uniformly random
// delay between 0 and the exponential bound, which spreads the retries of
// many clients best; the others are deterministic.
const (
	Exponential BackoffKind = "exponential"
	Constant    BackoffKind = "constant"
	Linear      BackoffKind = "linear"
	Fibonacci   BackoffKind = "fibonacci"
)

// Backoff is a retry delay schedule. The zero Kind means Exponential.
type Backoff struct {
	Kind BackoffKind
	Base time.Duration // first delay (the bound of the first, for Exponential)
	Max  time.Duration // no delay is longer; 0 means no bound
}

// Validate reports an unknown kind or negative durations.
func (b Backoff) Validate() error {
	switch b.Kind {
	case "", Exponential, Constant, Linear, Fibonacci:
	default:
		return fmt.Errorf("%w: backoff %q: want exponential, constant, linear or fibonacci", ErrInvalid, b.Kind)
	}
	if b.Base < 0 || b.Max < 0 {
		return fmt.Errorf("%w: backoff durations must not be negative", ErrInvalid)
	}
	return nil
}

// Delay returns the delay before retry number attempt (1 for the first
// retry). jitter, in [0, 1), is the random draw that Exponential scales its
// bound by; the others ignore it. It never overflows and never exceeds Max.
func (b Backoff) Delay(attempt int, jitter float64) time.Duration {
	attempt = max(attempt, 1)
	var d time.Duration
	switch b.Kind {
	case Constant:
		d = b.Base
	case Linear:
		d = b.scaled(int64(attempt))
	case Fibonacci:
		d = b.scaled(fibonacci(attempt))
	default:
		d = jittered(b.scaled(pow2(attempt-1)), jitter)
	}
	return b.capped(d)
}

// scaled returns Base*n, saturating instead of overflowing.
func (b Backoff) scaled(n int64) time.Duration {
	if b.Base <= 0 {
		return 0
	}
	if n > int64(maxDuration/b.Base) {
		return maxDuration
	}
	return b.Base * time.Duration(n)
}

func (b Backoff) capped(d time.Duration) time.Duration {
	if b.Max > 0 && d > b.Max {
		return b.Max
	}
	return d
}

// jittered returns d scaled by jitter, clamped to [0, 1]; float rounding
// near the largest duration saturates instead of overflowing.
func jittered(d time.Duration, jitter float64) time.Duration {
	f := float64(d) * min(max(jitter, 0), 1)
	if f >= float64(maxDuration) {
		return maxDuration
	}
	return time.Duration(f)
}

const maxDuration = time.Duration(1<<63 - 1)

// pow2 returns 2^n, saturating at 2^62.
func pow2(n int) int64 { return int64(1) << min(n, 62) }

// fibonacci returns the nth Fibonacci number (1, 1, 2, 3, 5, ...),
// saturating at 2^62.
func fibonacci(n int) int64 {
	a, b := int64(1), int64(1)
	for i := 2; i < n && b < 1<<62; i++ {
		a, b = b, a+b
	}
	return min(b, 1<<62)
}
