package fair

import (
	"container/heap"
	"container/list"
	"errors"
	"fmt"
)

// Class is a priority class: its share of the quota while classes
// contend.
type Class struct {
	// Name names the class in requests (Request.Class) and metrics.
	Name string
	// Share is the class's weight; > 0. Classes of shares 3 and 1 get
	// three quarters and one quarter of the capacity while both want it.
	Share int
}

// Options bound a Scheduler's memory.
type Options struct {
	// MaxQueue is how many requests one flow may have waiting; one more is
	// refused with ErrFull. 0 means 1,000.
	MaxQueue int
	// MaxFlows is how many flows a Scheduler keeps; a request of a new
	// flow beyond them is refused with ErrFull. 0 means 10,000.
	MaxFlows int
}

// ErrFull is returned by Push for a request beyond MaxQueue or MaxFlows.
var ErrFull = errors.New("fair: queue full")

// ErrUnknownClass is wrapped by Push's error for a request of a class the
// Scheduler was not made with.
var ErrUnknownClass = errors.New("fair: unknown class")

// Request is one waiting request. Its fields are set by the caller before
// Push and not changed while it waits.
type Request struct {
	// Class is the name of the request's class.
	Class string
	// Flow is who the request is counted against within its class (a
	// tenant, say).
	Flow string
	// Cost is what the request counts against its flow and class; values
	// below 1 count as 1.
	Cost int64
	// Value is the caller's.
	Value any

	flow *flowQueue
	elem *list.Element
}

// cost is r's cost, at least 1.
func (r *Request) cost() float64 { return float64(max(r.Cost, 1)) }

// Scheduler orders the waiting requests of one quota (see the package
// doc). It is not safe for concurrent use: its caller guards it.
type Scheduler struct {
	opts    Options
	classes map[string]*classQueue
	active  queueHeap[*classQueue] // classes with waiting requests, by start tag
	v       float64                // the start tag of the class served last
	seq     uint64                 // breaks ties between equal tags: first activated first
	waiting int
	flows   int
}

// classQueue is one class: its flows, and its tags among the classes.
type classQueue struct {
	Class
	flows  map[string]*flowQueue
	active queueHeap[*flowQueue] // flows with waiting requests, by start tag
	v      float64               // the start tag of the flow served last
	tags
}

// flowQueue is one flow of a class: its requests in arrival order, and
// its tags among the class's flows.
type flowQueue struct {
	name     string
	class    *classQueue
	requests list.List
	tags
}

// tags are a queue's place in virtual time: its start tag (while active),
// its finish tag (of its last served request), its tie-breaker and its
// index in its level's heap.
type tags struct {
	start, finish float64
	seq           uint64
	index         int
}

func (t *tags) tagged() *tags { return t }

// New returns a Scheduler of classes, whose names are unique and shares
// positive.
func New(classes []Class, opts Options) (*Scheduler, error) {
	if len(classes) == 0 {
		return nil, errors.New("fair: no class")
	}
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = 1000
	}
	if opts.MaxFlows <= 0 {
		opts.MaxFlows = 10_000
	}
	s := &Scheduler{opts: opts, classes: make(map[string]*classQueue, len(classes))}
	for _, c := range classes {
		switch {
		case c.Share <= 0:
			return nil, fmt.Errorf("fair: class %q: share %d must be positive", c.Name, c.Share)
		case s.classes[c.Name] != nil:
			return nil, fmt.Errorf("fair: class %q given twice", c.Name)
		}
		s.classes[c.Name] = &classQueue{Class: c, flows: make(map[string]*flowQueue)}
	}
	return s, nil
}

// Len returns how many requests wait.
func (s *Scheduler) Len() int { return s.waiting }

// Waiting calls f for each flow with requests waiting, with its class,
// name and how many wait, in no particular order.
func (s *Scheduler) Waiting(f func(class, flow string, n int)) {
	for _, c := range s.active.items {
		for _, q := range c.active.items {
			f(c.Name, q.name, q.requests.Len())
		}
	}
}

// Push adds r to the requests waiting. It returns ErrFull, and adds
// nothing, when r's flow already has MaxQueue requests waiting, or when r
// is of a new flow and MaxFlows are kept.
func (s *Scheduler) Push(r *Request) error {
	c := s.classes[r.Class]
	if c == nil {
		return fmt.Errorf("%w %q", ErrUnknownClass, r.Class)
	}
	f := c.flows[r.Flow]
	if f == nil {
		if s.flows >= s.opts.MaxFlows && !s.forgetIdle() {
			return ErrFull
		}
		f = &flowQueue{name: r.Flow, class: c}
		c.flows[r.Flow] = f
		s.flows++
	}
	if f.requests.Len() >= s.opts.MaxQueue {
		return ErrFull
	}
	r.flow, r.elem = f, f.requests.PushBack(r)
	s.waiting++
	if f.requests.Len() == 1 { // the flow becomes active
		f.start = max(c.v, f.finish)
		s.activate(&c.active, f)
		if c.active.Len() == 1 { // and so does the class
			c.start = max(s.v, c.finish)
			s.activate(&s.active, c)
		}
	}
	return nil
}

// Pop removes and returns the request to serve next: the head of the
// flow with the smallest start tag in the class with the smallest start
// tag. It returns nil when none waits.
func (s *Scheduler) Pop() *Request {
	if s.active.Len() == 0 {
		return nil
	}
	c := s.active.items[0]
	f := c.active.items[0]
	r := f.requests.Front().Value.(*Request)
	cost := r.cost()
	s.v, c.finish = c.start, c.start+cost/float64(c.Share)
	c.v, f.finish = f.start, f.start+cost
	s.take(r)
	if f.requests.Len() > 0 {
		f.start = f.finish
		s.requeue(&c.active, f)
	} else {
		heap.Remove(&c.active, f.index)
	}
	if c.active.Len() > 0 {
		c.start = c.finish
		s.requeue(&s.active, c)
	} else {
		heap.Remove(&s.active, c.index)
	}
	return r
}

// Remove takes r out of the requests waiting (it gave up) and reports
// whether it was waiting. Its flow keeps its tags: leaving gains it
// nothing.
func (s *Scheduler) Remove(r *Request) bool {
	f := r.flow
	if f == nil || r.elem == nil {
		return false
	}
	c := f.class
	s.take(r)
	if f.requests.Len() == 0 {
		heap.Remove(&c.active, f.index)
		if c.active.Len() == 0 {
			heap.Remove(&s.active, c.index)
		}
	}
	return true
}

// take unlinks r from its flow's queue.
func (s *Scheduler) take(r *Request) {
	r.flow.requests.Remove(r.elem)
	r.flow, r.elem = nil, nil
	s.waiting--
}

// activate puts q in h, after the queues already there with its tag.
func (s *Scheduler) activate(h heap.Interface, q interface{ tagged() *tags }) {
	s.seq++
	q.tagged().seq = s.seq
	heap.Push(h, q)
}

// requeue moves q, whose start tag grew, to its place in h, after the
// queues with its new tag.
func (s *Scheduler) requeue(h heap.Interface, q interface{ tagged() *tags }) {
	s.seq++
	t := q.tagged()
	t.seq = s.seq
	heap.Fix(h, t.index)
}

// forgetIdle drops the idle flows whose tags give them nothing: their
// finish tag is behind their class's virtual time, so they would restart
// at it anyway. It reports whether any was dropped.
func (s *Scheduler) forgetIdle() bool {
	dropped := false
	for _, c := range s.classes {
		for name, f := range c.flows {
			if f.requests.Len() == 0 && f.finish <= c.v {
				delete(c.flows, name)
				s.flows--
				dropped = true
			}
		}
	}
	return dropped
}

// queueHeap is a min-heap of queues by start tag, then activation order.
type queueHeap[Q interface{ tagged() *tags }] struct{ items []Q }

func (h *queueHeap[Q]) Len() int { return len(h.items) }
func (h *queueHeap[Q]) Less(i, j int) bool {
	a, b := h.items[i].tagged(), h.items[j].tagged()
	if a.start != b.start {
		return a.start < b.start
	}
	return a.seq < b.seq
}
func (h *queueHeap[Q]) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].tagged().index, h.items[j].tagged().index = i, j
}
func (h *queueHeap[Q]) Push(x any) {
	q := x.(Q)
	q.tagged().index = len(h.items)
	h.items = append(h.items, q)
}
func (h *queueHeap[Q]) Pop() any {
	q := h.items[len(h.items)-1]
	var zero Q
	h.items[len(h.items)-1] = zero
	h.items = h.items[:len(h.items)-1]
	q.tagged().index = -1
	return q
}
