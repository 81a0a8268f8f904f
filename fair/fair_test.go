package fair_test

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/heedhq/heed/fair"
)

// newScheduler returns a Scheduler of interactive (share 3) and batch
// (share 1).
func newScheduler(t testing.TB, opts fair.Options) *fair.Scheduler {
	t.Helper()
	s, err := fair.New([]fair.Class{{Name: "interactive", Share: 3}, {Name: "batch", Share: 1}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// push adds n requests of class, flow and cost to s.
func push(t testing.TB, s *fair.Scheduler, class, flow string, cost int64, n int) []*fair.Request {
	t.Helper()
	var out []*fair.Request
	for range n {
		r := &fair.Request{Class: class, Flow: flow, Cost: cost}
		if err := s.Push(r); err != nil {
			t.Fatalf("Push(%s/%s): %v", class, flow, err)
		}
		out = append(out, r)
	}
	return out
}

// served pops n requests and returns the work (cost) served per
// "class/flow".
func served(t testing.TB, s *fair.Scheduler, n int) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	for i := range n {
		r := s.Pop()
		if r == nil {
			t.Fatalf("Pop %d: nil with %d waiting", i, s.Len())
		}
		got[r.Class+"/"+r.Flow] += max(r.Cost, 1)
	}
	return got
}

func within(got, want, slack int64) bool { return got >= want-slack && got <= want+slack }

func TestShares(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		fill  func(t *testing.T, s *fair.Scheduler)
		pops  int
		want  map[string]int64
		slack int64
	}{
		{"classes 3:1", func(t *testing.T, s *fair.Scheduler) {
			push(t, s, "interactive", "a", 1, 500)
			push(t, s, "batch", "b", 1, 500)
		}, 400, map[string]int64{"interactive/a": 300, "batch/b": 100}, 1},
		{"equal tenants in a class", func(t *testing.T, s *fair.Scheduler) {
			push(t, s, "batch", "a", 1, 100)
			push(t, s, "batch", "b", 1, 100)
			push(t, s, "batch", "c", 1, 100)
		}, 90, map[string]int64{"batch/a": 30, "batch/b": 30, "batch/c": 30}, 1},
		{"tenants within classes", func(t *testing.T, s *fair.Scheduler) {
			push(t, s, "interactive", "a", 1, 500)
			push(t, s, "interactive", "b", 1, 500)
			push(t, s, "batch", "a", 1, 500)
			push(t, s, "batch", "c", 1, 500)
		}, 400, map[string]int64{"interactive/a": 150, "interactive/b": 150, "batch/a": 50, "batch/c": 50}, 1},
		// A request of 10 counts 10: the flows get equal work, not equal
		// requests (within the largest cost of each, SFQ's bound).
		{"cost weighted", func(t *testing.T, s *fair.Scheduler) {
			push(t, s, "batch", "big", 10, 100)
			push(t, s, "batch", "small", 1, 1000)
		}, 110, map[string]int64{"batch/big": 100, "batch/small": 100}, 11},
		// A lone class gets everything: the quota is never left idle.
		{"work conserving", func(t *testing.T, s *fair.Scheduler) {
			push(t, s, "batch", "b", 1, 50)
		}, 50, map[string]int64{"batch/b": 50}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newScheduler(t, fair.Options{})
			c.fill(t, s)
			got := served(t, s, c.pops)
			for k, want := range c.want {
				if !within(got[k], want, c.slack) {
					t.Errorf("%s served %d, want %d ± %d (all: %v)", k, got[k], want, c.slack, got)
				}
			}
			if len(got) != len(c.want) {
				t.Errorf("served %v, want only %v", got, c.want)
			}
		})
	}
}

// TestBoundAtEveryStep checks SFQ's fairness bound after every pop: two
// backlogged tenants of a class never differ by more than one request.
func TestBoundAtEveryStep(t *testing.T) {
	t.Parallel()
	s := newScheduler(t, fair.Options{})
	push(t, s, "batch", "a", 1, 200)
	push(t, s, "batch", "b", 1, 200)
	var a, b int
	for i := range 300 {
		if s.Pop().Flow == "a" {
			a++
		} else {
			b++
		}
		if d := a - b; d > 1 || d < -1 {
			t.Fatalf("after %d pops a %d, b %d: apart by more than one request", i+1, a, b)
		}
	}
}

func TestNoStarvation(t *testing.T) {
	t.Parallel()
	s := newScheduler(t, fair.Options{MaxQueue: 100_000})
	push(t, s, "batch", "heavy", 1, 10_000)
	served(t, s, 5000)
	// A light tenant arriving behind a long backlog goes within two pops;
	// so does a request of the interactive class.
	light := push(t, s, "batch", "light", 1, 1)[0]
	inter := push(t, s, "interactive", "x", 1, 1)[0]
	seen := map[*fair.Request]int{}
	for i := 1; i <= 2; i++ {
		seen[s.Pop()] = i
	}
	if seen[light] == 0 || seen[inter] == 0 {
		t.Fatalf("the light tenant's request and the interactive one were not the next two served (%v)", seen)
	}
}

// TestIdleBanksNothing: a tenant idle while another was served does not
// come back with credit: it alternates with the other from then on.
func TestIdleBanksNothing(t *testing.T) {
	t.Parallel()
	s := newScheduler(t, fair.Options{})
	push(t, s, "batch", "b", 1, 300)
	served(t, s, 100)
	push(t, s, "batch", "a", 1, 100)
	got := served(t, s, 20)
	if !within(got["batch/a"], 10, 1) {
		t.Errorf("after its idle time, a got %d of 20, want 10 ± 1", got["batch/a"])
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	s := newScheduler(t, fair.Options{MaxQueue: 5, MaxFlows: 2})
	push(t, s, "batch", "flood", 1, 5)
	// The flood's next request is refused; another tenant is not.
	if err := s.Push(&fair.Request{Class: "batch", Flow: "flood"}); !errors.Is(err, fair.ErrFull) {
		t.Errorf("the sixth of a flow: %v, want ErrFull", err)
	}
	push(t, s, "batch", "other", 1, 1)
	if err := s.Push(&fair.Request{Class: "batch", Flow: "third"}); !errors.Is(err, fair.ErrFull) {
		t.Errorf("a third flow beyond MaxFlows 2: %v, want ErrFull", err)
	}
	if err := s.Push(&fair.Request{Class: "nightly", Flow: "x"}); !errors.Is(err, fair.ErrUnknownClass) {
		t.Errorf("an unknown class: %v, want ErrUnknownClass", err)
	}
	if s.Len() != 6 {
		t.Errorf("Len %d, want 6: a refused request adds nothing", s.Len())
	}
	// Once "other" is served and idle, its flow is forgotten for a new one.
	for s.Len() > 0 {
		s.Pop()
	}
	if err := s.Push(&fair.Request{Class: "batch", Flow: "third"}); err != nil {
		t.Errorf("a new flow once the others are idle: %v, want room", err)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	s := newScheduler(t, fair.Options{})
	rs := push(t, s, "batch", "a", 1, 3)
	other := push(t, s, "interactive", "b", 1, 1)[0]
	if !s.Remove(rs[0]) || s.Remove(rs[0]) {
		t.Fatal("Remove: want true once, then false")
	}
	if !s.Remove(other) {
		t.Fatal("Remove of the interactive request: want true")
	}
	var got []*fair.Request
	for r := s.Pop(); r != nil; r = s.Pop() {
		got = append(got, r)
	}
	if len(got) != 2 || got[0] != rs[1] || got[1] != rs[2] || s.Len() != 0 {
		t.Errorf("popped %v, want the two left, in order, and none waiting", got)
	}
	if s.Remove(rs[1]) {
		t.Error("Remove of a served request: want false")
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, classes := range [][]fair.Class{nil, {{Name: "a", Share: 0}}, {{Name: "a", Share: 1}, {Name: "a", Share: 2}}} {
		if _, err := fair.New(classes, fair.Options{}); err == nil {
			t.Errorf("New(%v): want an error", classes)
		}
	}
}

// TestRandomOperations: under any mix of pushes, pops and removals every
// request is served at most once, none is lost, and Len is exact.
func TestRandomOperations(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	s := newScheduler(t, fair.Options{MaxQueue: 50, MaxFlows: 8})
	waiting := map[*fair.Request]bool{}
	var order []*fair.Request
	for range 20_000 {
		switch op := rng.IntN(10); {
		case op < 5:
			r := &fair.Request{Class: []string{"interactive", "batch"}[rng.IntN(2)], Flow: fmt.Sprint(rng.IntN(10)), Cost: rng.Int64N(20)}
			if err := s.Push(r); err == nil {
				waiting[r] = true
				order = append(order, r)
			} else if !errors.Is(err, fair.ErrFull) {
				t.Fatal(err)
			}
		case op < 9:
			r := s.Pop()
			if (r == nil) != (len(waiting) == 0) || (r != nil && !waiting[r]) {
				t.Fatalf("Pop: %v with %d waiting", r, len(waiting))
			}
			delete(waiting, r)
		default:
			if len(order) > 0 {
				r := order[rng.IntN(len(order))]
				if s.Remove(r) != waiting[r] {
					t.Fatalf("Remove said otherwise than whether it waited (%v)", waiting[r])
				}
				delete(waiting, r)
			}
		}
		if s.Len() != len(waiting) {
			t.Fatalf("Len %d, want %d", s.Len(), len(waiting))
		}
	}
}

func BenchmarkPushPop(b *testing.B) {
	s := newScheduler(b, fair.Options{MaxQueue: 1 << 20})
	flows := make([]string, 100)
	for i := range flows {
		flows[i] = fmt.Sprint("tenant", i)
		push(b, s, []string{"interactive", "batch"}[i%2], flows[i], 1, 10)
	}
	r := &fair.Request{}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		*r = fair.Request{Class: []string{"interactive", "batch"}[i%2], Flow: flows[i%100], Cost: 1}
		if err := s.Push(r); err != nil {
			b.Fatal(err)
		}
		r = s.Pop()
		i++
	}
}

func TestWaiting(t *testing.T) {
	s, err := fair.New([]fair.Class{{Name: "a", Share: 1}, {Name: "b", Share: 1}}, fair.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*fair.Request{{Class: "a", Flow: "x"}, {Class: "a", Flow: "x"}, {Class: "b", Flow: "y"}} {
		if err := s.Push(r); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	s.Waiting(func(class, flow string, n int) { got[class+"/"+flow] = n })
	if want := map[string]int{"a/x": 2, "b/y": 1}; !maps.Equal(got, want) {
		t.Fatalf("Waiting: %v, want %v", got, want)
	}
	s.Pop()
	s.Pop()
	s.Pop()
	clear(got)
	s.Waiting(func(class, flow string, n int) { got[class+"/"+flow] = n })
	if len(got) != 0 {
		t.Fatalf("Waiting after every Pop: %v", got)
	}
}
