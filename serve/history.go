package serve

import (
	"strings"
	"sync"
	"time"

	"github.com/heedhq/heed"
)

// historyLen is how many seconds /-/history covers.
const historyLen = 300

// history counts, per upstream and per second, what the dashboard charts:
// requests that reached the API (every attempt, retries included),
// refusals the upstream sent, synthetic answers (apart: they never reached
// the API), waits, and the input and output tokens priced requests cost
// (as their responses' usage reported). It implements heed.Metrics, beside the Prometheus
// metrics.
type history struct {
	now func() time.Time

	mu     sync.Mutex // guards series
	series map[string]*series
}

// series is one upstream's ring of per-second counts.
type series struct {
	sec                                 [historyLen]int64 // the Unix second each slot counts, 0: never
	requests, limited, synthetic, waits [historyLen]int64
	inputTokens, outputTokens           [historyLen]int64
}

func newHistory(now func() time.Time) *history {
	return &history{now: now, series: make(map[string]*series)}
}

// count adds one to the counter pick chooses, in the current second.
func (h *history) count(upstream string, pick func(*series) *[historyLen]int64) {
	h.add(upstream, pick, 1)
}

// add adds n to the counter pick chooses, in the current second.
func (h *history) add(upstream string, pick func(*series) *[historyLen]int64, n int64) {
	sec := h.now().Unix()
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.series[upstream]
	if s == nil {
		s = new(series)
		h.series[upstream] = s
	}
	i := int(sec % historyLen)
	if s.sec[i] != sec {
		s.sec[i] = sec
		s.requests[i], s.limited[i], s.synthetic[i], s.waits[i] = 0, 0, 0, 0
		s.inputTokens[i], s.outputTokens[i] = 0, 0
	}
	pick(s)[i] += n
}

// historyJSON is /-/history's body.
type historyJSON struct {
	StepSeconds int                   `json:"step_seconds"`
	End         time.Time             `json:"end"`
	Upstreams   map[string]seriesJSON `json:"upstreams"`
}

// seriesJSON is one upstream's counts, oldest first, historyLen each.
type seriesJSON struct {
	Requests  []int64 `json:"requests"`
	Limited   []int64 `json:"limited"`
	Synthetic []int64 `json:"synthetic"`
	Waits     []int64 `json:"waits"`
	// InputTokens and OutputTokens are the tokens priced requests cost,
	// as their responses' usage reported.
	InputTokens  []int64 `json:"input_tokens"`
	OutputTokens []int64 `json:"output_tokens"`
}

// snapshot returns the last historyLen seconds of every upstream in names
// (those with no count yet get zeros).
func (h *history) snapshot(names []string) historyJSON {
	end := h.now().Unix()
	out := historyJSON{StepSeconds: 1, End: time.Unix(end, 0).UTC(), Upstreams: make(map[string]seriesJSON, len(names))}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, name := range names {
		js := seriesJSON{make([]int64, historyLen), make([]int64, historyLen), make([]int64, historyLen), make([]int64, historyLen),
			make([]int64, historyLen), make([]int64, historyLen)}
		if s := h.series[name]; s != nil {
			for k := range historyLen {
				sec := end - historyLen + 1 + int64(k)
				i := int(sec % historyLen)
				if s.sec[i] == sec {
					js.Requests[k], js.Limited[k], js.Synthetic[k], js.Waits[k] = s.requests[i], s.limited[i], s.synthetic[i], s.waits[i]
					js.InputTokens[k], js.OutputTokens[k] = s.inputTokens[i], s.outputTokens[i]
				}
			}
		}
		out.Upstreams[name] = js
	}
	return out
}

func requestsOf(s *series) *[historyLen]int64  { return &s.requests }
func limitedOf(s *series) *[historyLen]int64   { return &s.limited }
func syntheticOf(s *series) *[historyLen]int64 { return &s.synthetic }
func waitsOf(s *series) *[historyLen]int64     { return &s.waits }
func inputOf(s *series) *[historyLen]int64     { return &s.inputTokens }
func outputOf(s *series) *[historyLen]int64    { return &s.outputTokens }

// Request implements heed.Metrics: a synthetic answer, which never
// reached the API.
func (h *history) Request(upstream, outcome string) {
	if strings.HasPrefix(outcome, "synthetic_") {
		h.count(upstream, syntheticOf)
	}
}

// Attempt implements heed.Metrics: a request that reached the API, and
// the refusal it may have met, final or retried.
func (h *history) Attempt(upstream, outcome string) {
	h.count(upstream, requestsOf)
	if outcome == heed.OutcomeLimited {
		h.count(upstream, limitedOf)
	}
}

// Waited implements heed.Metrics: a request that waited before it left.
func (h *history) Waited(upstream, reason string, _ time.Duration) {
	if reason != heed.WaitBackoff {
		h.count(upstream, waitsOf)
	}
}

func (h *history) Retry(string, string)                {}
func (h *history) Cooldown(string, time.Duration)      {}
func (h *history) Remaining(string, string, float64)   {}
func (h *history) Breaker(string, string)              {}
func (h *history) StoreError(string, string)           {}
func (h *history) FleetSize(string, int)               {}
func (h *history) TokensReserved(string, int64, int64) {}

// TokensSettled implements heed.Metrics: the tokens a response's usage
// reported.
func (h *history) TokensSettled(upstream string, input, output, _, _ int64) {
	h.add(upstream, inputOf, input)
	h.add(upstream, outputOf, output)
}

// Cache implements heed.Metrics: not charted yet.
func (h *history) Cache(string, heed.CacheEvent) {}

// tee sends every observation to each of its Metrics.
type tee []heed.Metrics

func (t tee) Request(u, o string) {
	for _, m := range t {
		m.Request(u, o)
	}
}
func (t tee) Attempt(u, o string) {
	for _, m := range t {
		m.Attempt(u, o)
	}
}
func (t tee) Waited(u, r string, d time.Duration) {
	for _, m := range t {
		m.Waited(u, r, d)
	}
}
func (t tee) Retry(u, r string) {
	for _, m := range t {
		m.Retry(u, r)
	}
}
func (t tee) Cooldown(u string, d time.Duration) {
	for _, m := range t {
		m.Cooldown(u, d)
	}
}
func (t tee) Remaining(u, q string, v float64) {
	for _, m := range t {
		m.Remaining(u, q, v)
	}
}
func (t tee) Breaker(u, s string) {
	for _, m := range t {
		m.Breaker(u, s)
	}
}
func (t tee) StoreError(u, op string) {
	for _, m := range t {
		m.StoreError(u, op)
	}
}
func (t tee) FleetSize(u string, n int) {
	for _, m := range t {
		m.FleetSize(u, n)
	}
}
func (t tee) TokensReserved(u string, in, out int64) {
	for _, m := range t {
		m.TokensReserved(u, in, out)
	}
}
func (t tee) TokensSettled(u string, in, out, estIn, estOut int64) {
	for _, m := range t {
		m.TokensSettled(u, in, out, estIn, estOut)
	}
}
func (t tee) Cache(u string, ev heed.CacheEvent) {
	for _, m := range t {
		m.Cache(u, ev)
	}
}
