package breaker

import (
	"sync"
	"sync/atomic"
	"time"
)

// State is a breaker's state.
type State string

// The states.
const (
	// Closed lets every attempt through and counts consecutive failures.
	Closed State = "closed"
	// HalfOpen lets Options.Probes attempts through to test the upstream.
	HalfOpen State = "half-open"
	// Open refuses every attempt until its time is up.
	Open State = "open"
)

// Verdict is what an attempt tells the breaker about how it went.
type Verdict int

// The verdicts.
const (
	// Success: the upstream answered (not with a 5xx).
	Success Verdict = iota
	// Failure: a 5xx or a transport error.
	Failure
	// NotSent: the attempt was never sent, or its caller gave up; it counts
	// for nothing.
	NotSent
)

// Options configures a Breaker. Now is required; the zero value of every
// other field means its documented default.
type Options struct {
	// Failures is how many consecutive failures open the breaker; below 1
	// means 1.
	Failures int
	// Probes is how many attempts a half-open breaker lets through, all of
	// which must succeed for it to close; below 1 means 1.
	Probes int
	// OpenFor is how long the breaker stays open.
	OpenFor time.Duration
	// Now is the clock.
	Now func() time.Time
	// OnChange, when set, is called with the new state on every change,
	// while the breaker's lock is held: it must not call back into the
	// Breaker.
	OnChange func(State)
}

// Breaker is a circuit breaker. It is safe for concurrent use. Make one
// with New.
type Breaker struct {
	opts Options

	closed atomic.Bool  // the fast path: state == Closed
	streak atomic.Int64 // consecutive failures while closed

	mu        sync.Mutex // guards the fields below
	state     State
	openUntil time.Time
	inFlight  int // probes let through while half-open and not yet done
	passed    int // probes that succeeded while half-open
}

// New returns a closed Breaker.
func New(opts Options) *Breaker {
	opts.Failures, opts.Probes = max(opts.Failures, 1), max(opts.Probes, 1)
	b := &Breaker{opts: opts, state: Closed}
	b.closed.Store(true)
	return b
}

// Ticket is what Allow hands an attempt, to give back to Done.
type Ticket struct{ probe bool }

// Probe reports whether the attempt is a probe of a half-open breaker.
func (t Ticket) Probe() bool { return t.probe }

// HalfOpenWait is the wait Allow suggests when a half-open breaker has
// all its probes out: their answers, which no clock predicts, decide.
const HalfOpenWait = time.Second

// Allow reports whether an attempt may go now. When it may not, wait is
// how long until asking again is worthwhile: the time the breaker stays
// open, or HalfOpenWait while its probes are out. An attempt let go must
// be reported with Done.
func (b *Breaker) Allow() (t Ticket, wait time.Duration, ok bool) {
	if b.closed.Load() {
		return Ticket{}, 0, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open {
		if left := b.openUntil.Sub(b.opts.Now()); left > 0 {
			return Ticket{}, left, false
		}
		b.setState(HalfOpen)
		b.inFlight, b.passed = 0, 0
	}
	if b.state != HalfOpen { // closed meanwhile
		return Ticket{}, 0, true
	}
	if b.inFlight+b.passed >= b.opts.Probes {
		return Ticket{}, HalfOpenWait, false
	}
	b.inFlight++
	return Ticket{probe: true}, 0, true
}

// Done records how an attempt that Allow let go went.
func (b *Breaker) Done(t Ticket, v Verdict) {
	if !t.probe {
		b.doneClosed(v)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != HalfOpen {
		return
	}
	b.inFlight--
	switch v {
	case Failure:
		b.open()
	case Success:
		if b.passed++; b.passed >= b.opts.Probes {
			b.streak.Store(0)
			b.setState(Closed)
		}
	}
}

// doneClosed records the verdict of an attempt let go while closed.
func (b *Breaker) doneClosed(v Verdict) {
	switch v {
	case Success:
		if b.streak.Load() != 0 {
			b.streak.Store(0)
		}
	case Failure:
		if b.streak.Add(1) < int64(b.opts.Failures) {
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.state == Closed {
			b.open()
		}
	}
}

// open opens the breaker for OpenFor. The caller holds mu.
func (b *Breaker) open() {
	b.openUntil = b.opts.Now().Add(b.opts.OpenFor)
	b.setState(Open)
}

// setState changes the state and tells OnChange. The caller holds mu.
func (b *Breaker) setState(s State) {
	if s == b.state {
		return
	}
	b.state = s
	b.closed.Store(s == Closed)
	if b.opts.OnChange != nil {
		b.opts.OnChange(s)
	}
}

// State returns the breaker's state now.
func (b *Breaker) State() State {
	if b.closed.Load() {
		return Closed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
