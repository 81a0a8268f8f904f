package limit_test

import (
	"fmt"
	"time"

	"github.com/heedhq/heed/limit"
)

// Pacing 2 requests per second, burst 1: the state is one number, and every
// decision is a function of it and the time.
func ExampleGCRA_Decide() {
	g, _ := limit.NewGCRA(2, time.Second, 1, 0)
	var tat int64
	for _, at := range []int64{0, 100_000, 500_000, 900_000} {
		d := g.Decide(tat, at, 1)
		if d.Allowed {
			tat = d.TAT
		}
		fmt.Printf("t=%v allowed=%v wait=%v\n", limit.Duration(at), d.Allowed, limit.Duration(d.Wait))
	}
	// Output:
	// t=0s allowed=true wait=0s
	// t=100ms allowed=false wait=400ms
	// t=500ms allowed=true wait=0s
	// t=900ms allowed=false wait=100ms
}
