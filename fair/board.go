package fair

import (
	"errors"
	"fmt"
	"maps"
	"time"
)

// MaxFlowLen bounds Turn.Flow, in bytes (store.MaxFlowLen is the same).
const MaxFlowLen = 256

// MaxNameLen bounds Turn.Member and Turn.Class, in bytes: both are kept
// among a Board's contenders, and a store writes them on every refusal.
const MaxNameLen = 1024

// MaxContenders bounds the contenders a Board keeps. A refused Turn of a
// new member beyond them is not registered: it is refused as it would be,
// but holds no place (it blocks nobody) until a place frees up. Members
// already registered keep refreshing theirs. Refusing the newcomer, rather
// than evicting another, keeps every registered member's place and is the
// same in every store.
const MaxContenders = 1024

// BoardIdle is how long a Board that had nothing live may be forgotten
// after its last decision: dropping it then changes the order of nothing
// but flows that have been idle that long, which no waiting request
// remembers.
const BoardIdle = time.Hour

// MaxClassFlows bounds the flow tags a Board keeps per class: beyond it,
// an admission forgets them all (see Admit).
const MaxClassFlows = 10_000

// boardSweep is how many flow tags beside the admitted one an admission
// looks at to drop those that are the same as absent.
const boardSweep = 2

// ErrInvalidTurn is wrapped by the errors of Board for a Turn it cannot
// act on; the error names the field.
var ErrInvalidTurn = errors.New("fair: invalid turn")

// Turn is the head request of one process's waiting room asking a store
// for its turn (store.Turn carries the same fields).
type Turn struct {
	// Member names the waiting room asking: one per process and scope;
	// non-empty, at most MaxNameLen bytes.
	Member string
	// Class is the request's class (non-empty, at most MaxNameLen bytes),
	// Share its weight (at least 1).
	Class string
	Share int
	// Flow is who the request counts against within its class; at most
	// MaxFlowLen bytes.
	Flow string
	// Cost is what the request counts against its flow and class; values
	// below 1 count as 1.
	Cost int64
}

// Validate returns an error wrapping ErrInvalidTurn, naming the field, if
// a Board cannot act on t.
func (t Turn) Validate() error {
	switch {
	case t.Member == "":
		return fmt.Errorf("%w: empty member", ErrInvalidTurn)
	case len(t.Member) > MaxNameLen:
		return fmt.Errorf("%w: member of %d bytes, at most %d", ErrInvalidTurn, len(t.Member), MaxNameLen)
	case t.Class == "":
		return fmt.Errorf("%w: empty class", ErrInvalidTurn)
	case len(t.Class) > MaxNameLen:
		return fmt.Errorf("%w: class of %d bytes, at most %d", ErrInvalidTurn, len(t.Class), MaxNameLen)
	case t.Share < 1:
		return fmt.Errorf("%w: share %d, at least 1", ErrInvalidTurn, t.Share)
	case len(t.Flow) > MaxFlowLen:
		return fmt.Errorf("%w: flow of %d bytes, at most %d", ErrInvalidTurn, len(t.Flow), MaxFlowLen)
	}
	return nil
}

// cost is t's cost, at least 1.
func (t Turn) cost() float64 { return float64(max(t.Cost, 1)) }

// Board is the store-side arbitration between the waiting rooms of many
// processes that share one scope (see "Fleets" in the package doc): the
// start-time fair queuing tags of the scope's classes and flows, and the
// contenders, the rooms whose head was refused recently.
//
// A store decides a Turn in three steps, all under the scope's lock or in
// one script: Place says whether it is t's turn; the store then checks its
// limits; it calls Admit when it admits t, or Contend when it refuses it
// (for its turn or for a limit), with the time until which t keeps its
// place. Times are Unix microseconds, given by the caller: a Board reads
// no clock. The tags are float64 and every step is exact IEEE arithmetic,
// so a script that does the same operations in the same order (store/redis
// does) agrees bit for bit.
//
// The zero Board is empty and ready to use. It is not safe for concurrent
// use: its store guards it.
type Board struct {
	v          float64                // class-level virtual time: the start tag of the class admitted last
	classes    map[string]*boardClass // by name
	contenders map[string]contender   // by member
	last       int64                  // when Place last ran, µs
}

// boardClass is one class's tags: its finish tag among the classes, the
// virtual time of its flows, and each flow's finish tag.
type boardClass struct {
	finish float64
	v      float64            // the start tag of the flow admitted last
	flows  map[string]float64 // flow -> finish tag; absent when <= v
}

// contender is a registered member's head.
type contender struct {
	class, flow string
	share       int
	until       int64 // µs: the place is kept while until > now
}

// Place is t's place on a Board, as Place found it: whether it is t's turn
// and the start tags an admission gives it. It is valid until the Board
// changes otherwise than by the Admit or Contend it is given to.
type Place struct {
	// InTurn reports whether no live contender goes before t.
	InTurn bool
	turn   Turn
	class  float64 // the start tag of t's class: max(V, F_c)
	flow   float64 // the start tag of t's flow: max(V_c, F_cf)
}

// Place returns t's place at now: it drops the contenders whose place
// expired (until <= now) and t.Member's own entry, then reports t in turn
// unless some other live contender o has a smaller class start tag
// (max(V, F_c)), or is of t's class and has a smaller flow start tag
// (max(V_c, F_cf)). Ties go to t. It returns an error wrapping
// ErrInvalidTurn, and changes nothing, for an invalid t.
func (b *Board) Place(t Turn, now int64) (Place, error) {
	if err := t.Validate(); err != nil {
		return Place{}, err
	}
	b.last = now
	maps.DeleteFunc(b.contenders, func(m string, c contender) bool { return c.until <= now || m == t.Member })
	p := Place{InTurn: true, turn: t}
	p.class, p.flow = b.starts(t.Class, t.Flow)
	for _, o := range b.contenders {
		sc, sf := b.starts(o.class, o.flow)
		if sc < p.class || o.class == t.Class && sf < p.flow {
			p.InTurn = false
			break
		}
	}
	return p, nil
}

// starts returns the start tags a request of class and flow would have.
func (b *Board) starts(class, flow string) (sc, sf float64) {
	c := b.classes[class]
	if c == nil {
		return b.v, 0
	}
	return max(b.v, c.finish), max(c.v, c.flows[flow])
}

// Admit records that the store admitted the Turn of p: the virtual times
// move to its start tags, its class's finish tag by cost/share and its
// flow's by cost, and its member holds no place.
//
// It also keeps the flow tags few. When no other member of the class
// holds a place, the class is not backlogged: as start-time fair queuing
// does when its server idles, it forgets its flows' tags, so that each
// flow's next request starts at the class's virtual time. When the class
// keeps more than MaxClassFlows tags (tenants without end, all
// backlogged), it forgets them too. Otherwise it drops a few that are
// the same as absent (at or behind the class's virtual time). A zero
// Place changes nothing.
func (b *Board) Admit(p Place) {
	t := p.turn
	if t.Share < 1 {
		return
	}
	if b.classes == nil {
		b.classes = make(map[string]*boardClass)
	}
	c := b.classes[t.Class]
	if c == nil {
		c = &boardClass{flows: make(map[string]float64)}
		b.classes[t.Class] = c
	}
	cost := t.cost()
	b.v, c.finish = p.class, p.class+cost/float64(t.Share)
	c.v = p.flow
	delete(b.contenders, t.Member)
	c.flows[t.Flow] = p.flow + cost
	if !b.contended(t.Class) || len(c.flows) > MaxClassFlows {
		clear(c.flows)
		return
	}
	c.sweep(t.Flow)
}

// contended reports whether a member of class holds a place.
func (b *Board) contended(class string) bool {
	for _, o := range b.contenders {
		if o.class == class {
			return true
		}
	}
	return false
}

// sweep drops up to boardSweep flow tags other than keep that are at or
// behind c.v (their start would be c.v: the same as absent), looking at
// as many, from where map iteration starts (a random place).
func (c *boardClass) sweep(keep string) {
	seen := 0
	for f, finish := range c.flows {
		if seen == boardSweep {
			return
		}
		if f == keep {
			continue
		}
		seen++
		if finish <= c.v {
			delete(c.flows, f)
		}
	}
}

// Contend records that the store refused the Turn of p (for its turn, or
// for a limit, a pace or the concurrency cap) and that it keeps its place
// until until (µs): the store's Wait plus its grace. A member that has no
// place when MaxContenders are kept gets none. A zero Place changes
// nothing.
func (b *Board) Contend(p Place, until int64) {
	t := p.turn
	if t.Member == "" {
		return
	}
	if _, ok := b.contenders[t.Member]; !ok && len(b.contenders) >= MaxContenders {
		return
	}
	if b.contenders == nil {
		b.contenders = make(map[string]contender)
	}
	b.contenders[t.Member] = contender{class: t.Class, flow: t.Flow, share: t.Share, until: until}
}

// Idle reports whether forgetting the Board at now changes nothing that
// matters: no contender holds a place, and Place last ran BoardIdle ago
// or more.
func (b *Board) Idle(now int64) bool {
	for _, c := range b.contenders {
		if c.until > now {
			return false
		}
	}
	return now-b.last >= int64(BoardIdle/time.Microsecond)
}

// Flows returns how many flow tags the Board keeps, every class counted.
func (b *Board) Flows() int {
	n := 0
	for _, c := range b.classes {
		n += len(c.flows)
	}
	return n
}

// Contenders returns how many members hold a place at now.
func (b *Board) Contenders(now int64) int {
	n := 0
	for _, c := range b.contenders {
		if c.until > now {
			n++
		}
	}
	return n
}
