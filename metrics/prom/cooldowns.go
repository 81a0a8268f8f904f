package prom

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// activeCooldowns is the collector of heed_active_cooldowns: per upstream,
// the cooldowns recorded whose end has not passed. It keeps their ends and
// counts them when scraped, so no timer runs. It is safe for concurrent use.
type activeCooldowns struct {
	desc *prometheus.Desc

	mu   sync.Mutex             // guards ends
	ends map[string][]time.Time // by upstream; an upstream, once seen, stays (at 0)
}

func newActiveCooldowns() *activeCooldowns {
	return &activeCooldowns{
		desc: prometheus.NewDesc(namespace+"_active_cooldowns",
			"Cooldowns recorded for scopes of the upstream that have not ended yet.", []string{"upstream"}, nil),
		ends: map[string][]time.Time{},
	}
}

// add keeps the end of a cooldown of length d that starts now, and forgets
// the upstream's cooldowns that have ended.
func (a *activeCooldowns) add(upstream string, d time.Duration) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ends[upstream] = append(pending(a.ends[upstream], now), now.Add(d))
}

// counts forgets the cooldowns that have ended and returns how many are
// left per upstream.
func (a *activeCooldowns) counts() map[string]int {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]int, len(a.ends))
	for upstream, ends := range a.ends {
		a.ends[upstream] = pending(ends, now)
		out[upstream] = len(a.ends[upstream])
	}
	return out
}

// pending returns the ends after now, in ends' own array.
func pending(ends []time.Time, now time.Time) []time.Time {
	return slices.DeleteFunc(ends, func(end time.Time) bool { return !end.After(now) })
}

// Describe implements prometheus.Collector.
func (a *activeCooldowns) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

// Collect implements prometheus.Collector.
func (a *activeCooldowns) Collect(ch chan<- prometheus.Metric) {
	for upstream, n := range a.counts() {
		ch <- prometheus.MustNewConstMetric(a.desc, prometheus.GaugeValue, float64(n), upstream)
	}
}
