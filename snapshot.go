package heed

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/scope"
)

// Snapshot is what a Transport knows at one moment, for dashboards and
// status pages (heed serve's /-/state). It names scopes by their short
// fingerprint (scope.Key.Short), never by a credential.
type Snapshot struct {
	Time      time.Time       `json:"time"`
	Store     string          `json:"store"` // "memory" or "shared"
	StoreDown bool            `json:"store_down,omitempty"`
	Upstreams []UpstreamState `json:"upstreams"`
}

// UpstreamState is one upstream in a Snapshot.
type UpstreamState struct {
	Name        string       `json:"name"`
	BaseURL     string       `json:"base_url"`
	Limits      []LimitState `json:"limits"`
	Concurrency int          `json:"concurrency,omitempty"`
	Breaker     string       `json:"breaker"`
	// Processes is how many processes share the upstream, as the shared
	// store's heartbeats last counted them; 0 with the memory store.
	Processes int          `json:"processes,omitempty"`
	Scopes    []ScopeState `json:"scopes"`
}

// LimitState is a configured limit.
type LimitState struct {
	Requests int64   `json:"requests"`
	Per      float64 `json:"per_seconds"`
	Burst    int64   `json:"burst,omitempty"`
	Path     string  `json:"path,omitempty"`
}

// ScopeState is one scope (tenant, upstream, credential) this process has
// sent requests of recently.
type ScopeState struct {
	// Scope is the first 8 hex digits of the credential's keyed
	// fingerprint (scope.Key.Short), or "anonymous".
	Scope    string         `json:"scope"`
	InFlight int64          `json:"in_flight"`
	Waiting  int64          `json:"waiting"`
	LastSeen time.Time      `json:"last_seen"`
	Cooldown *CooldownState `json:"cooldown,omitempty"`
	// Quotas are the quota headers of the scope's last answer that had any.
	Quotas []QuotaState `json:"quotas,omitempty"`
}

// CooldownState is a cooldown in force.
type CooldownState struct {
	Until            time.Time `json:"until"`
	RemainingSeconds float64   `json:"remaining_seconds"`
	Status           int       `json:"status"`
	Source           string    `json:"source,omitempty"`
}

// QuotaState is one quota as an answer reported it.
type QuotaState struct {
	Name      string    `json:"name"`
	Limit     *float64  `json:"limit,omitempty"`
	Remaining *float64  `json:"remaining,omitempty"`
	Reset     time.Time `json:"reset,omitzero"`
	Seen      time.Time `json:"seen"`
}

const (
	// snapshotRecent is how long a scope stays in snapshots after its last
	// request.
	snapshotRecent = 10 * time.Minute
	// snapshotScopes bounds the scopes per upstream in a snapshot: the most
	// recently seen.
	snapshotScopes = 100
)

// Snapshot returns what the Transport knows now. It asks the store for the
// cooldown of each scope it lists (one call each, bounded by ctx); a store
// that does not answer leaves the cooldowns out and sets StoreDown.
func (t *Transport) Snapshot(ctx context.Context) Snapshot {
	now := t.clock.Now()
	s := Snapshot{Time: now, Store: "memory"}
	if t.fleet.local != nil {
		s.Store = "shared"
		s.StoreDown = t.fleet.downUntil.Load() != 0
	}
	for _, u := range t.ups {
		us := UpstreamState{Name: u.cfg.Name, BaseURL: u.cfg.BaseURL, Concurrency: u.cfg.Concurrency,
			Breaker: BreakerClosed, Processes: int(u.live.Load()), Scopes: []ScopeState{}}
		for _, l := range u.cfg.Limits {
			us.Limits = append(us.Limits, LimitState{Requests: l.Requests, Per: l.Per.Seconds(), Burst: l.Burst, Path: l.Path})
		}
		if u.breaker != nil {
			us.Breaker = u.breaker.current()
		}
		us.Scopes = u.scopeStates(ctx, now, &s.StoreDown)
		s.Upstreams = append(s.Upstreams, us)
	}
	return s
}

// scopeStates lists the upstream's recent scopes, most recent first.
func (u *upstream) scopeStates(ctx context.Context, now time.Time, storeDown *bool) []ScopeState {
	type seen struct {
		key string
		f   *flight
	}
	var all []seen
	u.flights.Range(func(k, v any) bool {
		f := v.(*flight)
		if f.inFlight() > 0 || f.waiting.Load() > 0 || now.UnixMicro()-f.lastSeen.Load() < snapshotRecent.Microseconds() {
			all = append(all, seen{k.(string), f})
		}
		return true
	})
	slices.SortFunc(all, func(a, b seen) int { return cmp.Compare(b.f.lastSeen.Load(), a.f.lastSeen.Load()) })
	all = all[:min(len(all), snapshotScopes)]
	out := make([]ScopeState, 0, len(all))
	for _, s := range all {
		st := ScopeState{Scope: s.f.short, InFlight: s.f.inFlight(), Waiting: s.f.waiting.Load(), LastSeen: time.UnixMicro(s.f.lastSeen.Load())}
		if q := s.f.quotas.Load(); q != nil {
			st.Quotas = *q
		}
		if !*storeDown {
			cd, ok, err := u.t.store.Cooldown(ctx, s.key)
			switch {
			case err != nil:
				*storeDown = true
			case ok && cd.Until.After(now):
				st.Cooldown = &CooldownState{Until: cd.Until, RemainingSeconds: cd.Until.Sub(now).Seconds(), Status: cd.Status, Source: cd.Source}
			}
		}
		out = append(out, st)
	}
	return out
}

// inFlight is how many of the scope's requests were let go and have not
// been answered.
func (f *flight) inFlight() int64 { return max(f.admitted.Load()-f.answered.Load(), 0) }

// flightOf returns the scope's flight, made with the scope's short name
// (for snapshots) if it is new, and notes a call of the scope at now.
func (u *upstream) flightOf(key scope.Key, scopeKey string, now time.Time) *flight {
	f, ok := u.flights.Load(scopeKey)
	if !ok {
		f, _ = u.flights.LoadOrStore(scopeKey, &flight{short: key.Short()})
	}
	fl := f.(*flight)
	fl.lastSeen.Store(now.UnixMicro())
	return fl
}

// keepQuotas remembers the quotas an answer reported, for snapshots.
func (f *flight) keepQuotas(qs []quota.Quota, now time.Time) {
	if len(qs) == 0 {
		return
	}
	out := make([]QuotaState, 0, len(qs))
	for _, q := range qs {
		s := QuotaState{Name: q.Name, Reset: q.Reset, Seen: now}
		if q.HasLimit {
			s.Limit = &q.Limit
		}
		if q.HasRemaining {
			s.Remaining = &q.Remaining
		}
		out = append(out, s)
	}
	f.quotas.Store(&out)
}
