package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
)

// Steps of reserving and settling in several units at once, as an LLM
// request does: one request limit and three token limits, each of
// tenPer100ms (see units.go).

// llmLimits returns a limit of each unit: rpm, tpm, itpm and otpm.
func llmLimits() []store.Limit {
	return []store.Limit{
		tenPer100ms("rpm", store.UnitRequests),
		tenPer100ms("tpm", store.UnitTokens),
		tenPer100ms("itpm", store.UnitInputTokens),
		tenPer100ms("otpm", store.UnitOutputTokens),
	}
}

// probes returns one refusal per limit of llmLimits: asking that limit
// alone for its whole burst waits exactly what it holds, given in waits
// (rpm, tpm, itpm, otpm).
func probes(scope string, what string, waits [4]time.Duration) []refusal {
	var rs []refusal
	for i, l := range llmLimits() {
		var c store.Cost
		switch l.Unit {
		case store.UnitRequests:
			c.Requests = 10
		case store.UnitTokens:
			c.Tokens = 10
		case store.UnitInputTokens:
			c.InputTokens = 10
		case store.UnitOutputTokens:
			c.OutputTokens = 10
		}
		rs = append(rs, refusal{what + "/" + l.Key, store.Request{Scope: scope, Limits: []store.Limit{l}, Cost: c}, l.Key, waits[i]})
	}
	return rs
}

// testUnitsAllOrNone: a request under limits of every unit is refused when
// any one of them has no room, and then charges none of them.
func testUnitsAllOrNone(t *testing.T, s store.Store, _ *Clock) {
	const scope = "t/api/llm"
	all := llmLimits()
	mustAllow(t, s, store.Request{Scope: scope, Limits: all, Cost: store.Cost{Requests: 1, Tokens: 8, InputTokens: 3, OutputTokens: 5}})
	ms := time.Millisecond
	checkRefusals(t, s, []refusal{
		{"ByTokens", store.Request{Scope: scope, Limits: all, Cost: store.Cost{Requests: 1, Tokens: 5, InputTokens: 2, OutputTokens: 3}}, "tpm", 30 * ms},
		{"ByOutputTokens", store.Request{Scope: scope, Limits: all, Cost: store.Cost{Requests: 1, Tokens: 1, InputTokens: 1, OutputTokens: 8}}, "otpm", 30 * ms},
	})
	// Only the first request's charge shows.
	checkRefusals(t, s, probes(scope, "Untouched", [4]time.Duration{10 * ms, 80 * ms, 30 * ms, 50 * ms}))
}

// testSettleEveryUnit: one Settle moves every unit by its own delta at
// once, the next Acquire sees it, and a refund never lifts a limit beyond
// full.
func testSettleEveryUnit(t *testing.T, s store.Store, _ *Clock) {
	const scope = "t/api/llm"
	all := llmLimits()
	ms := time.Millisecond
	mustAllow(t, s, store.Request{Scope: scope, Limits: all, Cost: store.Cost{Requests: 1, Tokens: 9, InputTokens: 6, OutputTokens: 7}})
	// Room for this in tokens, input and output tokens only once refunded.
	next := store.Request{Scope: scope, Limits: all, Cost: store.Cost{Requests: 1, Tokens: 5, InputTokens: 5, OutputTokens: 8}}
	checkRefusals(t, s, []refusal{{"BeforeTheRefund", next, "otpm", 50 * ms}})
	settle(t, s, store.Settlement{Scope: scope, Limits: all, Delta: store.Cost{Tokens: -4, InputTokens: -1, OutputTokens: -5}})
	mustAllow(t, s, next)
	checkRefusals(t, s, probes(scope, "AfterTheRefund", [4]time.Duration{20 * ms, 100 * ms, 100 * ms, 100 * ms}))
	settle(t, s, store.Settlement{Scope: scope, Limits: all, Delta: store.Cost{Tokens: -1000, InputTokens: -3, OutputTokens: -1000}})
	after := probes(scope, "AfterAHugeRefund", [4]time.Duration{20 * ms, 0, 70 * ms, 0})
	checkRefusals(t, s, []refusal{after[0], after[2]})
	for _, full := range []refusal{after[1], after[3]} { // tpm and otpm
		mustAllow(t, s, full.req) // the whole burst, and no more
		one := full.req
		one.Cost = store.Cost{Tokens: 1, OutputTokens: 1}
		checkRefusals(t, s, []refusal{{"PastTheBurst/" + full.limit, one, full.limit, 10 * ms}})
	}
}

// testConcurrentReserveSettle: many goroutines reserve in three units and
// settle at once, some giving back and some charging more; what is left is
// the exact sum. (A concurrency cap keeps a store from taking admissions
// ahead, which would charge more than the requests made.)
func testConcurrentReserveSettle(t *testing.T, s store.Store, _ *Clock) {
	const scope = "t/api/llm"
	const workers, each = 16, 20
	// A unit a millisecond, a burst of 2000: every request fits.
	wide := func(key string, u store.Unit) store.Limit {
		return store.Limit{Key: key, GCRA: limit.GCRA{Interval: 1000, Tolerance: 1999 * 1000}, Unit: u}
	}
	limits := []store.Limit{wide("rpm", store.UnitRequests), wide("tpm", store.UnitTokens), wide("otpm", store.UnitOutputTokens)}
	req := store.Request{Scope: scope, Limits: limits, Concurrency: 1000, Cost: store.Cost{Requests: 1, Tokens: 5, OutputTokens: 4}}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				g, err := s.Acquire(ctx, req)
				if err != nil || !g.Allowed {
					t.Errorf("Acquire: got %+v, %v; want allowed", g, err)
					return
				}
				if err := s.Settle(ctx, store.Settlement{Scope: scope, Limits: limits, Delta: store.Cost{Tokens: -3, OutputTokens: 1}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// n requests: n requests, 2n tokens and 5n output tokens spent.
	const n = workers * each
	probe := func(key string, c store.Cost, wait time.Duration) refusal {
		var l store.Limit
		for _, x := range limits {
			if x.Key == key {
				l = x
			}
		}
		return refusal{"Sum/" + key, store.Request{Scope: scope, Limits: []store.Limit{l}, Cost: c}, key, wait}
	}
	ms := time.Millisecond
	checkRefusals(t, s, []refusal{
		probe("rpm", store.Cost{Requests: 2000}, n*ms),
		probe("tpm", store.Cost{Tokens: 2000}, 2*n*ms),
		probe("otpm", store.Cost{OutputTokens: 2000}, 5*n*ms),
	})
}
