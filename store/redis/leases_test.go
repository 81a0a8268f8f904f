package redis

import (
	"fmt"
	"testing"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/store"
)

func TestLeases(t *testing.T) {
	l := newLeases()
	a, b := "a\x001", "b\x001"
	steps := []struct {
		do   string // "take", "put" or "drop"
		key  string
		now  int64
		want bool // for take
	}{
		{"take", a, 0, false}, // nothing held
		{"put", a, 0, false},  // 2 held until 100
		{"take", a, 10, true},
		{"take", a, 20, true},
		{"take", a, 30, false},  // spent
		{"put", a, 200, false},  // 2 more until 300
		{"take", a, 300, false}, // expired
		{"put", a, 400, false},
		{"put", b, 400, false},
		{"drop", "a", 410, false},
		{"take", a, 410, false}, // dropped with its scope
		{"take", b, 410, true},  // another scope kept
	}
	for i, st := range steps {
		switch st.do {
		case "take":
			if got := l.take(st.key, st.now); got != st.want {
				t.Fatalf("step %d: take(%q, %d) = %v, want %v", i, st.key, st.now, got, st.want)
			}
		case "put":
			l.put(st.key, st.key[:1], 2, st.now, st.now+100)
		case "drop":
			l.drop(st.key)
		}
	}
}

func TestLeasesSweepExpired(t *testing.T) {
	l := newLeases()
	for i := range maxLeaseKeys {
		l.put(fmt.Sprint(i), "s", 1, 0, 100)
	}
	l.put("new", "s", 1, 100, 200) // every earlier one has expired
	if n := len(l.m); n != 1 {
		t.Fatalf("%d batches kept, want only the new one", n)
	}
}

func TestLeaseKeySeparatesLimitsAndCost(t *testing.T) {
	g := limit.GCRA{Interval: 1000}
	base := store.Request{Scope: "s", Limits: []store.Limit{{Key: "0", GCRA: g}}}
	other := []store.Request{
		{Scope: "t", Limits: base.Limits},
		{Scope: "s", Limits: base.Limits, Cost: 2},
		{Scope: "s", Limits: []store.Limit{{Key: "1", GCRA: g}}},
		{Scope: "s", Limits: []store.Limit{{Key: "0", GCRA: limit.GCRA{Interval: 999}}}},
		{Scope: "s"},
	}
	for _, o := range other {
		if leaseKey(o) == leaseKey(base) {
			t.Errorf("%+v and %+v share a lease key", o, base)
		}
	}
	if leaseKey(store.Request{Scope: "s", Limits: base.Limits, Cost: 1}) != leaseKey(base) {
		t.Error("cost 0 and cost 1 differ")
	}
}
