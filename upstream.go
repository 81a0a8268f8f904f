package heed

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/scope"
	"github.com/heedhq/heed/store"
)

// upstream is an Upstream compiled for use: its limits as GCRAs, its
// backoff and its breaker.
type upstream struct {
	t   *Transport
	cfg Upstream
	fp  *scope.Fingerprinter
	// vendor is the API the base URL's host names, given to the signal
	// parser instead of each request's host (the same host).
	vendor string
	limits []compiledLimit
	// allLimits holds every limit for the store; pathFree is set when no
	// limit has a path, so that every request uses allLimits as it is.
	allLimits []store.Limit
	pathFree  bool
	backoff   limit.Backoff
	breaker   *breaker

	anonymousWarned atomic.Bool
	// storeWarnedAt is when the last store-unavailable warning was logged,
	// in Unix nanoseconds.
	storeWarnedAt atomic.Int64
	// live is how many processes share the upstream, as the shared store's
	// heartbeats last counted them; 0 before the first count.
	live atomic.Int64
	// flights holds each scope's *flight, so that a response's remaining
	// quota can be lowered by the requests it may not have counted (see
	// call.uncounted).
	flights sync.Map
}

// flight counts a scope's requests this process let go and those whose
// answer (or error) came back, and says until when this process knows the
// scope's quota: Unix microseconds until which a learned pace holds, 0
// before any answer, noQuotaHeaders when answers describe no quota.
type flight struct {
	admitted, answered atomic.Int64
	knownUntil         atomic.Int64
	probe              atomic.Bool // a request is out to learn the quota

	// For snapshots: the scope's short name (set when the flight is made,
	// then only read), its calls waiting to leave, its last call (Unix µs)
	// and the quotas of its last answer with any.
	short    string
	waiting  atomic.Int64
	lastSeen atomic.Int64
	quotas   atomic.Pointer[[]QuotaState]
}

// noQuotaHeaders marks a scope whose answers carry no quota headers: there
// is nothing to learn, so nothing to wait for.
const noQuotaHeaders = -1

// flight returns the scope's counters.
func (u *upstream) flight(scopeKey string) *flight {
	if f, ok := u.flights.Load(scopeKey); ok {
		return f.(*flight)
	}
	f, _ := u.flights.LoadOrStore(scopeKey, new(flight))
	return f.(*flight)
}

// ArrivalJitter is added to the window of every limit heed paces under, on
// top of the Headroom share: requests spaced exactly by the network's
// clock do not arrive exactly so, and a server counting a sliding window
// sees two of them closer together when one was delayed. It matters on
// short windows (about 2.5% of a 1-second window) and vanishes on long ones.
const ArrivalJitter = 25 * time.Millisecond

// compiledLimit is a configured limit ready for the store.
type compiledLimit struct {
	cfg   Limit
	store store.Limit
}

// newUpstream compiles u.
func newUpstream(u Upstream, t *Transport) (*upstream, error) {
	fp, err := scope.NewFingerprinter(t.secret, u.Credentials.Headers, u.Credentials.Query)
	if err != nil {
		return nil, fmt.Errorf("heed: upstream %q: %w", u.Name, err)
	}
	up := &upstream{t: t, cfg: u, fp: fp, vendor: vendorOfURL(u.BaseURL), backoff: limit.Backoff{
		Kind: limit.BackoffKind(u.Retry.Backoff), Base: u.Retry.Base, Max: u.Retry.Max,
	}}
	for i, l := range u.Limits {
		g, err := limit.NewGCRA(l.Requests, l.Per+ArrivalJitter, l.Burst, u.Headroom)
		if err != nil {
			return nil, fmt.Errorf("heed: upstream %q: limits[%d]: %w", u.Name, i, err)
		}
		up.limits = append(up.limits, compiledLimit{cfg: l, store: store.Limit{Key: strconv.Itoa(i), GCRA: g}})
		up.allLimits = append(up.allLimits, store.Limit{Key: strconv.Itoa(i), GCRA: g})
	}
	up.pathFree = !slices.ContainsFunc(u.Limits, func(l Limit) bool { return l.Path != "" })
	if !u.Breaker.Disabled {
		up.breaker = newBreaker(u.Breaker.Failures, u.Breaker.Probes, u.Breaker.OpenFor, t.clock,
			func(state string) { t.metrics.Breaker(u.Name, state) })
		t.metrics.Breaker(u.Name, BreakerClosed)
	}
	return up, nil
}

// limitsFor returns the store limits that apply to a request's path.
func (u *upstream) limitsFor(path string) []store.Limit {
	if u.pathFree {
		return u.allLimits
	}
	var out []store.Limit
	for _, l := range u.limits {
		if l.cfg.Matches(path) {
			out = append(out, l.store)
		}
	}
	return out
}

// scopeOf returns the scope key of req, and whether it carries no
// recognizable credential.
func (u *upstream) scopeOf(req *http.Request) (scope.Key, bool) {
	fp, _, ok := u.fp.Fingerprint(req)
	return scope.Key{Tenant: u.t.cfg.Tenant, Upstream: u.cfg.Name, Fingerprint: fp}, !ok
}

// adaptive reports whether the upstream learns from quota headers.
func (u *upstream) adaptive() bool { return u.cfg.Adaptive == nil || *u.cfg.Adaptive }

// lockedRand is a random source safe for concurrent use, for jitter.
type lockedRand struct {
	mu sync.Mutex // guards r
	r  *rand.Rand
}

func newLockedRand() *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15))}
}

// Float64 returns a number in [0, 1).
func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

// vendorOfURL returns the vendor a base URL's host names, or "".
func vendorOfURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return quota.VendorOf(u.Hostname())
}

// storeWarnEvery spaces the warnings of an unavailable store.
const storeWarnEvery = 10 * time.Second

// storeWarning reports whether a store-unavailable warning should be logged
// now: at most one every storeWarnEvery per upstream.
func (u *upstream) storeWarning(now time.Time) bool {
	last := u.storeWarnedAt.Load()
	if now.UnixNano()-last < int64(storeWarnEvery) {
		return false
	}
	return u.storeWarnedAt.CompareAndSwap(last, now.UnixNano())
}
