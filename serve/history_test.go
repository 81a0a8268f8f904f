package serve

import (
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
