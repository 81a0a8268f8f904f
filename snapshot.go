package heed

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/heedhq/heed/store"
)

// Snapshot is what a Transport knows at one moment, for dashboards and
// status pages (heed serve's /-/state). It names scopes by their short
// fingerprint (scope.Key.Short), never by a credential.
type Snapshot struct {
	Time      time.Time `json:"time"`
	Store     string    `json:"store"` // "memory" or "shared"
	StoreDown bool      `json:"store_down,omitempty"`
	// StoreTraffic is what a shared store sent its server since the
	// Transport was made (store/redis counts it); nil when it counts none.
	StoreTraffic *store.Traffic  `json:"store_traffic,omitempty"`
	Upstreams    []UpstreamState `json:"upstreams"`
}

// UpstreamState is one upstream in a Snapshot.
type UpstreamState struct {
	Name    string `json:"name"`
	BaseURL string `json:"base_url"`
	// Cost is how requests are priced in tokens ("openai", "anthropic"),
	// or "none".
	Cost        string       `json:"cost"`
	Limits      []LimitState `json:"limits"`
	Concurrency int          `json:"concurrency,omitempty"`
	Breaker     string       `json:"breaker"`
	// Processes is how many processes share the upstream, as the shared
	// store's heartbeats last counted them; 0 with the memory store.
	Processes int `json:"processes,omitempty"`
	// Cache is the upstream's response cache and coalescing as they work;
	// nil when it has neither.
	Cache *CacheState `json:"cache,omitempty"`
	// Fairness is how the upstream's fair shares stand in this process;
	// nil when it has none.
	Fairness *FairState   `json:"fairness,omitempty"`
	Scopes   []ScopeState `json:"scopes"`
}

// FairState is an upstream's fair shares in a Snapshot (see
// FairnessPolicy): its classes and the flows waiting most, in this
// process.
type FairState struct {
	// By is what a flow is: "tenant", "credential" or "header:Name".
	By      string           `json:"by"`
	Classes []FairClassState `json:"classes"`
	// TopWaiting are the flows with the most requests waiting, most
	// first, at most MaxTopWaiting.
	TopWaiting []FairFlowState `json:"top_waiting,omitempty"`
}

// FairClassState is one priority class in a FairState.
type FairClassState struct {
	Name  string `json:"name"`
	Share int    `json:"share"`
	// Waiting is how many of the class's requests wait, in every scope:
	// those queued and each room's head (the one asking the store).
	Waiting int `json:"waiting"`
}

// FairFlowState is one flow waiting in a FairState: a tenant (or
// credential's short fingerprint, or header value) of a class.
type FairFlowState struct {
	Flow    string `json:"flow"`
	Class   string `json:"class"`
	Waiting int    `json:"waiting"`
}

// MaxTopWaiting bounds FairState.TopWaiting.
const MaxTopWaiting = 5

// CacheState is an upstream's response cache and coalescing in a
// Snapshot (see CachePolicy and Upstream.Coalesce).
type CacheState struct {
	// Enabled reports whether responses are cached; false when the
	// upstream only coalesces.
	Enabled bool `json:"enabled"`
	// Shared reports whether the entries are in the fleet's shared store
	// rather than in this process.
	Shared bool `json:"shared,omitempty"`
	// Coalesce reports whether identical GETs in flight share one request.
	Coalesce bool `json:"coalesce,omitempty"`
	// Free304 reports whether a 304 gives back its request's charge.
	Free304 bool `json:"free_304,omitempty"`
}

// LimitState is a configured limit: Requests for a limit of requests, or
// Unit and Amount for one of tokens.
type LimitState struct {
	Requests int64 `json:"requests,omitempty"`
	// Unit is what the limit counts: "requests", "tokens", "input_tokens"
	// or "output_tokens"; Amount how many a window may see.
	Unit   string  `json:"unit"`
	Amount int64   `json:"amount"`
	Per    float64 `json:"per_seconds"`
	Burst  int64   `json:"burst,omitempty"`
	Path   string  `json:"path,omitempty"`
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
	if t.fleet != nil {
		s.Store = "shared"
		s.StoreDown = t.fleet.Down()
		if tr, ok := t.fleet.Traffic(); ok {
			s.StoreTraffic = &tr
		}
	} else if tc, ok := t.store.(store.TrafficCounter); ok {
		tr := tc.Traffic()
		s.StoreTraffic = &tr
	}
	for _, u := range t.ups {
		us := UpstreamState{Name: u.cfg.Name, BaseURL: u.cfg.BaseURL, Cost: u.pricing.vendor.String(), Concurrency: u.cfg.Concurrency,
			Breaker: BreakerClosed, Scopes: []ScopeState{}}
		if t.fleet != nil {
			us.Processes = t.fleet.Live(u.cfg.Name)
		}
		for _, l := range u.cfg.Limits {
			us.Limits = append(us.Limits, LimitState{Requests: l.Requests, Unit: l.Unit().String(), Amount: l.Amount(), Per: l.Per.Seconds(), Burst: l.Burst, Path: l.Path})
		}
		if u.breaker != nil {
			us.Breaker = string(u.breaker.State())
		}
		us.Cache = u.rc.state()
		us.Fairness = u.fairState()
		var failed bool
		us.Scopes = u.scopeStates(ctx, now, &failed)
		s.StoreDown = s.StoreDown || failed
		s.Upstreams = append(s.Upstreams, us)
	}
	return s
}

// state returns the cache's CacheState, nil for an upstream without one.
func (rc *responseCache) state() *CacheState {
	if rc == nil {
		return nil
	}
	return &CacheState{Enabled: rc.cache != nil, Shared: rc.shared, Coalesce: rc.flights != nil, Free304: rc.free304}
}

// scopeStates lists the upstream's recent scopes, most recent first, with
// the cooldown of each from the store; after the store fails once it
// sets failed and asks no more.
func (u *upstream) scopeStates(ctx context.Context, now time.Time, failed *bool) []ScopeState {
	var recent []*scopeState
	u.scopes.each(func(st *scopeState) {
		if st.inFlight() > 0 || st.waiting.Load() > 0 || now.UnixMicro()-st.lastSeen.Load() < snapshotRecent.Microseconds() {
			recent = append(recent, st)
		}
	})
	slices.SortFunc(recent, func(a, b *scopeState) int { return cmp.Compare(b.lastSeen.Load(), a.lastSeen.Load()) })
	recent = recent[:min(len(recent), snapshotScopes)]
	out := make([]ScopeState, 0, len(recent))
	for _, st := range recent {
		ss := ScopeState{Scope: st.short, InFlight: st.inFlight(), Waiting: st.waiting.Load(), LastSeen: time.UnixMicro(st.lastSeen.Load()),
			Quotas: st.keptQuotas()}
		if !*failed {
			cd, ok, err := u.t.store.Cooldown(ctx, st.key)
			switch {
			case err != nil:
				*failed = true
			case ok && cd.Until.After(now):
				ss.Cooldown = &CooldownState{Until: cd.Until, RemainingSeconds: cd.Until.Sub(now).Seconds(), Status: cd.Status, Source: cd.Source}
			}
		}
		out = append(out, ss)
	}
	return out
}
