package breaker_test

import (
	"fmt"
	"time"

	"github.com/heedhq/heed/breaker"
)

// A breaker that opens after two failures in a row, stays open for 30
// seconds, then lets one probe through.
func Example() {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	b := breaker.New(breaker.Options{Failures: 2, OpenFor: 30 * time.Second, Now: func() time.Time { return now },
		OnChange: func(s breaker.State) { fmt.Println("now", s) }})
	for range 2 {
		t, _, _ := b.Allow()
		b.Done(t, breaker.Failure)
	}
	_, wait, ok := b.Allow()
	fmt.Println("allowed:", ok, "ask again in", wait)
	now = now.Add(30 * time.Second)
	probe, _, ok := b.Allow()
	fmt.Println("allowed:", ok, "probe:", probe.Probe())
	b.Done(probe, breaker.Success)
	// Output:
	// now open
	// allowed: false ask again in 30s
	// now half-open
	// allowed: true probe: true
	// now closed
}
