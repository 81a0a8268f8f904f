package quota

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// MaxPlausibleWait is the longest wait and the farthest reset Parse reports.
// A field that asks for more is reported as MaxPlausibleWait, with a
// Warning, so that the caller's cap (always far lower) decides.
const MaxPlausibleWait = 366 * 24 * time.Hour

// githubSecondaryWait is GitHub's documented minimum wait after a secondary
// rate limit that names no time of its own.
const githubSecondaryWait = time.Minute

// Parse reads the rate-limit signals of one response that arrived at now.
// It never panics and never fails: what it cannot read becomes a Warning.
func Parse(r Response, now time.Time) Signal {
	p := parser{resp: r}
	p.sig.Status = r.Status
	p.rd.now = now
	p.hs.collect(r.Header)
	p.sig.Vendor = detectVendor(r, &p.hs)
	p.readQuotas()
	p.readBody()
	p.sig.Quotas = p.found()
	p.decide()
	p.sig.Warnings = p.rd.warnings
	return p.sig
}

// parser holds one Parse call's work in progress.
type parser struct {
	resp Response
	rd   reader
	hs   headers
	sig  Signal
	body bodyFacts
	// quotas holds the first Quotas found, so that the Signal's slice is
	// allocated once at the end, at its exact size.
	quotas [4]Quota
	nq     int
	more   []Quota // the Quotas past len(quotas), rare
	// metaWait is Meta's estimated_time_to_regain_access, the longest of
	// X-Business-Use-Case-Usage; metaWaitSource is "" when none was given.
	metaWait       time.Duration
	metaWaitSource string
}

// readQuotas turns the collected headers into Quotas, sorted by name.
func (p *parser) readQuotas() {
	p.readXRateLimit()
	p.readTwitter()
	p.readRateLimitFields()
	p.readStructured()
	p.readNamed()
	p.readShopify()
	p.readSalesforce()
	p.readHubSpot()
	p.readMeta()
}

// quota returns the quota named name, adding it when new. The pointer is
// valid until the next call.
func (p *parser) quota(name, unit, source string) *Quota {
	for i := range p.nq {
		if p.quotas[i].Name == name {
			return &p.quotas[i]
		}
	}
	for i := range p.more {
		if p.more[i].Name == name {
			return &p.more[i]
		}
	}
	if p.nq < len(p.quotas) {
		p.quotas[p.nq] = Quota{Name: name, Unit: unit, Source: source}
		p.nq++
		return &p.quotas[p.nq-1]
	}
	p.more = append(p.more, Quota{Name: name, Unit: unit, Source: source})
	return &p.more[len(p.more)-1]
}

// found returns the Quotas found, in a slice of their own of exactly
// their number (nil when none).
func (p *parser) found() []Quota {
	n := p.nq + len(p.more)
	if n == 0 {
		return nil
	}
	out := make([]Quota, 0, n)
	out = append(out, p.quotas[:p.nq]...)
	return append(out, p.more...)
}

// setReset records a quota's reset and makes its field the quota's source.
func (q *Quota) setReset(w when, field string) {
	if w.ok {
		q.Reset, q.Source = w.at, field
	}
}

// decide settles Limited, Cause and Wait from the status, the body and the
// quotas.
func (p *parser) decide() {
	slices.SortStableFunc(p.sig.Quotas, func(a, b Quota) int { return cmp.Compare(a.Name, b.Name) })
	p.sig.Limited, p.sig.Cause = p.statusVerdict()
	if p.body.cause != CauseNone {
		p.sig.Cause = p.body.cause
		p.sig.Limited = p.body.cause != CauseOverloaded
	}
	if p.body.vendor != "" && p.sig.Vendor == "" {
		p.sig.Vendor = p.body.vendor
	}
	if p.sig.Limited && p.sig.Cause == CauseRateLimit && p.hs.stripeShouldRetry == "false" {
		p.sig.Cause = CauseQuotaExhausted // Stripe says a retry cannot succeed
	}
	p.decideWait()
}

// statusVerdict reads what the status code (with the quotas) says.
func (p *parser) statusVerdict() (bool, Cause) {
	switch s := p.resp.Status; {
	case s == 429 || s == 420:
		return true, CauseRateLimit
	case s == 503 && (p.hs.retryAfter != "" || p.hs.retryAfterMs != ""):
		return true, CauseRateLimit
	case s == 529:
		return false, CauseOverloaded
	case (s == 403 || s == 400) && p.anyExhausted():
		return true, CauseRateLimit
	}
	return false, CauseNone
}

func (p *parser) anyExhausted() bool {
	return slices.ContainsFunc(p.sig.Quotas, Quota.Exhausted)
}

// decideWait picks the wait: the longest of the explicit waits (Retry-After,
// retry-after-ms, a vendor's delay header, a body field) and of the resets of
// exhausted quotas, crediting ties to the earliest source; but a reset that
// only says when a bucket is full again (refillReset) counts only when no
// explicit wait was given.
func (p *parser) decideWait() {
	explicit := false
	if p.resp.Status >= 400 {
		if v := p.hs.retryAfter; v != "" {
			d, ok := p.rd.retryAfter("retry-after", v)
			p.offer("retry-after", d, ok)
			explicit = explicit || ok
		}
		if v := p.hs.retryAfterMs; v != "" {
			d, ok := p.rd.delay("retry-after-ms", v, time.Millisecond)
			p.offer("retry-after-ms", d, ok)
			explicit = explicit || ok
		}
	}
	for _, q := range p.sig.Quotas { // vendor headers that state a delay
		if q.Exhausted() && q.Source == "x-ratelimit-reset-after" {
			d, ok := untilTime(q.Reset, p.rd.now)
			p.offer(q.Source, d, ok)
			explicit = explicit || ok
		}
	}
	if p.metaWaitSource != "" {
		p.offer(p.metaWaitSource, p.metaWait, true)
		explicit = true
	}
	if p.body.waitSource != "" {
		p.offer(p.body.waitSource, p.body.wait, true)
		explicit = true
	}
	for _, q := range p.sig.Quotas {
		if q.Exhausted() && !q.Reset.IsZero() && !(explicit && yieldsToExplicit(p.sig.Vendor, q.Source)) {
			d, ok := untilTime(q.Reset, p.rd.now)
			p.offer(q.Source, d, ok)
		}
	}
	p.offerHubSpotWindows()
	if p.body.githubSecondary && p.sig.Wait == 0 {
		p.offer("github-secondary-rate-limit", githubSecondaryWait, true)
	}
}

// yieldsToExplicit reports whether a reset header of the vendor yields to an
// explicit wait in the same response: a bucket's full-refill time rather
// than when a next request can pass (OpenAI's and Azure OpenAI's
// x-ratelimit-reset-{name} and x-rate-limit-reset-{name}, Anthropic's
// anthropic-ratelimit-{name}-reset), or Atlassian's X-RateLimit-Reset, which
// is Retry-After added to the request time, rounded to the minute.
func yieldsToExplicit(vendor, field string) bool {
	if vendor == VendorAtlassian && field == "x-ratelimit-reset" {
		return true
	}
	return strings.HasPrefix(field, "x-ratelimit-reset-") && field != "x-ratelimit-reset-after" ||
		strings.HasPrefix(field, "x-rate-limit-reset-") ||
		strings.HasPrefix(field, "anthropic-ratelimit-") && strings.HasSuffix(field, "-reset")
}

// offerHubSpotWindows offers the window of an exhausted HubSpot interval or
// secondly quota as the wait: the window rolls and the response does not
// say when it began, so the whole window is the wait that surely ends it.
func (p *parser) offerHubSpotWindows() {
	if p.sig.Vendor != VendorHubSpot {
		return
	}
	for _, q := range p.sig.Quotas {
		if q.Exhausted() && q.Reset.IsZero() && q.Window > 0 && (q.Name == "interval" || q.Name == "secondly") {
			p.offer(q.Source, q.Window, true)
		}
	}
}

// offer makes d, from source, the wait when it is valid and longer than the
// wait so far.
func (p *parser) offer(source string, d time.Duration, ok bool) {
	if ok && d > p.sig.Wait {
		p.sig.Wait, p.sig.WaitSource = d, source
	}
}
