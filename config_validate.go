package heed

import (
	"errors"
	"fmt"
	redisstore "github.com/heedhq/heed/store/redis"
	"net"
	"net/url"
	"path"
	"strings"
	"time"
)

// Validate reports every problem of c, each naming the upstream and field,
// joined with errors.Join; nil means c can be used. It checks c with its
// defaults filled in (see WithDefaults), so zero fields are valid. No error
// quotes a credential, a fingerprint secret or a base URL.
func (c Config) Validate() error {
	d := c.WithDefaults()
	var p problems
	checkStore(&p, d)
	if d.OnStoreError != StoreErrorOpen && d.OnStoreError != StoreErrorClosed {
		p.addf("on_store_error %q: want open or closed", d.OnStoreError)
	}
	if d.Tenant != "" && !validName(d.Tenant, true) {
		p.addf("tenant %q must match [A-Za-z0-9][A-Za-z0-9_.-]*", d.Tenant)
	}
	if d.Listen != "" {
		if _, port, err := net.SplitHostPort(d.Listen); err != nil || port == "" {
			p.addf("listen %q: want host:port, such as 127.0.0.1:8700", d.Listen)
		}
	}
	if d.AdminToken != "" && len(d.AdminToken) < 16 {
		p.addf("admin_token: at least 16 bytes, got %d", len(d.AdminToken))
	}
	for i, u := range d.Upstreams {
		checkUpstream(&p, fmt.Sprintf("upstreams[%d] %q", i, u.Name), u)
	}
	checkUnique(&p, d.Upstreams)
	return errors.Join(p...)
}

// problems collects what Validate finds.
type problems []error

// addf adds one problem, prefixed with "heed: ".
func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Errorf("heed: "+format, args...))
}

// checkStore checks the store and the fingerprint secret it needs.
func checkStore(p *problems, c Config) {
	if len(c.FingerprintSecret) > 0 && len(c.FingerprintSecret) < minFingerprintSecret {
		p.addf("fingerprint_secret must be at least %d bytes", minFingerprintSecret)
	}
	if c.Store == storeMemory {
		return
	}
	if _, _, err := redisstore.ParseURL(c.Store); err != nil {
		p.addf("store %q: %v (want memory or a redis://, rediss://, redis-cluster:// or redis-sentinel:// URL)", redactStore(c.Store), err)
	}
	if c.FingerprintSecret == "" {
		p.addf("store %q: fingerprint_secret is required: every process sharing the store must use the same one", redactStore(c.Store))
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
func checkUpstream(p *problems, at string, u Upstream) {
	switch {
	case u.Name == "":
		p.addf("%s: name is required", at)
	case !validName(u.Name, false):
		p.addf("%s: name must match [a-z0-9][a-z0-9_.-]*", at)
	}
	if _, err := parseRoute(u.BaseURL); err != nil {
		p.addf("%s: %w", at, err)
	}
	for j, l := range u.Limits {
		checkLimit(p, fmt.Sprintf("%s: limits[%d]", at, j), l)
	}
	checkPacing(p, at, u)
	checkCooldown(p, at, u.Cooldown)
	checkRetry(p, at, u.Retry)
	checkBreaker(p, at, u.Breaker)
	checkCredentials(p, at, u.Credentials)
}

// checkLimit checks one limit.
func checkLimit(p *problems, at string, l Limit) {
	if l.Requests <= 0 {
		p.addf("%s: requests must be positive", at)
	}
	if l.Per <= 0 {
		p.addf("%s: per must be positive", at)
	}
	if l.Burst < 0 {
		p.addf("%s: burst must not be negative", at)
	}
	if l.Path == "" {
		return
	}
	if !strings.HasPrefix(l.Path, "/") {
		p.addf("%s: path %q must start with \"/\"", at, l.Path)
	} else if _, err := path.Match(l.Path, ""); err != nil {
		p.addf("%s: path %q is not a valid pattern", at, l.Path)
	}
}

// checkPacing checks the fields that decide when a request may leave.
func checkPacing(p *problems, at string, u Upstream) {
	if u.Timeout < 0 {
		p.addf("%s: timeout must not be negative", at)
	}
	if u.Concurrency < 0 {
		p.addf("%s: concurrency must not be negative", at)
	}
	if u.OnLimit != OnLimitWait && u.OnLimit != OnLimitFail {
		p.addf("%s: on_limit %q: want wait or fail", at, u.OnLimit)
	}
	checkDuration(p, at, "max_wait", u.MaxWait)
	if !(u.Headroom >= 0 && u.Headroom < 0.5) {
		p.addf("%s: headroom %v out of range [0, 0.5)", at, u.Headroom)
	}
}

// checkCooldown checks the cooldown bounds.
func checkCooldown(p *problems, at string, c CooldownPolicy) {
	checkDuration(p, at, "cooldown.default", c.Default)
	checkDuration(p, at, "cooldown.max", c.Max)
	if c.Max >= 0 && c.Default > c.Max {
		p.addf("%s: cooldown.default (%v) must not exceed cooldown.max (%v)", at, c.Default, c.Max)
	}
}

// checkRetry checks the retry policy.
func checkRetry(p *problems, at string, r RetryPolicy) {
	if r.Attempts < 1 || r.Attempts > maxRetryAttempts {
		p.addf("%s: retry.attempts %d out of range [1, %d] (1 means no retry)", at, r.Attempts, maxRetryAttempts)
	}
	switch r.Backoff {
	case "exponential", "constant", "linear", "fibonacci":
	default:
		p.addf("%s: retry.backoff %q: want exponential, constant, linear or fibonacci", at, r.Backoff)
	}
	checkDuration(p, at, "retry.base", r.Base)
	checkDuration(p, at, "retry.max", r.Max)
	checkDuration(p, at, "retry.max_elapsed", r.MaxElapsed)
	if r.Max >= 0 && r.Base > r.Max {
		p.addf("%s: retry.base (%v) must not exceed retry.max (%v)", at, r.Base, r.Max)
	}
}

// checkBreaker checks the circuit breaker policy, even when disabled.
func checkBreaker(p *problems, at string, b BreakerPolicy) {
	if b.Failures < 0 {
		p.addf("%s: breaker.failures must not be negative", at)
	}
	checkDuration(p, at, "breaker.open_for", b.OpenFor)
	if b.Probes < 0 {
		p.addf("%s: breaker.probes must not be negative", at)
	}
}

// checkCredentials checks the extra credential places.
func checkCredentials(p *problems, at string, c CredentialPolicy) {
	for i, h := range c.Headers {
		if !validToken(h) {
			p.addf("%s: credentials.headers[%d] %q is not a valid header name", at, i, h)
		}
	}
	for i, q := range c.Query {
		if q == "" {
			p.addf("%s: credentials.query[%d] must not be empty", at, i)
		}
	}
}

// checkDuration reports a negative duration.
func checkDuration(p *problems, at, field string, d time.Duration) {
	if d < 0 {
		p.addf("%s: %s must not be negative", at, field)
	}
}

// checkUnique reports upstreams that repeat an earlier name or base URL.
func checkUnique(p *problems, ups []Upstream) {
	names := make(map[string]int, len(ups))
	routes := make(map[route]int, len(ups))
	for i, u := range ups {
		at := fmt.Sprintf("upstreams[%d] %q", i, u.Name)
		if first, dup := names[u.Name]; dup && u.Name != "" {
			p.addf("%s: name duplicates upstreams[%d]", at, first)
		} else if !dup {
			names[u.Name] = i
		}
		rt, err := parseRoute(u.BaseURL)
		if err != nil {
			continue
		}
		if first, dup := routes[rt]; dup {
			p.addf("%s: base_url duplicates upstreams[%d] %q", at, first, ups[first].Name)
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
	case u.Scheme != "http" && u.Scheme != "https":
		return route{}, errors.New("base_url: scheme must be http or https")
	case u.User != nil:
		return route{}, errors.New("base_url must not contain user info: credentials belong in the requests")
	case u.Opaque != "" || u.Hostname() == "":
		return route{}, errors.New("base_url must have a host")
	case u.RawQuery != "" || u.ForceQuery:
		return route{}, errors.New("base_url must not have a query")
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return route{}, errors.New("base_url must not have a fragment")
	}
	return route{scheme: u.Scheme, host: normalHost(u), prefix: strings.TrimRight(u.Path, "/")}, nil
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

// validToken reports whether s is a valid HTTP header name (RFC 9110 token).
func validToken(s string) bool {
	for i := range len(s) {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return s != ""
}
