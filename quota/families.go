package quota

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// resetModeOf returns how the vendor's x-ratelimit-reset is to be read.
func resetModeOf(vendor string) resetMode {
	switch vendor {
	case VendorGitHub, VendorTwitter, VendorGitLab, VendorSendGrid, VendorDiscord:
		return resetEpochSeconds
	case VendorReddit, VendorZendesk:
		return resetDeltaSeconds
	}
	return resetBySize
}

// counts holds a quota's numbers as read from its headers.
type counts struct {
	limit, remaining, used          float64
	hasLimit, hasRemaining, hasUsed bool
}

// fill sets the quota's counts, deriving limit from used + remaining or
// remaining from limit - used where the other is missing.
func (c counts) fill(q *Quota) {
	switch {
	case !c.hasLimit && c.hasUsed && c.hasRemaining:
		c.limit, c.hasLimit = c.used+c.remaining, true
	case !c.hasRemaining && c.hasUsed && c.hasLimit:
		c.remaining, c.hasRemaining = max(c.limit-c.used, 0), true
	}
	if c.hasLimit {
		q.Limit, q.HasLimit = c.limit, true
	}
	if c.hasRemaining {
		q.Remaining, q.HasRemaining = c.remaining, true
	}
}

// readXRateLimit reads x-ratelimit-{limit,remaining,used,reset,reset-after}
// as GitHub, SendGrid, Reddit and Discord send them: one quota, named by
// GitHub's resource or Discord's bucket.
func (p *parser) readXRateLimit() {
	hs := &p.hs
	if hs.xLimit == "" && hs.xRemaining == "" && hs.xReset == "" && hs.xResetAfter == "" {
		return
	}
	var c counts
	c.limit, c.hasLimit = p.rd.count("x-ratelimit-limit", hs.xLimit)
	c.remaining, c.hasRemaining = p.rd.count("x-ratelimit-remaining", hs.xRemaining)
	c.used, c.hasUsed = p.rd.count("x-ratelimit-used", hs.xUsed)
	name := firstNonEmpty(hs.xResource, hs.xBucket, hs.atlassianReason(p.sig.Vendor), "requests")
	source := "x-ratelimit-remaining"
	if !c.hasRemaining {
		source = "x-ratelimit-limit"
	}
	q := p.quota(name, "requests", source)
	c.fill(q)
	if hs.xResetAfter != "" {
		if d, ok := p.rd.delay("x-ratelimit-reset-after", hs.xResetAfter, time.Second); ok {
			q.setReset(p.rd.after("x-ratelimit-reset-after", hs.xResetAfter, d), "x-ratelimit-reset-after")
			return
		}
	}
	q.setReset(p.rd.reset("x-ratelimit-reset", hs.xReset, resetModeOf(p.sig.Vendor)), "x-ratelimit-reset")
}

// firstNonEmpty returns the first non-empty string, trimmed.
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// readTwitter reads Twitter/X's x-rate-limit-{limit,remaining,reset}.
func (p *parser) readTwitter() {
	hs := &p.hs
	if hs.twLimit == "" && hs.twRemaining == "" && hs.twReset == "" && hs.zdLimit == "" {
		return
	}
	var c counts
	c.limit, c.hasLimit = p.rd.count("x-rate-limit-limit", hs.twLimit)
	if !c.hasLimit { // Zendesk's account-wide limit
		c.limit, c.hasLimit = p.rd.count("x-rate-limit", hs.zdLimit)
	}
	c.remaining, c.hasRemaining = p.rd.count("x-rate-limit-remaining", hs.twRemaining)
	q := p.quota("requests", "requests", "x-rate-limit-remaining")
	c.fill(q)
	q.setReset(p.rd.reset("x-rate-limit-reset", hs.twReset, resetEpochSeconds), "x-rate-limit-reset")
}

// readNamed reads the families whose header names carry the quota name:
// OpenAI's, Anthropic's, Microsoft's and Twitter/X's 24-hour limits. The
// fields are sorted first, by family, name, part (limit, remaining, reset)
// and value, so that the result, down to a quota's source, does not depend on
// the order of the header map.
func (p *parser) readNamed() {
	named := p.hs.namedFields()
	slices.SortFunc(named, func(a, b namedField) int {
		return cmp.Or(cmp.Compare(a.fam, b.fam), strings.Compare(a.name, b.name), cmp.Compare(a.part, b.part),
			strings.Compare(a.value(), b.value()))
	})
	for _, f := range named {
		p.readNamedField(f)
	}
}

// familyHeader names a family header in lower case; the common names come
// from commonFamilyHeaders, without allocating.
func familyHeader(f namedField) string {
	if f.fam == famOpenAI || f.fam == famAnthropic {
		if i := commonNameIndex(f.name); i >= 0 {
			return commonFamilyHeaders[f.fam][i][f.part]
		}
	}
	switch f.fam {
	case famOpenAI:
		return "x-ratelimit-" + partNames[f.part] + "-" + f.name
	case famAnthropic:
		return "anthropic-ratelimit-" + f.name + "-" + partNames[f.part]
	case famTwitter24:
		return "x-" + strings.TrimSuffix(f.name, "-24hour") + "-limit-24hour-" + partNames[f.part]
	case famSuffix:
		return "x-ratelimit-" + f.name + "-" + partNames[f.part]
	case famDash:
		return "x-rate-limit-" + partNames[f.part] + "-" + f.name
	case famZendesk:
		return "zendesk-ratelimit-" + f.name
	}
	return "x-ms-ratelimit-remaining-" + f.name
}

// commonNameIndex returns the index of a name in commonFamilyHeaders, or -1.
func commonNameIndex(name string) int {
	switch name {
	case "requests":
		return 0
	case "tokens":
		return 1
	case "input-tokens":
		return 2
	case "output-tokens":
		return 3
	}
	return -1
}

// commonFamilyHeaders spells the OpenAI and Anthropic headers of the common
// quota names, indexed by family, commonNameIndex and part.
var commonFamilyHeaders = [2][4][3]string{
	famOpenAI: {
		{"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"},
		{"x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"},
		{"x-ratelimit-limit-input-tokens", "x-ratelimit-remaining-input-tokens", "x-ratelimit-reset-input-tokens"},
		{"x-ratelimit-limit-output-tokens", "x-ratelimit-remaining-output-tokens", "x-ratelimit-reset-output-tokens"},
	},
	famAnthropic: {
		{"anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset"},
		{"anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset"},
		{"anthropic-ratelimit-input-tokens-limit", "anthropic-ratelimit-input-tokens-remaining", "anthropic-ratelimit-input-tokens-reset"},
		{"anthropic-ratelimit-output-tokens-limit", "anthropic-ratelimit-output-tokens-remaining", "anthropic-ratelimit-output-tokens-reset"},
	},
}

// readNamedField reads one family header into its quota.
func (p *parser) readNamedField(f namedField) {
	switch f.fam {
	case famMicrosoft:
		p.readMicrosoft(f)
		return
	case famZendesk:
		p.readZendesk(f)
		return
	}
	field := familyHeader(f)
	name := f.name
	if f.fam == famSuffix && p.sig.Vendor == VendorRapidAPI {
		name = "plan-" + name // the plan's quota, beside x-ratelimit-*'s rate limit
	}
	q := p.quota(name, unitOf(f), field)
	switch f.part {
	case partLimit:
		q.Limit, q.HasLimit = p.rd.count(field, f.value())
	case partRemaining:
		q.Remaining, q.HasRemaining = p.rd.count(field, f.value())
		q.Source = field
	case partReset:
		q.setReset(p.rd.reset(field, f.value(), resetModeOfFamily(f.fam)), field)
	}
	if f.fam == famTwitter24 {
		q.Window = 24 * time.Hour
	}
}

// unitOf says what a family's quota counts.
func unitOf(f namedField) string {
	switch {
	case f.fam != famTwitter24 && f.fam != famMicrosoft && strings.HasSuffix(f.name, "tokens"):
		return f.name
	case f.fam == famSuffix && f.name == "complexity": // Linear
		return "complexity"
	}
	return "requests"
}

// resetModeOfFamily returns how a family's numeric resets are read.
func resetModeOfFamily(f family) resetMode {
	if f == famTwitter24 {
		return resetEpochSeconds
	}
	return resetBySize
}

// readMicrosoft reads x-ms-ratelimit-remaining-{name}: a plain count, or a
// list of "policy;count" items (Azure Resource Manager's resource limits).
func (p *parser) readMicrosoft(f namedField) {
	field := familyHeader(f)
	for _, v := range f.all {
		p.readMicrosoftValue(f.name, field, v)
	}
}

// readMicrosoftValue reads one value of x-ms-ratelimit-remaining-{name}.
func (p *parser) readMicrosoftValue(name, field, v string) {
	if !strings.Contains(v, ";") {
		q := p.quota(name, "requests", field)
		q.Remaining, q.HasRemaining = p.rd.count(field, v)
		return
	}
	for item := range strings.SplitSeq(v, ",") {
		name, n, ok := strings.Cut(item, ";")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			p.rd.warn(field, item, `not "policy;count"`)
			continue
		}
		if rem, ok := p.rd.count(field, n); ok {
			q := p.quota(name, "requests", field)
			q.Remaining, q.HasRemaining = rem, true
		}
	}
}

// readShopify reads X-Shopify-Shop-Api-Call-Limit: "used/limit".
func (p *parser) readShopify() {
	const field = "x-shopify-shop-api-call-limit"
	if p.hs.shopify == "" {
		return
	}
	c, ok := p.usedOfLimit(field, p.hs.shopify)
	if ok {
		c.fill(p.quota("requests", "requests", field))
	}
}

// usedOfLimit reads "used/limit".
func (p *parser) usedOfLimit(field, v string) (counts, bool) {
	u, l, ok := strings.Cut(v, "/")
	var c counts
	if ok {
		used, okU := parseNumber(u)
		limit, okL := parseNumber(l)
		ok = okU && okL && used >= 0 && limit >= 0
		c = counts{used: used, limit: limit, hasUsed: true, hasLimit: true}
	}
	if !ok {
		p.rd.warn(field, v, `not "used/limit"`)
	}
	return c, ok
}

// readSalesforce reads Sforce-Limit-Info: "api-usage=18/5000", possibly
// several separated by ";" or ",", an item possibly followed by
// "(appName=...)".
func (p *parser) readSalesforce() {
	const field = "sforce-limit-info"
	for item := range strings.FieldsFuncSeq(p.hs.sforce, isListSeparator) {
		name, usage, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			if item != "" {
				p.rd.warn(field, item, `not "name=used/limit"`)
			}
			continue
		}
		if i := strings.IndexByte(usage, '('); i >= 0 {
			usage = usage[:i]
		}
		if c, ok := p.usedOfLimit(field, usage); ok {
			c.fill(p.quota(name, "requests", field))
		}
	}
}

func isListSeparator(r rune) bool { return r == ',' || r == ';' }

// readHubSpot reads X-HubSpot-RateLimit-*: an interval quota, a per-second
// quota and a daily quota.
func (p *parser) readHubSpot() {
	hs := &p.hs
	interval := time.Duration(0)
	if hs.hsInterval != "" {
		if ms, ok := p.rd.count("x-hubspot-ratelimit-interval-milliseconds", hs.hsInterval); ok {
			interval, _ = seconds(ms / 1000)
		}
	}
	p.hubSpotQuota("interval", "x-hubspot-ratelimit-max", hs.hsMax, "x-hubspot-ratelimit-remaining", hs.hsRemaining, interval)
	p.hubSpotQuota("secondly", "x-hubspot-ratelimit-secondly", hs.hsSecondly, "x-hubspot-ratelimit-secondly-remaining", hs.hsSecondlyRemaining, time.Second)
	p.hubSpotQuota("daily", "x-hubspot-ratelimit-daily", hs.hsDaily, "x-hubspot-ratelimit-daily-remaining", hs.hsDailyRemaining, 24*time.Hour)
}

// hubSpotQuota reads one HubSpot quota from its limit and remaining headers.
func (p *parser) hubSpotQuota(name, limitField, limit, remField, rem string, window time.Duration) {
	if limit == "" && rem == "" {
		return
	}
	var c counts
	c.limit, c.hasLimit = p.rd.count(limitField, limit)
	c.remaining, c.hasRemaining = p.rd.count(remField, rem)
	source := remField
	if rem == "" {
		source = limitField
	}
	q := p.quota(name, "requests", source)
	c.fill(q)
	q.Window = window
}
