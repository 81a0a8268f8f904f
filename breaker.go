package heed

import (
	"sync"
	"sync/atomic"
	"time"
)

// breaker is an upstream's circuit breaker, on the Transport's clock. After
// failures consecutive failures (5xx, transport errors) it opens for
// openFor: requests are answered at once with a synthetic circuit-open
// response. Then it lets probes requests through (half-open): if they all
// succeed it closes, if one fails it opens again. While closed, Allow reads
// no clock and takes no lock, so that a healthy upstream costs nothing.
//
// gobreaker was the first choice; it reads the wall clock twice per request
// and cannot be driven by the Transport's Clock, which made it both the
// largest fixed cost on the request path and untestable with a fake clock.
//
// A breaker is safe for concurrent use.
type breaker struct {
	failures int
	openFor  time.Duration
	probes   int
	clock    Clock
	onChange func(state string) // called with the new state, under mu

	closed atomic.Bool  // the fast path: state == BreakerClosed
	streak atomic.Int64 // consecutive failures while closed

	mu        sync.Mutex // guards the fields below
	state     string
	openUntil time.Time
	inFlight  int // probes sent while half-open and not yet done
	passed    int // probes that succeeded while half-open
}

// newBreaker returns a closed breaker.
func newBreaker(failures, probes int, openFor time.Duration, clock Clock, onChange func(string)) *breaker {
	b := &breaker{failures: max(failures, 1), probes: max(probes, 1), openFor: openFor, clock: clock, onChange: onChange, state: BreakerClosed}
	b.closed.Store(true)
	return b
}

// ticket is what Allow hands an attempt: whether it may go, and whether it
// is a probe of a half-open breaker.
type ticket struct{ probe bool }

// verdict is what an attempt tells the breaker.
type verdict int

const (
	verdictSuccess verdict = iota
	verdictFailure
	verdictNotSent // never sent, or the caller gave up: counts for nothing
)

// allow reports whether an attempt may go now.
func (b *breaker) allow() (ticket, bool) {
	if b.closed.Load() {
		return ticket{}, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen {
		if b.clock.Now().Before(b.openUntil) {
			return ticket{}, false
		}
		b.setState(BreakerHalfOpen)
		b.inFlight, b.passed = 0, 0
	}
	if b.state != BreakerHalfOpen { // closed meanwhile
		return ticket{}, true
	}
	if b.inFlight+b.passed >= b.probes {
		return ticket{}, false
	}
	b.inFlight++
	return ticket{probe: true}, true
}

// done records the outcome of an attempt that allow let go.
func (b *breaker) done(t ticket, v verdict) {
	if !t.probe {
		b.doneClosed(v)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != BreakerHalfOpen {
		return
	}
	b.inFlight--
	switch v {
	case verdictFailure:
		b.open()
	case verdictSuccess:
		if b.passed++; b.passed >= b.probes {
			b.streak.Store(0)
			b.setState(BreakerClosed)
		}
	}
}

// doneClosed records the outcome of an attempt let go while closed.
func (b *breaker) doneClosed(v verdict) {
	switch v {
	case verdictSuccess:
		if b.streak.Load() != 0 {
			b.streak.Store(0)
		}
	case verdictFailure:
		if b.streak.Add(1) < int64(b.failures) {
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.state == BreakerClosed {
			b.open()
		}
	}
}

// open opens the breaker for openFor. The caller holds mu.
func (b *breaker) open() {
	b.openUntil = b.clock.Now().Add(b.openFor)
	b.setState(BreakerOpen)
}

// setState changes the state and tells onChange. The caller holds mu.
func (b *breaker) setState(s string) {
	if s == b.state {
		return
	}
	b.state = s
	b.closed.Store(s == BreakerClosed)
	if b.onChange != nil {
		b.onChange(s)
	}
}

// current returns the breaker's state, one of the Breaker words.
func (b *breaker) current() string {
	if b.closed.Load() {
		return BreakerClosed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
