package storetest

import (
	"testing"
	"time"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
)

// Steps of costs in units: each limit and pace is charged the request's
// cost in its own unit, and at least 1.
//
// Their limits let 10 units through back to back, then one every 10ms, and
// every first request costs more than half of that in some unit: so a store
// that takes admissions ahead when they fit now (the Redis store's local
// leasing) takes none, and every charge shows in the waits that follow.

// tenPer100ms returns a limit keyed key counting u: a burst of 10 units,
// then one every 10ms.
func tenPer100ms(key string, u store.Unit) store.Limit {
	return store.Limit{Key: key, GCRA: limit.GCRA{Interval: 10_000, Tolerance: 90_000}, Unit: u}
}

// pace returns a pace keyed key counting u at tenPer100ms's rate, until
// until.
func pace(key string, u store.Unit, until time.Time) store.Pace {
	return store.Pace{Key: key, GCRA: tenPer100ms(key, u).GCRA, Until: until, Unit: u}
}

// refusal is an Acquire that must be refused by a limit, and how.
type refusal struct {
	name  string
	req   store.Request
	limit string        // the Key of the refusing limit or pace
	wait  time.Duration // exactly
}

// checkRefusals runs each refusal; a refused Acquire takes nothing, so they
// do not disturb each other.
func checkRefusals(t *testing.T, s store.Store, refusals []refusal) {
	t.Helper()
	for _, r := range refusals {
		g := acquire(t, s, r.req)
		if g.Allowed || g.Reason != store.ReasonLimit || g.Limit != r.limit || g.Wait != r.wait {
			t.Errorf("%s: got allowed=%v reason=%v limit=%q wait=%v, want refused by %q for %v",
				r.name, g.Allowed, g.Reason, g.Limit, g.Wait, r.limit, r.wait)
		}
	}
}

// mustAllow runs req and fails the test unless it is allowed.
func mustAllow(t *testing.T, s store.Store, req store.Request) {
	t.Helper()
	if g := acquire(t, s, req); !g.Allowed {
		t.Fatalf("Acquire(%+v): got %+v, want allowed", req.Cost, g)
	}
}

// testPerUnitCosts: one request under a limit of each unit charges each
// limit its own amount; a unit the cost does not mention is charged 1.
func testPerUnitCosts(t *testing.T, s store.Store, _ *Clock) {
	const scope = "t/api/a"
	rpm := tenPer100ms("rpm", store.UnitRequests)
	tpm := tenPer100ms("tpm", store.UnitTokens)
	itpm := tenPer100ms("itpm", store.UnitInputTokens)
	otpm := tenPer100ms("otpm", store.UnitOutputTokens)
	mustAllow(t, s, store.Request{Scope: scope, Limits: []store.Limit{rpm, tpm, itpm, otpm},
		Cost: store.Cost{Requests: 1, Tokens: 6, InputTokens: 4}})
	// Asking one limit for its whole burst waits exactly what it was charged.
	ms := time.Millisecond
	checkRefusals(t, s, []refusal{
		{"Requests", store.Request{Scope: scope, Limits: []store.Limit{rpm}, Cost: store.Cost{Requests: 10}}, "rpm", 10 * ms},
		{"Tokens", store.Request{Scope: scope, Limits: []store.Limit{tpm}, Cost: store.Cost{Tokens: 10}}, "tpm", 60 * ms},
		{"InputTokens", store.Request{Scope: scope, Limits: []store.Limit{itpm}, Cost: store.Cost{InputTokens: 10}}, "itpm", 40 * ms},
		{"ZeroOutputTokensCharge1", store.Request{Scope: scope, Limits: []store.Limit{otpm}, Cost: store.Cost{OutputTokens: 10}}, "otpm", 10 * ms},
	})
}

// testPaceUnits: a pace is charged the request's cost in the pace's unit.
func testPaceUnits(t *testing.T, s store.Store, c *Clock) {
	const scope = "t/api/a"
	until := c.Now().Add(time.Minute)
	for _, p := range []store.Pace{
		pace("rpm", store.UnitRequests, until),
		pace("tpm", store.UnitTokens, until),
		pace("itpm", store.UnitInputTokens, until),
	} {
		if _, err := s.SetPace(ctx, scope, p); err != nil {
			t.Fatal(err)
		}
	}
	mustAllow(t, s, store.Request{Scope: scope, Cost: store.Cost{Requests: 1, Tokens: 6}})
	// Every request meets every pace: each asks one pace for its burst and
	// the others for 1.
	ms := time.Millisecond
	checkRefusals(t, s, []refusal{
		{"Tokens", store.Request{Scope: scope, Cost: store.Cost{Tokens: 10}}, "tpm", 60 * ms},
		{"Requests", store.Request{Scope: scope, Cost: store.Cost{Requests: 10}}, "rpm", 10 * ms},
		{"ZeroInputTokensCharge1", store.Request{Scope: scope, Cost: store.Cost{InputTokens: 10}}, "itpm", 10 * ms},
	})
}
