package heed

import (
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/heedhq/heed/llm"
	"github.com/heedhq/heed/store"
)

// Config is everything heed needs to know: where shared state lives and the
// policy of every upstream API. A YAML file (package config reads it) and a
// Config literal express the same things. The zero value of every field
// means its documented default; WithDefaults fills them in and Validate
// reports what cannot work. A Config is a plain value: it is safe to share between
// goroutines as long as nobody modifies it.
type Config struct {
	// Store names where shared state (cooldowns, pacing) lives. "" and
	// "memory" mean the in-process memory store; any other name is opened
	// by Stores (or ignored for StoreImpl). Package config's Stores opens a
	// Redis URL (redis://host:port/db, rediss://, redis-cluster://h:p,h:p,
	// redis-sentinel://h:p,h:p/master, see store/redis.ParseURL), which
	// shares the state with every process using the same Redis. A store
	// other than memory requires FingerprintSecret.
	Store string `yaml:"store"`

	// OnStoreError says what a request does when a shared store cannot be
	// reached in time (store/redis's timeout, 250ms by default): "open" (the
	// default) goes on with this process's share of every limit, the limit
	// divided by the live processes its heartbeats last counted, with a
	// warning at most every 10 seconds per upstream; "closed" fails it at
	// once with an error that wraps ErrStoreUnavailable. The store is tried
	// again every second and used again as soon as it answers.
	OnStoreError OnStoreError `yaml:"on_store_error"`

	// Tenant is the tenant of every request that names none (see
	// WithTenant, and heed serve's tenant_header). A limit with PerTenant
	// counts each tenant's requests apart; nothing else is kept per tenant:
	// a credential's cooldowns, paces and other limits bind every tenant
	// that uses it, since the quota is the credential's. It must match
	// [A-Za-z0-9][A-Za-z0-9_.-]*. "" means no tenant.
	Tenant string `yaml:"tenant"`

	// FingerprintSecret is the HMAC key under which credentials are
	// fingerprinted, at least 16 bytes. "" means a random secret per process,
	// which is right for the memory store; a shared store requires every
	// process of the fleet to use the same secret, so Validate requires it
	// there. It never appears in an error or a log line.
	FingerprintSecret string `yaml:"fingerprint_secret"`

	// ForgetAfter is how long the Transport keeps what it learned of a
	// scope (a credential: its counters, its probe, the quotas of its last
	// answer) after the scope's last request; 0 means the default, 10m.
	// An idle scope is forgotten by a sweep every ForgetAfter/4 (at least
	// every second), so memory follows the credentials in use, not all
	// those ever seen; what the store keeps expires by its own TTLs. A
	// forgotten scope starts afresh: its next request learns its quota
	// again, one at a time.
	ForgetAfter time.Duration `yaml:"forget_after"`

	// Upstreams are the APIs heed paces, each matched by its BaseURL.
	// Requests that match none pass through untouched.
	Upstreams []Upstream `yaml:"upstreams"`

	// The fields below are for programs, not files: a YAML file cannot set
	// them.

	// Base is the transport requests are sent through; nil means a clone of
	// http.DefaultTransport, which Close cleans up.
	Base http.RoundTripper `yaml:"-"`
	// Logger receives heed's log lines (cooldowns, retries, warnings); nil
	// means discard.
	Logger *slog.Logger `yaml:"-"`
	// Clock is the time source; nil means the wall clock. Tests pass a fake.
	Clock Clock `yaml:"-"`
	// StoreImpl, when set, is the Store used instead of the one Store names;
	// the Transport does not close it.
	StoreImpl store.Store `yaml:"-"`
	// Stores opens the store Store names when it is not memory and
	// StoreImpl is nil: Validate asks it whether it can (Check) and New
	// opens it (Open). With neither Stores nor StoreImpl, a Store other
	// than memory is invalid. Package config sets it (config.Stores, which
	// opens Redis URLs) in the Configs it reads; a Config built in code that
	// names a Redis store sets Stores: config.Stores{}. The root package
	// opens only the memory store itself, so that a program that needs no
	// other links none.
	Stores StoreOpener `yaml:"-"`

	// Tokenizer counts the input tokens of requests to upstreams priced as
	// openai (see Upstream.Cost); nil means package llm's character
	// estimate (fitted to OpenAI's encodings, erring high). Package
	// llm/tiktoken counts exactly, at the cost of about 10 MB of binary
	// and 7 MB of heap once loaded; heed serve uses it. Anthropic
	// publishes no tokenizer: its requests always use llm's estimate.
	Tokenizer llm.Tokenizer `yaml:"-"`

	// Metrics receives what the Transport does: requests by outcome, waits,
	// retries, cooldowns, remaining quota, breaker states (package
	// metrics/prom exports them to Prometheus). nil means none.
	Metrics Metrics `yaml:"-"`
	// Source is where the Config was read from (package config sets it),
	// so that Validate names the file and line of each problem; nil means
	// a Config built in code, whose problems name their field only.
	Source *Source `yaml:"-"`
}

// StoreOpener opens the stores a Config's Store may name besides memory,
// which the Transport opens itself. Its methods may be called from several
// goroutines at once.
type StoreOpener interface {
	// Check reports whether name is a store Open can open, without opening
	// or reaching it; Validate calls it. Its error must not quote name,
	// which may hold a password: Validate quotes it, redacted.
	Check(name string) error
	// Open opens the store name names, which Check accepted; the Transport
	// closes it.
	Open(name string) (store.Store, error)
}

// Upstream is the policy for one API: the requests it covers and how they
// are paced, cooled down, retried and cut off.
type Upstream struct {
	// Name identifies the upstream in keys, metrics and logs. It is required,
	// unique and matches [a-z0-9][a-z0-9_.-]*.
	Name string `yaml:"name"`

	// BaseURL is http(s)://host[:port][/prefix]. Requests to this scheme and
	// host (default ports normalized, case-insensitive) whose path is the
	// prefix or below it, on a segment boundary, get this policy; when
	// several match, the longest prefix wins. It carries no user info, query
	// or fragment. A gRPC upstream (package heedgrpc) has a grpc:// or
	// grpcs:// base URL: the target's host and port (443 by default), and
	// as path the prefix of the full method names it governs, e.g.
	// grpc://translate.googleapis.com/google.cloud.translation.v3.TranslationService/
	// (grpc and grpcs match alike: the grpc.ClientConn, not heed, dials).
	BaseURL string `yaml:"base_url"`

	// Vendor names the API whose error shape heed's synthetic answers take
	// and whose rate-limit signals it reads: openai, anthropic, github or
	// generic. "" (the default) means the one the base URL's host names
	// (api.openai.com: openai), or else the one the upstream's answers
	// show. Set it for proxies, gateways and tests whose host says nothing.
	Vendor string `yaml:"vendor"`

	// Limits are enforced before a request leaves; a request must fit under
	// every limit whose Path matches. None means no configured pacing (see
	// Adaptive).
	Limits []Limit `yaml:"limits"`

	// Cost says how a request is priced in tokens, for the limits (and
	// learned quotas) that count them: "openai" (Chat Completions,
	// Responses, Completions, Embeddings), "anthropic" (Messages) or
	// "none" (every request costs one request, and token limits are
	// invalid). "" means the one the base URL's host names
	// (api.openai.com, Azure OpenAI hosts, api.anthropic.com), else the
	// one Vendor names, else none. A priced request is charged its
	// estimate (input tokens counted from the body, output tokens its
	// maximum) before it leaves, and settled to the usage its response
	// reports (see package llm).
	Cost string `yaml:"cost"`

	// DefaultOutputTokens is the output a priced request is charged when
	// its body names no maximum (max_tokens and the like); 0 means package
	// llm's default.
	DefaultOutputTokens int64 `yaml:"default_output_tokens"`

	// Concurrency caps the requests in flight at once; 0 means no cap.
	Concurrency int `yaml:"concurrency"`

	// Timeout bounds how long each attempt waits for the response's
	// headers (the attempt then fails with ErrUpstreamTimeout and may be
	// retried); 0 means no bound beyond the request's own deadline. The
	// body, which may be a long stream, is not bounded.
	Timeout time.Duration `yaml:"timeout"`

	// OnLimit says what a request does when it may not be sent yet: wait
	// (the default, "" means wait) or fail at once with a synthetic 429.
	OnLimit OnLimit `yaml:"on_limit"`

	// MaxWait is the longest a request waits before it fails instead;
	// 0 means the default, 2m.
	MaxWait time.Duration `yaml:"max_wait"`

	// Headroom is the share of each limit left unused to absorb network
	// jitter, in [0, 0.5); 0 means the default, 0.02 (pace at 98% of the
	// limit). There is no way to ask for exactly none: use a tiny value.
	// Every window is also stretched by ArrivalJitter.
	Headroom float64 `yaml:"headroom"`

	// Cooldown bounds the wait recorded when a response says "limited".
	Cooldown CooldownPolicy `yaml:"cooldown"`

	// Retry says which failed requests are sent again, and when.
	Retry RetryPolicy `yaml:"retry"`

	// Breaker cuts the upstream off after consecutive failures.
	Breaker BreakerPolicy `yaml:"breaker"`

	// Adaptive, when true, paces by the quota headers responses carry
	// (remaining, reset) as well as by Limits. nil means true.
	Adaptive *bool `yaml:"adaptive"`

	// Credentials names places a credential may be besides the ones heed
	// knows (Authorization, X-Api-Key and the like).
	Credentials CredentialPolicy `yaml:"credentials"`

	// Cache keeps the responses to GET and HEAD a while, per tenant and
	// credential, and revalidates them with the API (see CachePolicy): a
	// hit spends no quota and waits for nothing.
	Cache CachePolicy `yaml:"cache"`

	// Coalesce, when true, lets identical GETs in flight at once (the
	// same credential, tenant, URL and headers) share one upstream
	// request, its body streamed to each of them. false (the default)
	// sends each.
	Coalesce bool `yaml:"coalesce"`

	// Fairness shares the upstream's limits between priority classes and,
	// within a class, between tenants (see FairnessPolicy); nil admits
	// whoever asks first.
	Fairness *FairnessPolicy `yaml:"fairness"`
}

// CachePolicy is an upstream's private response cache: RFC 9111's rules
// for a private cache, applied per tenant and credential, so that an entry
// is never served to a request with another credential (package
// httpcache).
type CachePolicy struct {
	// Enabled turns the cache on; false (the default) stores nothing.
	Enabled bool `yaml:"enabled"`

	// MaxBytes bounds what the cache keeps in each process's memory,
	// least recently used first out; 0 means 64MiB.
	MaxBytes ByteSize `yaml:"max_bytes"`

	// MaxEntryBytes is the largest body stored; bigger responses pass
	// through unstored. 0 means 1MiB.
	MaxEntryBytes ByteSize `yaml:"max_entry_bytes"`

	// Shared keeps the entries in the configured shared store (Redis) for
	// the whole fleet instead of in each process, each with a TTL: a
	// response one process fetched is served or revalidated by the
	// others. It needs a shared store.
	Shared bool `yaml:"shared"`

	// Heuristic is the share of the time since a response's Last-Modified
	// taken as the freshness lifetime of a response that states none
	// (RFC 9111 4.2.2 suggests 0.1), capped at a day; 0 (the default)
	// turns heuristic freshness off: such a response is only revalidated.
	Heuristic float64 `yaml:"heuristic"`

	// Free304 says that the API does not charge a 304 Not Modified to its
	// request limits (GitHub's rule for conditional requests): heed then
	// gives back the request's charge under the configured request limits
	// when the answer is 304. nil means true for api.github.com (and
	// vendor github), false otherwise.
	Free304 *bool `yaml:"free_304"`
}

// Limit is one rate limit: no window of length Per, wherever it starts, may
// see more than Requests requests, unless Burst opts into more.
type Limit struct {
	// Requests is how many requests a window of length Per may see. A
	// limit counts exactly one of Requests, Tokens, InputTokens and
	// OutputTokens; the token kinds need the upstream's Cost to price
	// requests (openai or anthropic).
	Requests int64 `yaml:"requests"`

	// Tokens is how many input and output tokens together a window may
	// see (OpenAI's TPM).
	Tokens int64 `yaml:"tokens"`

	// InputTokens is how many input tokens a window may see (Anthropic's
	// ITPM: input and cache-creation tokens; cache reads are free).
	InputTokens int64 `yaml:"input_tokens"`

	// OutputTokens is how many output tokens a window may see (Anthropic's
	// OTPM). A request is charged its maximum output (max_tokens) when it
	// leaves and the rest is given back when its usage arrives.
	OutputTokens int64 `yaml:"output_tokens"`

	// Per is the window length; > 0.
	Per time.Duration `yaml:"per"`

	// Burst is how many units (requests or tokens) may leave back to back.
	// For requests, 0 means 1, which keeps every window of length Per
	// under Requests; larger bursts are opt-in and let a window see more.
	// For tokens, 0 means the whole amount: the vendors' token buckets
	// hold a window's worth and refill continuously, and a burst of 1
	// token would let no prompt through.
	Burst int64 `yaml:"burst"`

	// Path restricts the limit to request paths matching this pattern; ""
	// means every path. The pattern is path.Match syntax over the full
	// request path (not relative to the BaseURL prefix), except that a
	// trailing "/*" matches any depth: "/search/*" matches "/search/code"
	// and "/search/code/x" but not "/search".
	Path string `yaml:"path"`

	// PerTenant, when true, counts each tenant's requests with a
	// credential apart, so that each tenant may send Requests per Per with
	// it. false (the default) counts every request of the credential,
	// whatever its tenant: the quota belongs to the credential.
	PerTenant bool `yaml:"per_tenant"`
}

// vendorGeneric is the Vendor of an API whose errors have no shape heed
// knows: synthetic answers take heed's own.
const vendorGeneric = "generic"

// OnStoreError says what a request does when the store is unavailable.
type OnStoreError string

// The OnStoreError behaviours.
const (
	// StoreErrorOpen sends the request without shared limits.
	StoreErrorOpen OnStoreError = "open"
	// StoreErrorClosed fails the request with ErrStoreUnavailable.
	StoreErrorClosed OnStoreError = "closed"
)

// OnLimit says what a request does when it may not be sent yet.
type OnLimit string

// The OnLimit behaviours.
const (
	// OnLimitWait waits until the request may be sent, within MaxWait and
	// the request's context.
	OnLimitWait OnLimit = "wait"
	// OnLimitFail answers at once with a synthetic 429.
	OnLimitFail OnLimit = "fail"
)

// CooldownPolicy bounds the cooldown recorded for a scope when a response
// says it is limited.
type CooldownPolicy struct {
	// Default is the cooldown when the response does not say how long to
	// wait; 0 means the default, 5s.
	Default time.Duration `yaml:"default"`
	// Max caps the cooldown whatever the response says; 0 means the
	// default, 1h. Default must not exceed it.
	Max time.Duration `yaml:"max"`
}

// RetryPolicy says how often and when a failed request is sent again. Only
// 429, 502, 503, 504 and transport errors are retried, and a wait the
// server gives beats the backoff.
type RetryPolicy struct {
	// Attempts counts every send, the first included, in [1, 20]: 1 means
	// no retry, 0 means the default, 4.
	Attempts int `yaml:"attempts"`
	// Backoff is the delay schedule: "exponential" (with full jitter; the
	// default, also for ""), "constant", "linear" or "fibonacci".
	Backoff string `yaml:"backoff"`
	// Base is the first delay; 0 means the default, 250ms.
	Base time.Duration `yaml:"base"`
	// Max caps every delay; 0 means the default, 30s.
	Max time.Duration `yaml:"max"`
	// MaxElapsed caps the time spent on one request, retries included;
	// 0 means the default, 2m.
	MaxElapsed time.Duration `yaml:"max_elapsed"`
	// NonIdempotent allows retrying POST and PATCH requests that carry no
	// Idempotency-Key header. false (the default) sends them once.
	NonIdempotent bool `yaml:"non_idempotent"`
	// ClientRetryHeaders are header names (case-insensitive) that mark a
	// request from a client that retries on its own. heed sends such a
	// request once, after waiting for its scope as usual, and leaves its
	// retries to the client, so that attempts do not multiply. nil means
	// the default, [X-Stainless-Retry-Count], which the OpenAI and
	// Anthropic SDKs send; an empty list ([] in YAML) means none.
	ClientRetryHeaders []string `yaml:"client_retry_headers"`
}

// BreakerPolicy configures the upstream's circuit breaker: after Failures
// consecutive failures (5xx, transport errors) it opens for OpenFor, then
// lets Probes requests through to test the upstream.
type BreakerPolicy struct {
	// Failures opens the breaker; 0 means the default, 5.
	Failures int `yaml:"failures"`
	// OpenFor is how long the breaker stays open; 0 means the default, 30s.
	OpenFor time.Duration `yaml:"open_for"`
	// Probes is how many requests test a half-open breaker; 0 means the
	// default, 1.
	Probes int `yaml:"probes"`
	// Disabled turns the breaker off.
	Disabled bool `yaml:"disabled"`
}

// CredentialPolicy names extra places a credential may be, beyond the
// headers heed knows. Every credential found goes into the fingerprint that
// picks the request's scope.
type CredentialPolicy struct {
	// Headers are header names (case-insensitive).
	Headers []string `yaml:"headers"`
	// Query are URL query parameter names (case-sensitive).
	Query []string `yaml:"query"`
}

// The defaults WithDefaults fills in.
const (
	defaultStore         = "memory"
	defaultForgetAfter   = 10 * time.Minute
	defaultMaxWait       = 2 * time.Minute
	defaultHeadroom      = 0.02
	defaultCooldown      = 5 * time.Second
	defaultCooldownMax   = time.Hour
	defaultAttempts      = 4
	defaultBackoff       = "exponential"
	defaultRetryBase     = 250 * time.Millisecond
	defaultRetryMax      = 30 * time.Second
	defaultRetryElapsed  = 2 * time.Minute
	defaultFailures      = 5
	defaultOpenFor       = 30 * time.Second
	defaultProbes        = 1
	defaultBurst         = 1
	defaultAdaptive      = true
	defaultOnLimit       = OnLimitWait
	defaultClientRetry   = "X-Stainless-Retry-Count"
	storeMemory          = "memory"
	maxRetryAttempts     = 20
	minFingerprintSecret = 16
)

// WithDefaults returns a copy of c with every zero field that has a
// documented default set to it. It is idempotent and shares no slice or
// pointer with c, so changing the copy never changes c.
func (c Config) WithDefaults() Config {
	if c.Store == "" {
		c.Store = defaultStore
	}
	if c.OnStoreError == "" {
		c.OnStoreError = StoreErrorOpen
	}
	c.ForgetAfter = orDefault(c.ForgetAfter, defaultForgetAfter)
	ups := make([]Upstream, len(c.Upstreams))
	for i, u := range c.Upstreams {
		ups[i] = u.withDefaults()
	}
	if c.Upstreams == nil {
		ups = nil
	}
	c.Upstreams = ups
	return c
}

// withDefaults returns u with its defaults filled in and its own copies of
// its slices and pointer.
func (u Upstream) withDefaults() Upstream {
	u.Limits = slices.Clone(u.Limits)
	for i := range u.Limits {
		if u.Limits[i].Unit() == store.UnitRequests {
			u.Limits[i].Burst = orDefault(u.Limits[i].Burst, defaultBurst)
		} else {
			u.Limits[i].Burst = orDefault(u.Limits[i].Burst, max(u.Limits[i].Amount(), 0)) // a bucket of a window's worth
		}
	}
	u.OnLimit = orDefault(u.OnLimit, defaultOnLimit)
	u.MaxWait = orDefault(u.MaxWait, defaultMaxWait)
	u.Headroom = orDefault(u.Headroom, defaultHeadroom)
	u.Cooldown.Default = orDefault(u.Cooldown.Default, defaultCooldown)
	u.Cooldown.Max = orDefault(u.Cooldown.Max, defaultCooldownMax)
	u.Retry = u.Retry.withDefaults()
	u.Breaker.Failures = orDefault(u.Breaker.Failures, defaultFailures)
	u.Breaker.OpenFor = orDefault(u.Breaker.OpenFor, defaultOpenFor)
	u.Breaker.Probes = orDefault(u.Breaker.Probes, defaultProbes)
	adaptive := defaultAdaptive
	if u.Adaptive != nil {
		adaptive = *u.Adaptive
	}
	u.Adaptive = &adaptive
	u.Cache = u.Cache.withDefaults(u)
	if u.Fairness != nil {
		f := u.Fairness.withDefaults()
		u.Fairness = &f
	}
	u.Credentials.Headers = slices.Clone(u.Credentials.Headers)
	u.Credentials.Query = slices.Clone(u.Credentials.Query)
	return u
}

// withDefaults returns r with its defaults filled in and its own copy of
// its slice. A nil ClientRetryHeaders takes the default; an empty one stays
// empty.
func (r RetryPolicy) withDefaults() RetryPolicy {
	r.Attempts = orDefault(r.Attempts, defaultAttempts)
	r.Backoff = orDefault(r.Backoff, defaultBackoff)
	r.Base = orDefault(r.Base, defaultRetryBase)
	r.Max = orDefault(r.Max, defaultRetryMax)
	r.MaxElapsed = orDefault(r.MaxElapsed, defaultRetryElapsed)
	if r.ClientRetryHeaders == nil {
		r.ClientRetryHeaders = []string{defaultClientRetry}
	} else {
		r.ClientRetryHeaders = slices.Clone(r.ClientRetryHeaders)
	}
	return r
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// limitKinds are the fields of a Limit that say what it counts, in the
// order of the store's units.
var limitKinds = [...]string{"requests", "tokens", "input_tokens", "output_tokens"}

// amounts returns the limit's four counts, indexed by store.Unit.
func (l Limit) amounts() [4]int64 {
	return [4]int64{l.Requests, l.Tokens, l.InputTokens, l.OutputTokens}
}

// Unit returns what the limit counts: the first of Requests, Tokens,
// InputTokens and OutputTokens that is set (Validate requires exactly
// one), requests when none is.
func (l Limit) Unit() store.Unit {
	for u, n := range l.amounts() {
		if n != 0 {
			return store.Unit(u)
		}
	}
	return store.UnitRequests
}

// Amount returns how many of its Unit the limit lets a window see.
func (l Limit) Amount() int64 { return l.amounts()[l.Unit()] }

// Matches reports whether the limit applies to a request for the URL path p
// (the full path, as in url.URL.Path).
func (l Limit) Matches(p string) bool {
	if l.Path == "" {
		return true
	}
	base, ok := strings.CutSuffix(l.Path, "/*")
	if !ok {
		matched, _ := path.Match(l.Path, p)
		return matched
	}
	head, ok := leadingSegments(p, strings.Count(base, "/"))
	if !ok {
		return false
	}
	matched, _ := path.Match(base, head)
	return matched
}

// leadingSegments returns the part of p before its (n+1)th slash, that is
// its first n segments when p starts with a slash, and whether p has that
// slash (so something, maybe empty, follows the n segments).
func leadingSegments(p string, n int) (string, bool) {
	end := -1
	for range n + 1 {
		next := strings.IndexByte(p[end+1:], '/')
		if next < 0 {
			return "", false
		}
		end += next + 1
	}
	return p[:end], true
}
