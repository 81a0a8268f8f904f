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
// the API), waits, the input and output tokens priced requests cost
// (as their responses' usage reported), what the response cache and
// coalescing did, and for an upstream with fair shares, per priority
// class, the cost admitted and the requests refused. It implements
// heed.Metrics, beside the Prometheus metrics.
type history struct {
	now func() time.Time

	mu     sync.Mutex // guards series
	series map[string]*series
}

// series is one upstream's ring of per-second buckets.
type series [historyLen]bucket

// bucket is one second's counts of one upstream.
type bucket struct {
	sec                                 int64 // the Unix second it counts, 0: never
	requests, limited, synthetic, waits int64
	inputTokens, outputTokens           int64
	// The cache's results (see heed.CacheEvent), and quotaSaved: the
	// requests that spent no unit of the request limits.
	cacheHits, cacheRevalidated, cacheMisses, cacheCoalesced int64
	quotaSaved                                               int64
	// fair counts, per priority class, what left the waiting room; at most
	// maxHistoryClasses, in the order first seen this second.
	fair []fairCount
}

// fairCount is one second's passage of one priority class through the
// waiting room: the cost of the requests admitted, and the requests
// refused.
type fairCount struct {
	class         string
	cost, refused int64
}

// maxHistoryClasses bounds the classes a second counts per upstream: a
// config has at most 16, and a reload may rename them.
const maxHistoryClasses = 32

// fairOf returns the counts of class in b, made on first use; nil when b
// already counts maxHistoryClasses others.
func (b *bucket) fairOf(class string) *fairCount {
	for i := range b.fair {
		if b.fair[i].class == class {
			return &b.fair[i]
		}
	}
	if len(b.fair) >= maxHistoryClasses {
		return nil
	}
	b.fair = append(b.fair, fairCount{class: class})
	return &b.fair[len(b.fair)-1]
}

func newHistory(now func() time.Time) *history {
	return &history{now: now, series: make(map[string]*series)}
}

// count adds one to the counter pick chooses, in the current second.
func (h *history) count(upstream string, pick func(*bucket) *int64) {
	h.add(upstream, pick, 1)
}

// add adds n to the counter pick chooses, in the current second.
func (h *history) add(upstream string, pick func(*bucket) *int64, n int64) {
	sec := h.now().Unix()
	h.mu.Lock()
	defer h.mu.Unlock()
	*pick(h.bucketLocked(upstream, sec)) += n
}

// addFair adds cost and refused to class's counts in the current second.
func (h *history) addFair(upstream, class string, cost, refused int64) {
	sec := h.now().Unix()
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.bucketLocked(upstream, sec).fairOf(class); c != nil {
		c.cost += cost
		c.refused += refused
	}
}

// bucketLocked returns upstream's bucket of the Unix second sec, cleared
// if it held an older second. h.mu must be held.
func (h *history) bucketLocked(upstream string, sec int64) *bucket {
	s := h.series[upstream]
	if s == nil {
		s = new(series)
		h.series[upstream] = s
	}
	b := &s[sec%historyLen]
	if b.sec != sec {
		*b = bucket{sec: sec, fair: b.fair[:0]}
	}
	return b
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
	// CacheHits, CacheRevalidated, CacheMisses and CacheCoalesced count
	// the GETs and HEADs the response cache and coalescing looked up, by
	// result (heed.CacheHit...); zeros for an upstream with neither.
	CacheHits        []int64 `json:"cache_hits"`
	CacheRevalidated []int64 `json:"cache_revalidated"`
	CacheMisses      []int64 `json:"cache_misses"`
	CacheCoalesced   []int64 `json:"cache_coalesced"`
	// QuotaSaved counts the requests that spent no unit of the request
	// limits: hits, coalesced, and 304s the API does not charge.
	QuotaSaved []int64 `json:"quota_saved"`
	// Fair holds, by priority class, what left the waiting room of an
	// upstream with fair shares; absent for others.
	Fair map[string]fairJSON `json:"fair,omitempty"`
}

// fairJSON is one priority class's passage through the waiting room,
// historyLen seconds, oldest first.
type fairJSON struct {
	// AdmittedCost is the cost of the requests let go at their turn (1 a
	// request, or their estimated tokens): a class's share of the sum of
	// every class's is its use of the capacity.
	AdmittedCost []int64 `json:"admitted_cost"`
	// Refused counts the requests answered with a synthetic limit answer
	// instead of a turn.
	Refused []int64 `json:"refused"`
}

// newSeriesJSON returns a seriesJSON of zeros.
func newSeriesJSON() seriesJSON {
	z := func() []int64 { return make([]int64, historyLen) }
	return seriesJSON{Requests: z(), Limited: z(), Synthetic: z(), Waits: z(), InputTokens: z(), OutputTokens: z(),
		CacheHits: z(), CacheRevalidated: z(), CacheMisses: z(), CacheCoalesced: z(), QuotaSaved: z(),
		Fair: map[string]fairJSON{}}
}

// set copies b into the k-th second of js.
func (js seriesJSON) set(k int, b *bucket) {
	js.Requests[k], js.Limited[k], js.Synthetic[k], js.Waits[k] = b.requests, b.limited, b.synthetic, b.waits
	js.InputTokens[k], js.OutputTokens[k] = b.inputTokens, b.outputTokens
	js.CacheHits[k], js.CacheRevalidated[k], js.CacheMisses[k], js.CacheCoalesced[k] = b.cacheHits, b.cacheRevalidated, b.cacheMisses, b.cacheCoalesced
	js.QuotaSaved[k] = b.quotaSaved
	for _, c := range b.fair {
		f, ok := js.Fair[c.class]
		if !ok {
			f = fairJSON{AdmittedCost: make([]int64, historyLen), Refused: make([]int64, historyLen)}
			js.Fair[c.class] = f
		}
		f.AdmittedCost[k], f.Refused[k] = c.cost, c.refused
	}
}

// snapshot returns the last historyLen seconds of every upstream in names
// (those with no count yet get zeros).
func (h *history) snapshot(names []string) historyJSON {
	end := h.now().Unix()
	out := historyJSON{StepSeconds: 1, End: time.Unix(end, 0).UTC(), Upstreams: make(map[string]seriesJSON, len(names))}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, name := range names {
		js := newSeriesJSON()
		if s := h.series[name]; s != nil {
			for k := range historyLen {
				sec := end - historyLen + 1 + int64(k)
				if b := &s[sec%historyLen]; b.sec == sec {
					js.set(k, b)
				}
			}
		}
		out.Upstreams[name] = js
	}
	return out
}

func requestsOf(b *bucket) *int64         { return &b.requests }
func limitedOf(b *bucket) *int64          { return &b.limited }
func syntheticOf(b *bucket) *int64        { return &b.synthetic }
func waitsOf(b *bucket) *int64            { return &b.waits }
func inputOf(b *bucket) *int64            { return &b.inputTokens }
func outputOf(b *bucket) *int64           { return &b.outputTokens }
func cacheHitsOf(b *bucket) *int64        { return &b.cacheHits }
func cacheRevalidatedOf(b *bucket) *int64 { return &b.cacheRevalidated }
func cacheMissesOf(b *bucket) *int64      { return &b.cacheMisses }
func cacheCoalescedOf(b *bucket) *int64   { return &b.cacheCoalesced }
func quotaSavedOf(b *bucket) *int64       { return &b.quotaSaved }

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

// Cache implements heed.Metrics: what the cache and coalescing did for a
// request, and whether that saved the request limits a unit.
func (h *history) Cache(upstream string, ev heed.CacheEvent) {
	switch ev.Result {
	case heed.CacheHit:
		h.count(upstream, cacheHitsOf)
	case heed.CacheRevalidated:
		h.count(upstream, cacheRevalidatedOf)
	case heed.CacheMiss:
		h.count(upstream, cacheMissesOf)
	case heed.CacheCoalesced:
		h.count(upstream, cacheCoalescedOf)
	}
	if quotaSaved(ev) {
		h.count(upstream, quotaSavedOf)
	}
}

// quotaSaved reports whether a request the cache looked up spent no unit
// of the request limits: answered from the cache or by a request in
// flight, or by a 304 the API does not charge.
func quotaSaved(ev heed.CacheEvent) bool {
	switch ev.Result {
	case heed.CacheHit, heed.CacheCoalesced:
		return true
	}
	return ev.NotModified && !ev.Charged
}

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

func (t tee) Fair(u string, ev heed.FairEvent) {
	for _, m := range t {
		m.Fair(u, ev)
	}
}

// Fair implements heed.Metrics: a request leaving the waiting room,
// admitted with its cost or refused. An unknown result is ignored.
func (h *history) Fair(upstream string, ev heed.FairEvent) {
	switch ev.Result {
	case heed.FairAdmitted:
		h.addFair(upstream, ev.Class, max(ev.Cost, 0), 0)
	case heed.FairRefused:
		h.addFair(upstream, ev.Class, 0, 1)
	}
}
