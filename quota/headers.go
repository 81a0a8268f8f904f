package quota

import (
	"net/http"
	"strings"
)

// family is a group of headers whose names carry a quota name, e.g.
// anthropic-ratelimit-{name}-{part}.
type family uint8

const (
	famOpenAI    family = iota // x-ratelimit-{part}-{name}
	famAnthropic               // anthropic-ratelimit-{name}-{part}
	famTwitter24               // x-{app,user}-limit-24hour-{part}
	famMicrosoft               // x-ms-ratelimit-remaining-{name}
	famSuffix                  // x-ratelimit-{name}-{part}: Linear, RapidAPI
	famDash                    // x-rate-limit-{part}-{name}: Azure OpenAI
	famZendesk                 // zendesk-ratelimit-{name}: "total=;remaining=;resets="
)

// part is which number of a quota a header gives.
type part uint8

const (
	partLimit part = iota
	partRemaining
	partReset
)

var partNames = [...]string{"limit", "remaining", "reset"}

// namedField is one header of a family.
type namedField struct {
	fam  family
	part part
	name string   // quota name, lower case
	all  []string // every value of the header; never empty
}

// value returns the header's first value.
func (f namedField) value() string { return f.all[0] }

// maxNamed bounds how many family headers one response may contribute;
// the first inlineNamed are kept without allocating (Anthropic's full set
// is 12), the rest in headers.more.
const (
	maxNamed    = 32
	inlineNamed = 16
)

// headers holds the values of the headers Parse reads, collected in one pass
// over the response's header map so that interpretation does not depend on
// map order or on the keys' case. An empty string means absent.
type headers struct {
	retryAfter, retryAfterMs string

	// x-ratelimit-* as GitHub, SendGrid, Reddit and Discord send them.
	xLimit, xRemaining, xReset, xUsed, xResource, xResetAfter, xBucket string
	// x-rate-limit-* (Twitter/X).
	twLimit, twRemaining, twReset string
	// RateLimit-* (IETF drafts, GitLab).
	rlLimit, rlRemaining, rlReset, rlObserved, rlResetTime, rlName string
	// Structured RateLimit and RateLimit-Policy fields, all values.
	rateLimit, rateLimitPolicy []string
	// HubSpot.
	hsDaily, hsDailyRemaining, hsInterval, hsMax, hsRemaining, hsSecondly, hsSecondlyRemaining string

	shopify, sforce, amznErrorType string

	// Zendesk's x-rate-limit; Atlassian's RateLimit-Reason and its
	// Beta-RateLimit fields; Stripe's Stripe-Should-Retry.
	zdLimit, rlReason, stripeShouldRetry string
	betaRateLimit, betaPolicy            []string
	// Meta's usage headers: X-App-Usage, X-Page-Usage,
	// X-Business-Use-Case-Usage.
	appUsage, pageUsage, bucUsage string

	named  [inlineNamed]namedField
	more   []namedField // the family headers past inlineNamed
	nNamed int          // len(named in use) + len(more)

	marks marks
}

// collect reads every header of h once.
func (hs *headers) collect(h http.Header) {
	var buf [64]byte
	for k, vs := range h {
		if len(vs) == 0 || len(k) == 0 || len(k) > len(buf) || !mayMatter(k[0]) {
			continue
		}
		hs.add(lowerInto(buf[:0], k), vs)
	}
}

// mayMatter reports whether a header whose name starts with c can be one
// Parse reads: every such name starts with a, b, o, r, s, x or z.
func mayMatter(c byte) bool {
	switch c | 0x20 {
	case 'a', 'b', 'o', 'r', 's', 'x', 'z':
		return true
	}
	return false
}

// lowerInto appends the ASCII lower case of s to b.
func lowerInto(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// hasPrefix reports whether the bytes k start with p, without allocating.
func hasPrefix(k []byte, p string) bool {
	return len(k) >= len(p) && string(k[:len(p)]) == p
}

// add records one header whose lower-case name is k.
func (hs *headers) add(k []byte, vs []string) {
	v := vs[0]
	if hs.addExact(k, v, vs) {
		return
	}
	switch {
	case hasPrefix(k, "x-ratelimit-"):
		hs.addXRateLimit(k[len("x-ratelimit-"):], vs)
	case hasPrefix(k, "anthropic-"):
		hs.marks |= markAnthropic
		if hasPrefix(k, "anthropic-ratelimit-") {
			hs.addAnthropic(k[len("anthropic-ratelimit-"):], vs)
		}
	case hasPrefix(k, "x-hubspot-ratelimit-"):
		hs.marks |= markHubSpot
		hs.addHubSpot(k[len("x-hubspot-ratelimit-"):], v)
	case hasPrefix(k, "x-ms-ratelimit-remaining-"):
		hs.marks |= markMicrosoft
		hs.addNamed(famMicrosoft, partRemaining, k[len("x-ms-ratelimit-remaining-"):], vs)
	case hasPrefix(k, "zendesk-ratelimit-"):
		hs.marks |= markZendesk
		hs.addNamed(famZendesk, partLimit, k[len("zendesk-ratelimit-"):], vs)
	case hasPrefix(k, "x-rate-limit-"):
		hs.addDash(k[len("x-rate-limit-"):], vs)
	case hasPrefix(k, "x-app-limit-24hour-"):
		hs.addTwitter24("app-24hour", k[len("x-app-limit-24hour-"):], vs)
	case hasPrefix(k, "x-user-limit-24hour-"):
		hs.addTwitter24("user-24hour", k[len("x-user-limit-24hour-"):], vs)
	default:
		hs.marks |= markOf(k)
	}
}

// addExact records the headers known by their whole name.
func (hs *headers) addExact(k []byte, v string, vs []string) bool {
	switch string(k) {
	case "retry-after":
		keep(&hs.retryAfter, joinValues(vs))
	case "retry-after-ms", "x-ms-retry-after-ms":
		keep(&hs.retryAfterMs, v)
	case "x-rate-limit-limit":
		keep(&hs.twLimit, v)
	case "x-rate-limit-remaining":
		keep(&hs.twRemaining, v)
	case "x-rate-limit-reset":
		keep(&hs.twReset, v)
	case "ratelimit-limit":
		keep(&hs.rlLimit, v)
	case "ratelimit-remaining":
		keep(&hs.rlRemaining, v)
	case "ratelimit-reset":
		keep(&hs.rlReset, v)
	case "ratelimit-observed":
		keep(&hs.rlObserved, v)
	case "ratelimit-resettime":
		keep(&hs.rlResetTime, v)
	case "ratelimit-name":
		keep(&hs.rlName, v)
	case "ratelimit":
		keepAll(&hs.rateLimit, vs)
	case "ratelimit-policy":
		keepAll(&hs.rateLimitPolicy, vs)
	case "x-shopify-shop-api-call-limit":
		keep(&hs.shopify, v)
	case "sforce-limit-info":
		keep(&hs.sforce, v)
	case "x-amzn-errortype":
		keep(&hs.amznErrorType, v)
	case "x-rate-limit":
		hs.marks |= markZendesk
		keep(&hs.zdLimit, v)
	case "ratelimit-reason", "x-ratelimit-reason":
		hs.marks |= markAtlassian
		keep(&hs.rlReason, v)
	case "beta-ratelimit":
		hs.marks |= markAtlassian
		keepAll(&hs.betaRateLimit, vs)
	case "beta-ratelimit-policy":
		hs.marks |= markAtlassian
		keepAll(&hs.betaPolicy, vs)
	case "stripe-should-retry":
		hs.marks |= markStripe
		keep(&hs.stripeShouldRetry, v)
	case "x-app-usage":
		hs.marks |= markFacebook
		keep(&hs.appUsage, v)
	case "x-page-usage":
		hs.marks |= markFacebook
		keep(&hs.pageUsage, v)
	case "x-business-use-case-usage":
		hs.marks |= markFacebook
		keep(&hs.bucUsage, v)
	default:
		return false
	}
	return true
}

// keep sets *dst to v, unless it already holds a smaller value: when a
// hand-built header map holds one name in two spellings ("retry-after" and
// "Retry-After"), the outcome must not depend on the map's order.
func keep(dst *string, v string) {
	if *dst == "" || v < *dst {
		*dst = v
	}
}

// joinValues returns a field's values as one list value (RFC 9110 §5.3).
func joinValues(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	return strings.Join(vs[:min(len(vs), maxListItems)], ", ")
}

// keepAll is keep for all the values of a header.
func keepAll(dst *[]string, vs []string) {
	if *dst == nil || vs[0] < (*dst)[0] {
		*dst = vs
	}
}

// addXRateLimit records x-ratelimit-{rest}: GitHub's, Discord's and
// Reddit's single quota, or OpenAI's per-name form.
func (hs *headers) addXRateLimit(rest []byte, vs []string) {
	v := vs[0]
	switch string(rest) {
	case "limit":
		keep(&hs.xLimit, v)
	case "remaining":
		keep(&hs.xRemaining, v)
	case "reset":
		keep(&hs.xReset, v)
	case "used":
		keep(&hs.xUsed, v)
	case "resource":
		keep(&hs.xResource, v)
	case "reset-after":
		keep(&hs.xResetAfter, v)
	case "bucket":
		keep(&hs.xBucket, v)
	case "global", "scope":
		hs.marks |= markDiscord
	case "nearlimit":
		hs.marks |= markAtlassian
	default:
		for p, name := range partNames {
			if hasPrefix(rest, name) && len(rest) > len(name) && rest[len(name)] == '-' {
				hs.addNamed(famOpenAI, part(p), rest[len(name)+1:], vs)
				return
			}
		}
		for p, name := range partNames {
			if n := len(rest) - len(name) - 1; n > 0 && rest[n] == '-' && string(rest[n+1:]) == name {
				hs.addNamed(famSuffix, part(p), rest[:n], vs)
				return
			}
		}
	}
}

// addDash records x-rate-limit-{part}-{name}, the spelling Azure OpenAI
// uses beside OpenAI's.
func (hs *headers) addDash(rest []byte, vs []string) {
	for p, name := range partNames {
		if hasPrefix(rest, name) && len(rest) > len(name)+1 && rest[len(name)] == '-' {
			hs.addNamed(famDash, part(p), rest[len(name)+1:], vs)
			return
		}
	}
}

// atlassianReason returns Atlassian's RateLimit-Reason, which names the
// limit that x-ratelimit-* describe, or "" for other vendors.
func (hs *headers) atlassianReason(vendor string) string {
	if vendor != VendorAtlassian {
		return ""
	}
	return hs.rlReason
}

// addAnthropic records anthropic-ratelimit-{name}-{part}.
func (hs *headers) addAnthropic(rest []byte, vs []string) {
	for p, name := range partNames {
		n := len(rest) - len(name) - 1
		if n > 0 && rest[n] == '-' && string(rest[n+1:]) == name {
			hs.addNamed(famAnthropic, part(p), rest[:n], vs)
			return
		}
	}
}

// addTwitter24 records x-{app,user}-limit-24hour-{part}.
func (hs *headers) addTwitter24(name string, rest []byte, vs []string) {
	hs.marks |= markTwitter
	for p, pn := range partNames {
		if string(rest) == pn {
			hs.addNamedString(famTwitter24, part(p), name, vs)
		}
	}
}

// addHubSpot records x-hubspot-ratelimit-{rest}.
func (hs *headers) addHubSpot(rest []byte, v string) {
	switch string(rest) {
	case "daily":
		keep(&hs.hsDaily, v)
	case "daily-remaining":
		keep(&hs.hsDailyRemaining, v)
	case "interval-milliseconds":
		keep(&hs.hsInterval, v)
	case "max":
		keep(&hs.hsMax, v)
	case "remaining":
		keep(&hs.hsRemaining, v)
	case "secondly":
		keep(&hs.hsSecondly, v)
	case "secondly-remaining":
		keep(&hs.hsSecondlyRemaining, v)
	}
}

// addNamed records a family header whose quota name is the bytes name.
func (hs *headers) addNamed(f family, p part, name []byte, vs []string) {
	if len(name) == 0 {
		return
	}
	hs.addNamedString(f, p, internName(name), vs)
}

// addNamedString records a family header whose quota name is name.
func (hs *headers) addNamedString(f family, p part, name string, vs []string) {
	field := namedField{fam: f, part: p, name: name, all: vs}
	switch {
	case hs.nNamed == maxNamed:
		return
	case hs.nNamed < inlineNamed:
		hs.named[hs.nNamed] = field
	default:
		hs.more = append(hs.more, field)
	}
	hs.nNamed++
}

// namedFields returns the family headers recorded, as one slice.
func (hs *headers) namedFields() []namedField {
	if len(hs.more) == 0 {
		return hs.named[:hs.nNamed]
	}
	return append(hs.named[:inlineNamed:inlineNamed], hs.more...)
}

// internName returns the common quota names without allocating.
func internName(b []byte) string {
	switch string(b) {
	case "requests":
		return "requests"
	case "tokens":
		return "tokens"
	case "input-tokens":
		return "input-tokens"
	case "output-tokens":
		return "output-tokens"
	case "complexity":
		return "complexity"
	}
	return string(b)
}
