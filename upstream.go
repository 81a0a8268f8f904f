package heed

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heedhq/heed/breaker"
	"github.com/heedhq/heed/limit"
	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/scope"
	"github.com/heedhq/heed/store"
)

// upstream is an Upstream compiled for use: its limits as GCRAs, its
// backoff, its breaker, its pipeline of layers and what it learns of each
// scope.
type upstream struct {
	t   *Transport
	cfg Upstream
	fp  *scope.Fingerprinter
	// vendor is the API the config or the base URL's host names, given to
	// the signal parser instead of each request's host (the same host);
	// "" when neither says, and then answers may teach it (learnedVendor).
	vendor        string
	learnedVendor atomic.Pointer[string]
	limits        []compiledLimit
	// allLimits holds every limit for the store; shared is set when no
	// limit has a path or is per tenant, so that every request uses
	// allLimits as it is.
	allLimits []store.Limit
	shared    bool
	backoff   limit.Backoff
	breaker   *breaker.Breaker
	// pricing prices requests in tokens (see cost.go).
	pricing pricing
	// clientRetry lists the canonical names of the headers that mark a
	// client retrying on its own.
	clientRetry []string
	// handle runs an attempt's way down the layers (see pipeline).
	handle handler
	// rc is the upstream's response cache and coalescing, nil when it has
	// neither.
	rc *responseCache
	// fair is the upstream's fair shares, nil when it has none.
	fair   *fairShares
	scopes *scopes

	anonymousWarned atomic.Bool
	// storeWarned spaces the store-unavailable warnings.
	storeWarned warnGate
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

// defaultClientRetryHeaders is RetryPolicy.ClientRetryHeaders' default:
// the Stainless-generated SDKs (OpenAI's and Anthropic's, in every
// language) send it on every attempt.
var defaultClientRetryHeaders = []string{"X-Stainless-Retry-Count"}

// newUpstream compiles u.
func newUpstream(u Upstream, t *Transport) (*upstream, error) {
	fp, err := scope.NewFingerprinter(t.secret, u.Credentials.Headers, u.Credentials.Query)
	if err != nil {
		return nil, fmt.Errorf("heed: upstream %q: %w", u.Name, err)
	}
	fs := newFairShares(u)
	up := &upstream{t: t, cfg: u, fp: fp, vendor: vendorOf(u), fair: fs, scopes: newScopes(u.Name, fs), backoff: limit.Backoff{
		Kind: limit.BackoffKind(u.Retry.Backoff), Base: u.Retry.Base, Max: u.Retry.Max,
	}}
	vendor, err := costOf(u)
	if err != nil {
		return nil, fmt.Errorf("heed: upstream %q: cost: %w", u.Name, err)
	}
	up.pricing = newPricing(u, vendor, t.tokenizer)
	for i, l := range u.Limits {
		g, err := up.pricing.gcra(l, u.Headroom)
		if err != nil {
			return nil, fmt.Errorf("heed: upstream %q: limits[%d]: %w", u.Name, i, err)
		}
		sl := store.Limit{Key: strconv.Itoa(i), GCRA: g, Unit: l.Unit()}
		up.limits = append(up.limits, compiledLimit{cfg: l, store: sl})
		up.allLimits = append(up.allLimits, sl)
	}
	up.shared = !slices.ContainsFunc(u.Limits, func(l Limit) bool { return l.Path != "" || l.PerTenant })
	headers := u.Retry.ClientRetryHeaders
	if headers == nil {
		headers = defaultClientRetryHeaders
	}
	for _, h := range headers {
		up.clientRetry = append(up.clientRetry, textproto.CanonicalMIMEHeaderKey(h))
	}
	if !u.Breaker.Disabled {
		up.breaker = breaker.New(breaker.Options{Failures: u.Breaker.Failures, Probes: u.Breaker.Probes, OpenFor: u.Breaker.OpenFor,
			Now: t.clock.Now, OnChange: func(s breaker.State) { t.metrics.Breaker(u.Name, string(s)) }})
		t.metrics.Breaker(u.Name, BreakerClosed)
	}
	up.handle = compose(pipeline(), up.send)
	return up, nil
}

// limitsFor returns the store limits that apply to a request of tenant
// for path: a per-tenant limit is keyed by the tenant too.
func (u *upstream) limitsFor(path, tenant string) []store.Limit {
	if u.shared {
		return u.allLimits
	}
	var out []store.Limit
	for _, l := range u.limits {
		if !l.cfg.Matches(path) {
			continue
		}
		sl := l.store
		if l.cfg.PerTenant {
			sl.Key = "t:" + url.PathEscape(tenant) + ":" + sl.Key
		}
		out = append(out, sl)
	}
	return out
}

// configuredFor reports whether a configured limit covers path.
func (u *upstream) configuredFor(path string) bool {
	if u.shared {
		return len(u.allLimits) > 0
	}
	for _, l := range u.limits {
		if l.cfg.Matches(path) {
			return true
		}
	}
	return false
}

// adaptive reports whether the upstream learns from quota headers.
func (u *upstream) adaptive() bool { return u.cfg.Adaptive == nil || *u.cfg.Adaptive }

// clientRetries reports whether req comes from a client that retries on
// its own.
func (u *upstream) clientRetries(h http.Header) bool {
	for _, name := range u.clientRetry {
		if _, ok := h[name]; ok {
			return true
		}
	}
	return false
}

// vendorOf returns the vendor an upstream's config or base URL's host
// names, or "".
func vendorOf(u Upstream) string {
	switch u.Vendor {
	case "generic":
		return ""
	case "":
	default:
		return u.Vendor
	}
	parsed, err := url.Parse(u.BaseURL)
	if err != nil {
		return ""
	}
	return quota.VendorOf(parsed.Hostname())
}

// answersVendor returns the vendor whose shape heed's own answers take:
// the configured or host's one, else one the upstream's answers showed,
// else "".
func (u *upstream) answersVendor() string {
	if u.vendor != "" || u.cfg.Vendor == "generic" {
		return u.vendor
	}
	if v := u.learnedVendor.Load(); v != nil {
		return *v
	}
	return ""
}

// learnVendor remembers the vendor an answer showed, when neither the
// config nor the host named one.
func (u *upstream) learnVendor(v string) {
	if v == "" || u.vendor != "" || u.cfg.Vendor == "generic" {
		return
	}
	if old := u.learnedVendor.Load(); old == nil || *old != v {
		u.keepVendor(v)
	}
}

// keepVendor stores v; apart from learnVendor so that only a change
// allocates.
func (u *upstream) keepVendor(v string) { u.learnedVendor.Store(&v) }

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

// storeWarnEvery spaces the warnings of an unavailable store.
const storeWarnEvery = 10 * time.Second

// storeWarning reports whether a store-unavailable warning should be logged
// now: at most one every storeWarnEvery per upstream.
func (u *upstream) storeWarning(now time.Time) bool { return u.storeWarned.due(now, storeWarnEvery) }

// warnGate lets a warning through at most once a period; it is safe for
// concurrent use.
type warnGate struct {
	last atomic.Int64 // Unix nanoseconds of the last one let through
}

// due reports whether a warning may be logged at now: every has passed
// since the last one let through.
func (g *warnGate) due(now time.Time, every time.Duration) bool {
	last := g.last.Load()
	if now.UnixNano()-last < int64(every) {
		return false
	}
	return g.last.CompareAndSwap(last, now.UnixNano())
}
