package breaker

import (
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

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestBreakerSteps walks a breaker through its states with a fake clock.
func TestBreakerSteps(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	var states []State
	b := New(Options{Failures: 3, Probes: 2, OpenFor: 10 * time.Second, Now: clock.Now, OnChange: func(s State) { states = append(states, s) }})
	pass := func(v Verdict) {
		t.Helper()
		tk, _, ok := b.Allow()
		if !ok {
			t.Fatalf("refused in state %s, want allowed", b.State())
		}
		b.Done(tk, v)
	}
	refused := func() time.Duration {
		t.Helper()
		_, wait, ok := b.Allow()
		if ok {
			t.Fatalf("allowed in state %s, want refused", b.State())
		}
		return wait
	}
	pass(Failure)
	pass(Failure)
	pass(Success) // a success breaks the streak
	pass(Failure)
	pass(NotSent) // counts for nothing
	pass(Failure)
	pass(Failure) // third in a row: open
	if wait := refused(); wait != 10*time.Second {
		t.Fatalf("open: wait %v, want the 10s it stays open", wait)
	}
	clock.advance(9 * time.Second)
	if wait := refused(); wait != time.Second {
		t.Fatalf("open 9s later: wait %v, want the 1s left", wait)
	}
	clock.advance(time.Second) // half-open: two probes
	a, _, okA := b.Allow()
	c, _, okC := b.Allow()
	if !okA || !okC || !a.Probe() || !c.Probe() {
		t.Fatalf("half-open: got %v %v, want two probes", okA, okC)
	}
	if wait := refused(); wait != HalfOpenWait { // no third probe
		t.Fatalf("half-open with its probes out: wait %v, want %v", wait, HalfOpenWait)
	}
	b.Done(a, NotSent)
	d, _, okD := b.Allow() // the unsent probe's slot is free again
	if !okD || !d.Probe() {
		t.Fatal("an unsent probe kept its slot")
	}
	b.Done(c, Success)
	b.Done(d, Failure) // a failed probe opens it again
	refused()
	clock.advance(10 * time.Second)
	for range 2 {
		pass(Success)
	}
	pass(Success) // closed: no probe limit
	want := []State{Open, HalfOpen, Open, HalfOpen, Closed}
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
	b := New(Options{Failures: 5, Probes: 1, OpenFor: time.Minute, Now: clock.Now, OnChange: func(s State) {
		if s == Open {
			mu.Lock()
			opened++
			mu.Unlock()
		}
	}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if tk, _, ok := b.Allow(); ok {
					b.Done(tk, Failure)
				}
			}
		})
	}
	wg.Wait()
	if opened != 1 {
		t.Fatalf("opened %d times, want once", opened)
	}
}
