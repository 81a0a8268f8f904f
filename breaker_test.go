package heed

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock moved by hand.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.advance(d)
	return ctx.Err()
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestBreakerSteps walks a breaker through its states with a fake clock.
func TestBreakerSteps(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	var states []string
	b := newBreaker(3, 2, 10*time.Second, clock, func(s string) { states = append(states, s) })
	pass := func(v verdict) {
		t.Helper()
		tk, ok := b.allow()
		if !ok {
			t.Fatalf("refused in state %s, want allowed", b.state)
		}
		b.done(tk, v)
	}
	refused := func() {
		t.Helper()
		if _, ok := b.allow(); ok {
			t.Fatalf("allowed in state %s, want refused", b.state)
		}
	}
	pass(verdictFailure)
	pass(verdictFailure)
	pass(verdictSuccess) // a success breaks the streak
	pass(verdictFailure)
	pass(verdictNotSent) // counts for nothing
	pass(verdictFailure)
	pass(verdictFailure) // third in a row: open
	refused()
	clock.advance(9 * time.Second)
	refused()
	clock.advance(time.Second) // half-open: two probes
	a, okA := b.allow()
	c, okC := b.allow()
	if !okA || !okC || !a.probe || !c.probe {
		t.Fatalf("half-open: got %v %v, want two probes", okA, okC)
	}
	refused() // no third probe
	b.done(a, verdictNotSent)
	d, okD := b.allow() // the unsent probe's slot is free again
	if !okD || !d.probe {
		t.Fatal("an unsent probe kept its slot")
	}
	b.done(c, verdictSuccess)
	b.done(d, verdictFailure) // a failed probe opens it again
	refused()
	clock.advance(10 * time.Second)
	for range 2 {
		pass(verdictSuccess)
	}
	pass(verdictSuccess) // closed: no probe limit
	want := []string{BreakerOpen, BreakerHalfOpen, BreakerOpen, BreakerHalfOpen, BreakerClosed}
	if len(states) != len(want) {
		t.Fatalf("states %v, want %v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("states %v, want %v", states, want)
		}
	}
}

// TestBreakerConcurrentFailuresOpenOnce hammers a closed breaker from many
// goroutines: it must open exactly once.
func TestBreakerConcurrentFailuresOpenOnce(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	var mu sync.Mutex
	opened := 0
	b := newBreaker(5, 1, time.Minute, clock, func(s string) {
		if s == BreakerOpen {
			mu.Lock()
			opened++
			mu.Unlock()
		}
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if tk, ok := b.allow(); ok {
					b.done(tk, verdictFailure)
				}
			}
		})
	}
	wg.Wait()
	if opened != 1 {
		t.Fatalf("opened %d times, want once", opened)
	}
}
