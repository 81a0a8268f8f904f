package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed/store"
)

// Steps of turns: the heads of the waiting rooms of several processes
// (members) ask for one scope, each for a flow of one class; the store
// admits a head only when no contender (a head refused recently) has a
// smaller tag (see store.Turn and fair.Board).
//
// A head admitted while no other of its class waits leaves no tag behind
// (its class is not backlogged), so the steps first have a head refused
// by the limit, which then holds a place.

// turnStep is one Acquire of a member's head and what it must answer.
type turnStep struct {
	advance time.Duration // moved before the step
	member  string        // also its flow
	allowed bool
	reason  store.Reason
	wait    time.Duration // when refused, exactly
}

// turnOf returns the Turn of member, whose flow is its name, in class
// "default" of share 1.
func turnOf(member string) *store.Turn {
	return &store.Turn{Member: member, Class: "default", Share: 1, Flow: member, Cost: 1}
}

// runTurns asks the heads of steps under limits.
func runTurns(t *testing.T, s store.Store, c *Clock, limits []store.Limit, steps []turnStep) {
	t.Helper()
	for i, st := range steps {
		c.Advance(st.advance)
		g := acquire(t, s, store.Request{Scope: "t/api/turns", Limits: limits, Turn: turnOf(st.member)})
		if g.Allowed != st.allowed || g.Reason != st.reason || (!st.allowed && g.Wait != st.wait) {
			t.Fatalf("step %d (%s): got allowed=%v reason=%v wait=%v, want allowed=%v reason=%v wait=%v",
				i, st.member, g.Allowed, g.Reason, g.Wait, st.allowed, st.reason, st.wait)
		}
	}
}

// turnsTakeOrder: A and B share a limit of one request every 100ms. A
// head refused by the limit holds a place; a head whose flow was served
// more goes after it, told to wait for the limit and one interval more
// (by then the head it yields to has gone).
func testTurnsTakeOrder(t *testing.T, s store.Store, c *Clock) {
	ms := time.Millisecond
	runTurns(t, s, c, []store.Limit{perSecond(t, "0", 10, 1)}, []turnStep{
		{0, "A", true, store.ReasonNone, 0},
		{0, "B", false, store.ReasonLimit, 100 * ms},       // B's turn, but the limit: B holds a place at tag 0
		{0, "A", false, store.ReasonLimit, 100 * ms},       // a tie (A's tag was not kept: nobody waited)
		{100 * ms, "B", true, store.ReasonNone, 0},         // a tie: the asker's turn; B's flow tag moves to 1
		{0, "A", false, store.ReasonLimit, 100 * ms},       // A's tag 0 < B's 1: A's turn, but the limit
		{0, "B", false, store.ReasonTurn, 200 * ms},        // behind A: the limit's 100ms and one interval
		{100 * ms, "B", false, store.ReasonTurn, 100 * ms}, // the limit has room, still A's turn
		{0, "A", true, store.ReasonNone, 0},                // A's tag moves to 1
		{100 * ms, "B", true, store.ReasonNone, 0},         // a tie at 1
		{0, "A", false, store.ReasonLimit, 100 * ms},
		{0, "B", false, store.ReasonLimit, 100 * ms}, // a tie: B's tag 2 was not kept (nobody waited when B was admitted)
	})
}

// testTurnWaitIsBounded: under a limit of one a minute, a head refused for
// its turn waits for the limit and the grace, not a minute more.
func testTurnWaitIsBounded(t *testing.T, s store.Store, c *Clock) {
	minute := time.Minute
	perMinute := perSecond(t, "0", 1, 1)
	perMinute.GCRA.Interval *= 60
	runTurns(t, s, c, []store.Limit{perMinute}, []turnStep{
		{0, "X", true, store.ReasonNone, 0},
		{0, "B", false, store.ReasonLimit, minute},
		{0, "A", false, store.ReasonLimit, minute},
		{minute, "A", true, store.ReasonNone, 0},
		{0, "A", false, store.ReasonTurn, minute + store.TurnGrace},
		{minute, "B", true, store.ReasonNone, 0},
	})
}

// testTurnWithoutLimits: with no limit at all, a head refused for its
// turn is told to ask again in a millisecond.
func testTurnWithoutLimits(t *testing.T, s store.Store, c *Clock) {
	ms := time.Millisecond
	one := []store.Limit{perSecond(t, "0", 10, 1)}
	runTurns(t, s, c, one, []turnStep{
		{0, "A", true, store.ReasonNone, 0},
		{0, "B", false, store.ReasonLimit, 100 * ms},
		{100 * ms, "A", true, store.ReasonNone, 0}, // a tie; A's tag 1 is kept: B waits
	})
	runTurns(t, s, c, nil, []turnStep{
		{0, "A", false, store.ReasonTurn, ms},
		{0, "B", true, store.ReasonNone, 0},
	})
}

// testTurnContenderExpires: a place ends at its refusal's wait plus
// store.TurnGrace; then it blocks nobody.
func testTurnContenderExpires(t *testing.T, s store.Store, c *Clock) {
	ms := time.Millisecond
	runTurns(t, s, c, []store.Limit{perSecond(t, "0", 10, 1)}, []turnStep{
		{0, "A", true, store.ReasonNone, 0},
		{0, "B", false, store.ReasonLimit, 100 * ms}, // B's place ends at 350ms
		{100 * ms, "A", true, store.ReasonNone, 0},
		{100 * ms, "A", false, store.ReasonTurn, 100 * ms},
		{150*ms - time.Microsecond, "A", false, store.ReasonTurn, 100 * ms},
		{time.Microsecond, "A", true, store.ReasonNone, 0}, // 350ms: B went away
	})
}

// testTurnCooldownFirst: a cooldown answers before the turn.
func testTurnCooldownFirst(t *testing.T, s store.Store, c *Clock) {
	ms := time.Millisecond
	limits := []store.Limit{perSecond(t, "0", 10, 1)}
	runTurns(t, s, c, limits, []turnStep{
		{0, "A", true, store.ReasonNone, 0},
		{0, "B", false, store.ReasonLimit, 100 * ms},
		{100 * ms, "A", true, store.ReasonNone, 0},
	})
	if _, err := s.SetCooldown(ctx, "t/api/turns", store.Cooldown{Until: c.Now().Add(time.Second), Status: 429}); err != nil {
		t.Fatal(err)
	}
	runTurns(t, s, c, limits, []turnStep{
		{0, "A", false, store.ReasonCooldown, time.Second}, // not ReasonTurn, though B holds a place before it
	})
}

// testTurnInvalid: a Turn the store cannot act on is ErrInvalid, naming
// the field.
func testTurnInvalid(t *testing.T, s store.Store, _ *Clock) {
	tests := []struct {
		turn  store.Turn
		field string
	}{
		{store.Turn{Class: "default", Share: 1}, "member"},
		{store.Turn{Member: "m", Share: 1}, "class"},
		{store.Turn{Member: "m", Class: "default"}, "share"},
		{store.Turn{Member: "m", Class: "default", Share: -1}, "share"},
		{store.Turn{Member: "m", Class: "default", Share: 1, Flow: strings.Repeat("f", store.MaxFlowLen+1)}, "flow"},
	}
	for _, tt := range tests {
		_, err := s.Acquire(ctx, store.Request{Scope: "t/api/turns", Turn: &tt.turn})
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("Acquire with turn %.60v: got %v, want ErrInvalid naming the %s", tt.turn, err, tt.field)
		}
	}
	ok := store.Turn{Member: "m", Class: "default", Share: 1, Flow: strings.Repeat("f", store.MaxFlowLen)}
	if g := acquire(t, s, store.Request{Scope: "t/api/turns", Turn: &ok}); !g.Allowed {
		t.Errorf("a flow of MaxFlowLen bytes: got %+v, want allowed", g)
	}
}
