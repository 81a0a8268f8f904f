package serve

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
)

func TestHistoryCountsPerSecondAndForgets(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	h := newHistory(func() time.Time { return now })
	// A request answered at once; one refused twice (a 429, then GitHub's
	// 403 with its quota spent, each retried) and then answered 200; a
	// synthetic answer, which never reached the API.
	attempts := [][]string{{heed.OutcomeOK}, {heed.OutcomeLimited, heed.OutcomeLimited, heed.OutcomeOK}, {}}
	outcomes := []string{heed.OutcomeOK, heed.OutcomeOK, heed.OutcomeSyntheticCooldown}
	for i, as := range attempts {
		for _, a := range as {
			h.Attempt("api", a)
		}
		h.Request("api", outcomes[i])
	}
	h.Waited("api", heed.WaitLimit, time.Second)
	h.Waited("api", heed.WaitBackoff, time.Second) // a retry's backoff is not a wait to leave
	h.Retry("api", "429")
	h.Retry("api", "403")
	now = now.Add(2 * time.Second)
	h.Attempt("api", heed.OutcomeOK)
	h.Request("api", heed.OutcomeOK)

	s := h.snapshot([]string{"api", "idle"}).Upstreams
	api := s["api"]
	last := historyLen - 1
	checks := []struct {
		name string
		got  int64
		want int64
	}{
		{"requests now", api.Requests[last], 1},
		{"requests 2s ago (what reached the API: four attempts, not the synthetic answer)", api.Requests[last-2], 4},
		{"limited 2s ago (a retried 429 and a retried 403)", api.Limited[last-2], 2},
		{"synthetic 2s ago", api.Synthetic[last-2], 1},
		{"waits 2s ago", api.Waits[last-2], 1},
		{"requests 1s ago", api.Requests[last-1], 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	if idle := s["idle"]; len(idle.Requests) != historyLen || idle.Requests[last] != 0 {
		t.Errorf("an upstream with no requests: %v", idle.Requests[last])
	}
	// A full turn of the ring later, the old counts are gone, not read as new.
	now = now.Add(historyLen * time.Second)
	h.Attempt("api", heed.OutcomeOK)
	api = h.snapshot([]string{"api"}).Upstreams["api"]
	var sum int64
	for _, v := range api.Requests {
		sum += v
	}
	if sum != 1 || api.Requests[last] != 1 {
		t.Errorf("after a full turn: %d requests in the window, want only the new one", sum)
	}
}

func TestHistoryCountsTheCache(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	h := newHistory(func() time.Time { return now })
	events := []struct {
		ev    heed.CacheEvent
		saved bool
	}{
		{heed.CacheEvent{Result: heed.CacheMiss, Sent: true, Charged: true}, false},
		{heed.CacheEvent{Result: heed.CacheHit, Bytes: 10}, true},
		{heed.CacheEvent{Result: heed.CacheHit}, true}, // the caller's own conditions, answered 304 from a fresh entry
		{heed.CacheEvent{Result: heed.CacheCoalesced}, true},
		{heed.CacheEvent{Result: heed.CacheRevalidated, Bytes: 10, Sent: true, NotModified: true}, true},                 // free_304
		{heed.CacheEvent{Result: heed.CacheRevalidated, Bytes: 10, Sent: true, NotModified: true, Charged: true}, false}, // a charged 304
		{heed.CacheEvent{Result: heed.CacheRevalidated, Sent: true, NotModified: true}, true},                            // the caller's own 304, free
		{heed.CacheEvent{Result: heed.CacheMiss}, false},                                                                 // never sent: heed answered
	}
	for _, e := range events {
		if got := quotaSaved(e.ev); got != e.saved {
			t.Errorf("quotaSaved(%+v): got %v, want %v", e.ev, got, e.saved)
		}
		h.Cache("api", e.ev)
	}
	now = now.Add(time.Second)
	h.Cache("api", heed.CacheEvent{Result: heed.CacheHit})

	api := h.snapshot([]string{"api", "plain"}).Upstreams["api"]
	last := historyLen - 1
	checks := []struct {
		name      string
		got, want int64
	}{
		{"hits 1s ago", api.CacheHits[last-1], 2},
		{"revalidated 1s ago", api.CacheRevalidated[last-1], 3},
		{"misses 1s ago", api.CacheMisses[last-1], 2},
		{"coalesced 1s ago", api.CacheCoalesced[last-1], 1},
		{"quota saved 1s ago", api.QuotaSaved[last-1], 5},
		{"hits now", api.CacheHits[last], 1},
		{"quota saved now", api.QuotaSaved[last], 1},
		{"requests (the cache counts no attempt)", api.Requests[last-1], 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
	// A full turn of the ring later, a new count clears the second's old
	// cache counts with the rest.
	now = now.Add(historyLen * time.Second)
	h.Attempt("api", heed.OutcomeOK)
	api = h.snapshot([]string{"api"}).Upstreams["api"]
	if api.CacheHits[last] != 0 || api.QuotaSaved[last] != 0 || api.Requests[last] != 1 {
		t.Errorf("after a full turn: %d hits, %d saved, %d requests; want 0, 0, 1", api.CacheHits[last], api.QuotaSaved[last], api.Requests[last])
	}
}

func TestHistoryJSONKeepsItsFields(t *testing.T) {
	t.Parallel()
	h := newHistory(func() time.Time { return time.Unix(1_800_000_000, 0) })
	b, err := json.Marshal(h.snapshot([]string{"api"}).Upstreams["api"])
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string][]int64
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"requests", "limited", "synthetic", "waits", "input_tokens", "output_tokens",
		"cache_hits", "cache_revalidated", "cache_misses", "cache_coalesced", "quota_saved"} {
		if len(fields[f]) != historyLen {
			t.Errorf("%s: %d seconds, want %d", f, len(fields[f]), historyLen)
		}
	}
}

func TestHistoryCountsFairShares(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	h := newHistory(func() time.Time { return now })
	for _, ev := range []heed.FairEvent{
		{Class: "interactive", Result: heed.FairAdmitted, Cost: 1800},
		{Class: "interactive", Result: heed.FairAdmitted, Cost: 200, Waited: time.Second},
		{Class: "batch", Result: heed.FairAdmitted, Cost: 1},
		{Class: "batch", Result: heed.FairRefused, Cost: 1},
		{Class: "batch", Result: "sideways", Cost: 7}, // unknown: ignored
	} {
		h.Fair("openai", ev)
	}
	now = now.Add(time.Second)
	h.Fair("openai", heed.FairEvent{Class: "batch", Result: heed.FairRefused})
	h.Attempt("plain", heed.OutcomeOK)

	s := h.snapshot([]string{"openai", "plain"}).Upstreams
	fair, last := s["openai"].Fair, historyLen-1
	checks := []struct {
		name      string
		got, want int64
	}{
		{"interactive cost 1s ago", fair["interactive"].AdmittedCost[last-1], 2000},
		{"interactive refused 1s ago", fair["interactive"].Refused[last-1], 0},
		{"interactive cost now", fair["interactive"].AdmittedCost[last], 0},
		{"batch cost 1s ago (admitted only)", fair["batch"].AdmittedCost[last-1], 1},
		{"batch refused 1s ago", fair["batch"].Refused[last-1], 1},
		{"batch refused now", fair["batch"].Refused[last], 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
	if len(fair) != 2 || len(fair["batch"].Refused) != historyLen {
		t.Errorf("classes %v, want interactive and batch, %d seconds each", fair, historyLen)
	}
	b, err := json.Marshal(s["plain"])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"fair"`) {
		t.Errorf("an upstream without fair shares has a fair field: %s", b)
	}
	// A full turn of the ring later, the old counts are gone.
	now = now.Add(historyLen * time.Second)
	h.Fair("openai", heed.FairEvent{Class: "interactive", Result: heed.FairAdmitted, Cost: 3})
	fair = h.snapshot([]string{"openai"}).Upstreams["openai"].Fair
	if len(fair) != 1 || fair["interactive"].AdmittedCost[last] != 3 {
		t.Errorf("after a full turn: %v, want interactive's 3 alone", fair)
	}
}

// TestHistoryBoundsTheClasses: one second counts at most
// maxHistoryClasses classes of an upstream; more are dropped, not grown.
func TestHistoryBoundsTheClasses(t *testing.T) {
	t.Parallel()
	h := newHistory(func() time.Time { return time.Unix(1_800_000_000, 0) })
	for i := range maxHistoryClasses + 10 {
		h.Fair("api", heed.FairEvent{Class: "c" + strconv.Itoa(i), Result: heed.FairAdmitted, Cost: 1})
	}
	h.Fair("api", heed.FairEvent{Class: "c0", Result: heed.FairAdmitted, Cost: 1})
	fair := h.snapshot([]string{"api"}).Upstreams["api"].Fair
	if len(fair) != maxHistoryClasses || fair["c0"].AdmittedCost[historyLen-1] != 2 {
		t.Errorf("%d classes (c0: %d), want %d and c0 still counted", len(fair), fair["c0"].AdmittedCost[historyLen-1], maxHistoryClasses)
	}
}
