package learn_test

import (
	"fmt"
	"time"

	"github.com/heedhq/heed/learn"
)

// A GitHub-style answer: the request found the quota whole (19 of 20 left
// after it) and the reset is rounded up to the whole second. The window
// is one second, not the 1.7 seconds to the reset.
func ExampleQuota_Observe() {
	sent := time.Date(2026, 12, 3, 12, 0, 0, 300_000_000, time.UTC)
	var q learn.Quota
	m := q.Observe(learn.Observation{
		Sent: sent, Answered: sent.Add(time.Millisecond),
		Limit: 20, Remaining: 19,
		Reset: time.Date(2026, 12, 3, 12, 0, 2, 0, time.UTC),
	})
	fmt.Println(m.Kind, m.Window)
	// The quota is empty 950ms later: the window it opened ends at 1.301s,
	// well before the reset the API rounded up.
	next := m.NextUnit(sent.Add(950*time.Millisecond), time.Date(2026, 12, 3, 12, 0, 2, 0, time.UTC))
	fmt.Println(next.Sub(sent))
	// Output:
	// window 1s
	// 1.001s
}
