package failover_test

import (
	"context"
	"fmt"
	"time"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/failover"
	"github.com/heedhq/heed/store/memory"
	"github.com/heedhq/heed/store/storetest"
)

// A fleet's store, wrapped for its outages: while the shared store is out
// of reach, requests go on through a fallback in this process's memory,
// at this process's share of every limit (here the whole of it: the
// stand-in for Redis counts no heartbeats).
func Example() {
	clock := storetest.NewClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)) // safe to read from the Store's own goroutine
	var shared store.Store = memory.New(memory.Options{Now: clock.Now})
	s := failover.New(shared, failover.Options{Now: clock.Now, GroupOf: func(string) string { return "api" }})
	defer s.Close()

	g, _ := limit.NewGCRA(100, time.Second, 8, 0)
	req := store.Request{Scope: "/api/3fa9c2d1", Limits: []store.Limit{{Key: "0", GCRA: g}}}
	burst := func() (allowed int) {
		for range 10 {
			if grant, err := s.Acquire(context.Background(), req); err == nil && grant.Allowed {
				allowed++
			}
		}
		return allowed
	}
	fmt.Println("shared store up:", burst(), "allowed, down:", s.Down())
	_ = shared.Close() // out of reach from now on
	clock.Advance(time.Second)
	fmt.Println("shared store gone:", burst(), "allowed, down:", s.Down())
	// Output:
	// shared store up: 8 allowed, down: false
	// shared store gone: 8 allowed, down: true
}
