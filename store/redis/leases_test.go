package redis

import (
	"fmt"
	"testing"
	"time"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
)

func TestLeases(t *testing.T) {
	l := newLeases()
	refusal := store.Grant{Reason: store.ReasonLimit, Wait: 300 * time.Microsecond, Limit: "0"}
	steps := []struct {
		do         string // "take", "admit", "refuse" or "drop"
		scope, key string
		now        int64
		want       bool // for take: answered
		allowed    bool // for take
	}{
		{do: "take", scope: "a", key: "1", now: 0},  // nothing held
		{do: "admit", scope: "a", key: "1", now: 0}, // 2 held until 100
		{do: "take", scope: "a", key: "1", now: 10, want: true, allowed: true},
		{do: "take", scope: "a", key: "1", now: 20, want: true, allowed: true},
		{do: "take", scope: "a", key: "1", now: 30},   // spent
		{do: "admit", scope: "a", key: "1", now: 200}, // 2 more until 300
		{do: "take", scope: "a", key: "1", now: 300},  // expired
		{do: "admit", scope: "a", key: "1", now: 400},
		{do: "admit", scope: "b", key: "1", now: 400},
		{do: "drop", scope: "a", now: 410},
		{do: "take", scope: "a", key: "1", now: 410},                            // dropped with its scope
		{do: "take", scope: "b", key: "1", now: 410, want: true, allowed: true}, // another scope kept
		{do: "refuse", scope: "c", key: "2", now: 1000},                         // refused until 1300
		{do: "take", scope: "c", key: "2", now: 1100, want: true},
		{do: "take", scope: "c", key: "2", now: 1300}, // over
		{do: "refuse", scope: "c", key: "2", now: 2000},
		{do: "admit", scope: "c", key: "3", now: 2010}, // another request of c spent units
		{do: "take", scope: "c", key: "2", now: 2020},  // the refusal is forgotten
		// A refusal that comes back with (or after) the round trip that
		// took admissions ahead does not replace them: they were charged.
		{do: "admit", scope: "d", key: "1", now: 3000},
		{do: "refuse", scope: "d", key: "1", now: 3010},
		{do: "take", scope: "d", key: "1", now: 3020, want: true, allowed: true},
		{do: "take", scope: "d", key: "1", now: 3030, want: true, allowed: true},
		{do: "take", scope: "d", key: "1", now: 3040},
	}
	for i, st := range steps {
		switch st.do {
		case "take":
			g, ok := l.take(st.scope, st.key, st.now)
			if ok != st.want || g.Allowed != st.allowed {
				t.Fatalf("step %d: take(%q, %q, %d) = %+v %v, want answered=%v allowed=%v", i, st.scope, st.key, st.now, g, ok, st.want, st.allowed)
			}
			if ok && !g.Allowed && (g.Limit != "0" || g.Wait != limit.Duration(1300-st.now)) {
				t.Fatalf("step %d: the refusal %+v, want limit 0 with %dµs left", i, g, 1300-st.now)
			}
		case "admit":
			l.admitted(st.scope, st.key, 2, st.now, st.now+100)
		case "refuse":
			l.refuse(st.scope, st.key, refusal, st.now)
		case "drop":
			l.drop(st.scope)
		}
	}
}

func TestLeasesSweepExpired(t *testing.T) {
	l := newLeases()
	for i := range maxLeaseKeys {
		l.admitted(fmt.Sprint(i%7), fmt.Sprint(i), 1, 0, 100)
	}
	l.admitted("s", "new", 1, 100, 200) // every earlier one has expired
	if l.n != 1 || len(l.m) != 1 {
		t.Fatalf("%d entries in %d scopes kept, want only the new one", l.n, len(l.m))
	}
}

func TestLeaseKeySeparatesLimitsAndCost(t *testing.T) {
	g := limit.GCRA{Interval: 1000}
	base := store.Request{Scope: "s", Limits: []store.Limit{{Key: "0", GCRA: g}}}
	other := []store.Request{
		{Scope: "s", Limits: base.Limits, Cost: store.Cost{Requests: 2}},
		{Scope: "s", Limits: base.Limits, Cost: store.Cost{Tokens: 2}}, // a tokens pace would be charged 2
		{Scope: "s", Limits: []store.Limit{{Key: "1", GCRA: g}}},
		{Scope: "s", Limits: []store.Limit{{Key: "0", GCRA: limit.GCRA{Interval: 999}}}},
		{Scope: "s", Limits: []store.Limit{{Key: "0", GCRA: g, Unit: store.UnitTokens}}},
		{Scope: "s"},
	}
	for _, o := range other {
		if leaseKey(o) == leaseKey(base) {
			t.Errorf("%+v and %+v share a lease key", o, base)
		}
	}
	if leaseKey(store.Request{Scope: "s", Limits: base.Limits, Cost: store.Cost{Requests: 1, Tokens: 1}}) != leaseKey(base) {
		t.Error("amounts 0 and 1 differ, though both charge 1")
	}
}

func TestLeasesSettled(t *testing.T) {
	refusal := store.Grant{Reason: store.ReasonLimit, Wait: time.Second, Limit: "0"}
	tests := []struct {
		name                   string
		more                   bool
		wantBatch, wantRefusal bool
	}{
		{"ChargedMoreDropsAll", true, false, false},
		{"GaveBackForgetsRefusals", false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLeases()
			l.admitted("a", "batch", 2, 0, 100)
			l.refuse("a", "refused", refusal, 0)
			l.admitted("b", "batch", 2, 0, 100)
			l.settled("a", tt.more)
			if _, ok := l.take("a", "batch", 10); ok != tt.wantBatch {
				t.Errorf("batch held: got %v, want %v", ok, tt.wantBatch)
			}
			if _, ok := l.take("a", "refused", 10); ok != tt.wantRefusal {
				t.Errorf("refusal held: got %v, want %v", ok, tt.wantRefusal)
			}
			if _, ok := l.take("b", "batch", 10); !ok {
				t.Error("another scope's batch was dropped")
			}
		})
	}
}
