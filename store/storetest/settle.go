package storetest

import (
	"testing"
	"time"

	"github.com/heedhq/heed/store"
)

// Steps of Settle, with the limits of units.go: 10 units back to back,
// then one every 10ms.

// settle calls Settle and fails the test on error.
func settle(t *testing.T, s store.Store, set store.Settlement) {
	t.Helper()
	if err := s.Settle(ctx, set); err != nil {
		t.Fatalf("Settle(%+v): %v", set, err)
	}
}

// testSettleGivesBack: units given back shorten the wait by as much, and
// never lift a limit above full.
func testSettleGivesBack(t *testing.T, s store.Store, c *Clock) {
	const scope = "t/api/a"
	tpm := []store.Limit{tenPer100ms("tpm", store.UnitTokens)}
	mustAllow(t, s, store.Request{Scope: scope, Limits: tpm, Cost: store.Cost{Tokens: 8}})
	whole := store.Request{Scope: scope, Limits: tpm, Cost: store.Cost{Tokens: 10}}
	ms := time.Millisecond
	checkRefusals(t, s, []refusal{{"Charged8", whole, "tpm", 80 * ms}})
	settle(t, s, store.Settlement{Scope: scope, Limits: tpm, Delta: store.Cost{Tokens: -3}})
	checkRefusals(t, s, []refusal{{"GaveBack3", whole, "tpm", 50 * ms}})
	c.Advance(20 * ms)
	settle(t, s, store.Settlement{Scope: scope, Limits: tpm, Delta: store.Cost{Tokens: -1000}})
	// Exactly full: the burst back to back, then a wait of one interval.
	one := store.Request{Scope: scope, Limits: tpm, Cost: store.Cost{Tokens: 1}}
	for i := range 10 {
		if g := acquire(t, s, one); !g.Allowed {
			t.Fatalf("after a huge refund, unit %d: got %+v, want allowed", i+1, g)
		}
	}
	checkRefusals(t, s, []refusal{{"PastTheBurst", one, "tpm", 10 * ms}})
}

// testSettleChargesMore: a charge past the burst is taken whatever the room
// left, and later requests wait exactly the debt.
func testSettleChargesMore(t *testing.T, s store.Store, c *Clock) {
	const scope = "t/api/a"
	tpm := []store.Limit{tenPer100ms("tpm", store.UnitTokens)}
	mustAllow(t, s, store.Request{Scope: scope, Limits: tpm, Cost: store.Cost{Tokens: 8}})
	settle(t, s, store.Settlement{Scope: scope, Limits: tpm, Delta: store.Cost{Tokens: 12}})
	// 20 units spent: 200ms to restore, of which the burst covers 90ms.
	one := store.Request{Scope: scope, Limits: tpm, Cost: store.Cost{Tokens: 1}}
	checkRefusals(t, s, []refusal{{"InDebt", one, "tpm", 110 * time.Millisecond}})
	c.Advance(110 * time.Millisecond)
	mustAllow(t, s, one)
}

// testSettleOnlyTouchesItsUnits: each limit and pace moves by the delta in
// its own unit, and a pace that has ended does not move.
func testSettleOnlyTouchesItsUnits(t *testing.T, s store.Store, c *Clock) {
	t.Run("Limits", func(t *testing.T) { settleLimitsByUnit(t, s) })
	t.Run("Paces", func(t *testing.T) { settlePacesByUnit(t, s, c) })
}

func settleLimitsByUnit(t *testing.T, s store.Store) {
	const scope = "t/api/limits"
	rpm := tenPer100ms("rpm", store.UnitRequests)
	tpm := tenPer100ms("tpm", store.UnitTokens)
	itpm := tenPer100ms("itpm", store.UnitInputTokens)
	all := []store.Limit{rpm, tpm, itpm}
	mustAllow(t, s, store.Request{Scope: scope, Limits: all, Cost: store.Cost{Requests: 5, Tokens: 6, InputTokens: 6}})
	settle(t, s, store.Settlement{Scope: scope, Limits: all, Delta: store.Cost{Tokens: 20, OutputTokens: 7}})
	ms := time.Millisecond
	checkRefusals(t, s, []refusal{
		{"RequestsUnchanged", store.Request{Scope: scope, Limits: []store.Limit{rpm}, Cost: store.Cost{Requests: 10}}, "rpm", 50 * ms},
		{"TokensCharged", store.Request{Scope: scope, Limits: []store.Limit{tpm}, Cost: store.Cost{Tokens: 10}}, "tpm", 260 * ms},
		{"InputTokensUnchanged", store.Request{Scope: scope, Limits: []store.Limit{itpm}, Cost: store.Cost{InputTokens: 10}}, "itpm", 60 * ms},
	})
}

func settlePacesByUnit(t *testing.T, s store.Store, c *Clock) {
	const scope = "t/api/paces"
	ms := time.Millisecond
	long, short := c.Now().Add(time.Minute), c.Now().Add(20*ms)
	setPaces := func(paces ...store.Pace) {
		t.Helper()
		for _, p := range paces {
			if _, err := s.SetPace(ctx, scope, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	setPaces(pace("rpm", store.UnitRequests, long), pace("tpm", store.UnitTokens, long), pace("ended", store.UnitInputTokens, short))
	// rpm at 50ms, tpm and ended at 60ms; then ended ends.
	mustAllow(t, s, store.Request{Scope: scope, Cost: store.Cost{Requests: 5, Tokens: 6, InputTokens: 6}})
	c.Advance(20 * ms)
	settle(t, s, store.Settlement{Scope: scope, Delta: store.Cost{Tokens: 20, InputTokens: 20}})
	// The ended pace, learned again before an Acquire forgets it, keeps its
	// state (limit.Reprice): the settle must not have moved it.
	setPaces(pace("ended", store.UnitInputTokens, long))
	checkRefusals(t, s, []refusal{
		{"TokensCharged", store.Request{Scope: scope, Cost: store.Cost{Tokens: 10}}, "tpm", 240 * ms},
	})
	settle(t, s, store.Settlement{Scope: scope, Delta: store.Cost{Tokens: -1000}})
	// tpm is full again (it lets 1 through); the others are as they were.
	checkRefusals(t, s, []refusal{
		{"RequestsUnchanged", store.Request{Scope: scope, Cost: store.Cost{Requests: 10}}, "rpm", 30 * ms},
		{"EndedUnchanged", store.Request{Scope: scope, Cost: store.Cost{InputTokens: 10}}, "ended", 40 * ms},
	})
}
