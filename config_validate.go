package heed

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/heedhq/heed/internal/httptoken"
	"github.com/heedhq/heed/llm"
	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/store"
)

// Validate reports every problem of c, each a *ConfigError naming the
// upstream and field (and, when c.Source says where c was read from, the
// file and line), joined with errors.Join; nil means c can be used. It
// checks c with its defaults filled in (see WithDefaults), so zero fields
// are valid. No error quotes a credential, a fingerprint secret or a base
// URL.
func (c Config) Validate() error {
	d := c.WithDefaults()
	var p problems
	checkStore(&p, d)
	if d.OnStoreError != StoreErrorOpen && d.OnStoreError != StoreErrorClosed {
		p.addAt("on_store_error", "on_store_error %q: want open or closed", d.OnStoreError)
	}
	if d.ForgetAfter < 0 {
		p.addAt("forget_after", "forget_after must not be negative")
	}
	if d.Tenant != "" && !validName(d.Tenant, true) {
		p.addAt("tenant", "tenant %q must match [A-Za-z0-9][A-Za-z0-9_.-]*", d.Tenant)
	}
	for i, u := range d.Upstreams {
		at := loc{label: fmt.Sprintf("upstreams[%d] %q", i, u.Name), path: fmt.Sprintf("upstreams[%d]", i)}
		checkUpstream(&p, at, u)
		checkCache(&p, at, u.Cache, d.sharedStore())
		checkFairness(&p, at, u)
	}
	checkUnique(&p, d.Upstreams)
	return c.Source.Locate(errors.Join(p...))
}

// problems collects what Validate finds: each a *ConfigError with the
// YAML path of the field it is about ("" when none), so that a Config read
// from a file can name the line (see Source.Locate).
type problems []error

// addf adds one problem. When an argument is a loc, the problem is about
// the field it names.
func (p *problems) addf(format string, args ...any) {
	path := ""
	for _, a := range args {
		if w, ok := a.(loc); ok {
			path = w.path
			break
		}
	}
	*p = append(*p, NewConfigError(path, format, args...))
}

// addAt adds one problem about the field at the YAML path.
func (p *problems) addAt(path, format string, args ...any) {
	*p = append(*p, NewConfigError(path, format, args...))
}

// loc names a field in a problem: label as messages show it
// (`upstreams[0] "github": retry.attempts`), path as YAML spells it
// (upstreams[0].retry.attempts).
type loc struct{ label, path string }

func (w loc) String() string { return w.label }

// index returns the i-th element of the list w names.
func (w loc) index(i int) loc {
	return loc{label: fmt.Sprintf("%s[%d]", w.label, i), path: fmt.Sprintf("%s[%d]", w.path, i)}
}

// field returns the field named name within w.
func (w loc) field(name string) loc {
	return loc{label: w.label + ": " + name, path: w.path + "." + name}
}

// checkStore checks the store and the fingerprint secret it needs.
func checkStore(p *problems, c Config) {
	if len(c.FingerprintSecret) > 0 && len(c.FingerprintSecret) < minFingerprintSecret {
		p.addAt("fingerprint_secret", "fingerprint_secret must be at least %d bytes", minFingerprintSecret)
	}
	if c.Store == storeMemory {
		return
	}
	switch {
	case c.Stores != nil:
		if err := c.Stores.Check(c.Store); err != nil {
			p.addAt("store", "store %q: %v", redactStore(c.Store), err)
		}
	case c.StoreImpl == nil:
		p.addAt("store", "store %q: nothing to open it with: read the config with package config (config.Load or config.Parse), "+
			"or set Config.Stores (config.Stores{} opens Redis URLs) or Config.StoreImpl", redactStore(c.Store))
	}
	if c.FingerprintSecret == "" {
		p.addAt("store", "store %q: fingerprint_secret is required: every process sharing the store must use the same one", redactStore(c.Store))
	}
}

// redactStore returns the store URL without its user info, which may hold
// a password, or a placeholder when it does not parse.
func redactStore(store string) string {
	u, err := url.Parse(store)
	if err != nil {
		return "(malformed URL)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	return u.String()
}

// checkUpstream checks one upstream; at names it in every problem.
func checkUpstream(p *problems, at loc, u Upstream) {
	switch {
	case u.Name == "":
		p.addf("%s is required", at.field("name"))
	case !validName(u.Name, false):
		p.addf("%s must match [a-z0-9][a-z0-9_.-]*", at.field("name"))
	}
	if _, err := parseRoute(u.BaseURL); err != nil {
		p.addf("%s: %w", loc{label: at.label, path: at.path + ".base_url"}, err)
	}
	switch u.Vendor {
	case "", quota.VendorOpenAI, quota.VendorAnthropic, quota.VendorGitHub, vendorGeneric:
	default:
		p.addf("%s %q: want openai, anthropic, github or generic (or none: by the host, or learned from the answers)", at.field("vendor"), u.Vendor)
	}
	cost, err := costOf(u)
	if err != nil {
		p.addf("%s: %w", at.field("cost"), err)
		cost = llm.OpenAI // judge the limits as if priced: the cost's own problem is said
	}
	if u.DefaultOutputTokens < 0 {
		p.addf("%s must not be negative", at.field("default_output_tokens"))
	}
	for j, l := range u.Limits {
		checkLimit(p, loc{label: fmt.Sprintf("%s: limits[%d]", at, j), path: fmt.Sprintf("%s.limits[%d]", at.path, j)}, l, cost)
	}
	checkPacing(p, at, u)
	checkCooldown(p, at, u.Cooldown)
	checkRetry(p, at, u.Retry)
	checkBreaker(p, at, u.Breaker)
	checkCredentials(p, at, u.Credentials)
}

// checkLimit checks one limit.
func checkLimit(p *problems, at loc, l Limit, cost llm.Vendor) {
	var set []string
	for u, n := range l.amounts() {
		if n == 0 {
			continue
		}
		set = append(set, limitKinds[u])
		if n < 0 {
			p.addf("%s must be positive", at.field(limitKinds[u]))
		}
	}
	switch {
	case len(set) == 0:
		p.addf("%s must be positive (or set one of tokens, input_tokens, output_tokens)", at.field("requests"))
	case len(set) > 1:
		p.addf("%s: a limit counts one of requests, tokens, input_tokens, output_tokens, not %s", at, strings.Join(set, " and "))
	case l.Unit() != store.UnitRequests && cost == llm.None:
		p.addf("%s: the upstream's cost is none, so nothing counts its tokens: set cost: openai or anthropic", at.field(set[0]))
	}
	if l.Per <= 0 {
		p.addf("%s must be positive", at.field("per"))
	}
	if l.Burst < 0 {
		p.addf("%s must not be negative", at.field("burst"))
	}
	if l.Path == "" {
		return
	}
	if !strings.HasPrefix(l.Path, "/") {
		p.addf("%s %q must start with \"/\"", at.field("path"), l.Path)
	} else if _, err := path.Match(l.Path, ""); err != nil {
		p.addf("%s %q is not a valid pattern", at.field("path"), l.Path)
	}
}

// checkPacing checks the fields that decide when a request may leave.
func checkPacing(p *problems, at loc, u Upstream) {
	if u.Timeout < 0 {
		p.addf("%s must not be negative", at.field("timeout"))
	}
	if u.Concurrency < 0 {
		p.addf("%s must not be negative", at.field("concurrency"))
	}
	if u.OnLimit != OnLimitWait && u.OnLimit != OnLimitFail {
		p.addf("%s %q: want wait or fail", at.field("on_limit"), u.OnLimit)
	}
	checkDuration(p, at, "max_wait", u.MaxWait)
	if !(u.Headroom >= 0 && u.Headroom < 0.5) {
		p.addf("%s %v out of range [0, 0.5)", at.field("headroom"), u.Headroom)
	}
}

// checkCooldown checks the cooldown bounds.
func checkCooldown(p *problems, at loc, c CooldownPolicy) {
	checkDuration(p, at, "cooldown.default", c.Default)
	checkDuration(p, at, "cooldown.max", c.Max)
	if c.Max >= 0 && c.Default > c.Max {
		p.addf("%s (%v) must not exceed cooldown.max (%v)", at.field("cooldown.default"), c.Default, c.Max)
	}
}

// checkRetry checks the retry policy.
func checkRetry(p *problems, at loc, r RetryPolicy) {
	if r.Attempts < 1 || r.Attempts > maxRetryAttempts {
		p.addf("%s %d out of range [1, %d] (1 means no retry)", at.field("retry.attempts"), r.Attempts, maxRetryAttempts)
	}
	switch r.Backoff {
	case "exponential", "constant", "linear", "fibonacci":
	default:
		p.addf("%s %q: want exponential, constant, linear or fibonacci", at.field("retry.backoff"), r.Backoff)
	}
	checkDuration(p, at, "retry.base", r.Base)
	checkDuration(p, at, "retry.max", r.Max)
	checkDuration(p, at, "retry.max_elapsed", r.MaxElapsed)
	if r.Max >= 0 && r.Base > r.Max {
		p.addf("%s (%v) must not exceed retry.max (%v)", at.field("retry.base"), r.Base, r.Max)
	}
	for i, h := range r.ClientRetryHeaders {
		if !httptoken.Valid(h) {
			p.addf("%s[%d] %q is not a valid header name", at.field("retry.client_retry_headers"), i, h)
		}
	}
}

// checkBreaker checks the circuit breaker policy, even when disabled.
func checkBreaker(p *problems, at loc, b BreakerPolicy) {
	if b.Failures < 0 {
		p.addf("%s must not be negative", at.field("breaker.failures"))
	}
	checkDuration(p, at, "breaker.open_for", b.OpenFor)
	if b.Probes < 0 {
		p.addf("%s must not be negative", at.field("breaker.probes"))
	}
}

// checkCredentials checks the extra credential places.
func checkCredentials(p *problems, at loc, c CredentialPolicy) {
	for i, h := range c.Headers {
		if !httptoken.Valid(h) {
			p.addf("%s[%d] %q is not a valid header name", at.field("credentials.headers"), i, h)
		}
	}
	for i, q := range c.Query {
		if q == "" {
			p.addf("%s[%d] must not be empty", at.field("credentials.query"), i)
		}
	}
}

// checkDuration reports a negative duration.
func checkDuration(p *problems, at loc, field string, d time.Duration) {
	if d < 0 {
		p.addf("%s must not be negative", at.field(field))
	}
}

// checkUnique reports upstreams that repeat an earlier name or base URL.
func checkUnique(p *problems, ups []Upstream) {
	names := make(map[string]int, len(ups))
	routes := make(map[route]int, len(ups))
	for i, u := range ups {
		at := loc{label: fmt.Sprintf("upstreams[%d] %q", i, u.Name), path: fmt.Sprintf("upstreams[%d]", i)}
		if first, dup := names[u.Name]; dup && u.Name != "" {
			p.addf("%s duplicates upstreams[%d]", at.field("name"), first)
		} else if !dup {
			names[u.Name] = i
		}
		rt, err := parseRoute(u.BaseURL)
		if err != nil {
			continue
		}
		if first, dup := routes[rt]; dup {
			p.addf("%s duplicates upstreams[%d] %q", at.field("base_url"), first, ups[first].Name)
		} else {
			routes[rt] = i
		}
	}
}

// parseRoute parses and checks a BaseURL. Its errors never quote the URL,
// which may hold a credential.
func parseRoute(raw string) (route, error) {
	if raw == "" {
		return route{}, errors.New("base_url is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return route{}, fmt.Errorf("base_url is not a valid URL: %w", urlCause(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != SchemeGRPC && u.Scheme != SchemeGRPCS:
		return route{}, errors.New("base_url: scheme must be http, https, grpc or grpcs")
	case u.User != nil:
		return route{}, errors.New("base_url must not contain user info: credentials belong in the requests")
	case u.Opaque != "" || u.Hostname() == "":
		return route{}, errors.New("base_url must have a host")
	case u.RawQuery != "" || u.ForceQuery:
		return route{}, errors.New("base_url must not have a query")
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return route{}, errors.New("base_url must not have a fragment")
	}
	return route{scheme: routeScheme(u.Scheme), host: normalHost(u), prefix: strings.TrimRight(u.Path, "/")}, nil
}

// urlCause returns the reason url.Parse failed without the URL it quotes.
func urlCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return errors.New("malformed")
}

// validName reports whether s matches [a-z0-9][a-z0-9_.-]*, or with upper
// [A-Za-z0-9][A-Za-z0-9_.-]*. Such names never contain "/".
func validName(s string, upper bool) bool {
	for i := range len(s) {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || upper && c >= 'A' && c <= 'Z'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return s != ""
}
