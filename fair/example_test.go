package fair_test

import (
	"fmt"

	"github.com/heedhq/heed/fair"
)

// Interactive requests (share 3) and a batch backlog (share 1) wait for
// one quota: while both want it, three of every four go to interactive;
// within a class, tenants alternate. At equal tags the class that asked
// first goes first (batch, here).
func Example() {
	s, err := fair.New([]fair.Class{{Name: "interactive", Share: 3}, {Name: "batch", Share: 1}}, fair.Options{})
	if err != nil {
		panic(err)
	}
	for i := range 8 {
		_ = s.Push(&fair.Request{Class: "batch", Flow: "backfill", Cost: 1, Value: fmt.Sprint("b", i)})
		_ = s.Push(&fair.Request{Class: "interactive", Flow: []string{"acme", "globex"}[i%2], Cost: 1, Value: fmt.Sprint("i", i)})
	}
	for range 8 {
		r := s.Pop()
		fmt.Print(r.Value, " ")
	}
	fmt.Println()
	// Output: b0 i0 i1 i2 b1 i3 i4 i5
}
