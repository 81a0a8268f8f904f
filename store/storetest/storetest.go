// Package storetest is the contract every heed Store must meet: one suite
// of steps that the memory store and the Redis store (standalone and
// Cluster) all run, so that they make the same decisions.
//
// Use it from a Store implementation's tests:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
//			return memory.New(memory.Options{Now: clock.Now})
//		})
//	}
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed/store"
)

// Clock is a fake clock the suite moves by hand. It is safe for concurrent
// use.
type Clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// NewStore returns a fresh, empty Store whose clock is clock. The suite
// closes it.
type NewStore func(t *testing.T, clock *Clock) store.Store

// Run runs the contract suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store, c *Clock)
	}{
		{"EmptyScopeAllows", testEmptyScopeAllows},
		{"LimitSteps", testLimitSteps},
		{"AllLimitsOrNone", testAllLimitsOrNone},
		{"ScopesAreIndependent", testScopesAreIndependent},
		{"CostChargesUnits", testCostChargesUnits},
		{"PerUnitCosts", testPerUnitCosts},
		{"PaceUnits", testPaceUnits},
		{"SettleGivesBack", testSettleGivesBack},
		{"SettleChargesMore", testSettleChargesMore},
		{"SettleOnlyTouchesItsUnits", testSettleOnlyTouchesItsUnits},
		{"UnitsAllOrNone", testUnitsAllOrNone},
		{"SettleEveryUnit", testSettleEveryUnit},
		{"ConcurrentReserveSettle", testConcurrentReserveSettle},
		{"CooldownRefusesUntilItEnds", testCooldownRefuses},
		{"CooldownKeepsTheLater", testCooldownKeepsLater},
		{"CooldownReplayIsACopy", testCooldownReplayIsACopy},
		{"CooldownKeepsItsTime", testCooldownKeepsItsTime},
		{"ConcurrencyCap", testConcurrencyCap},
		{"LeaseExpires", testLeaseExpires},
		{"RefusalTakesNothing", testRefusalTakesNothing},
		{"PaceAppliesUntilItEnds", testPaceApplies},
		{"PaceReplacementKeepsState", testPaceReplacement},
		{"LearnedPaceOutranksSpread", testLearnedPaceOutranksSpread},
		{"ConcurrentAcquiresAreAtomic", testConcurrentAtomic},
		{"InvalidRequests", testInvalid},
		{"TurnsTakeOrder", testTurnsTakeOrder},
		{"TurnWaitIsBounded", testTurnWaitIsBounded},
		{"TurnWithoutLimits", testTurnWithoutLimits},
		{"TurnContenderExpires", testTurnContenderExpires},
		{"TurnCooldownFirst", testTurnCooldownFirst},
		{"TurnInvalid", testTurnInvalid},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
			s := newStore(t, clock)
			if tt.name != "Closed" {
				t.Cleanup(func() { _ = s.Close() })
			}
			tt.run(t, s, clock)
		})
	}
}
