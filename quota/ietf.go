package quota

import (
	"strconv"
	"strings"
	"time"
)

// sfMember is one member of a Structured Field list or dictionary (RFC
// 9651), read leniently: item is the bare item (a token, number or string,
// unquoted) or, for a dictionary member "key=value", the key with value
// holding the value; params holds the ";key=value" parameters unparsed.
type sfMember struct {
	item, value, params string
}

// param returns the value of the parameter key, unquoted.
func (m sfMember) param(key string) (string, bool) {
	for p := range strings.SplitSeq(m.params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.TrimSpace(k) == key {
			return unquote(strings.TrimSpace(v)), true
		}
	}
	return "", false
}

// sfMembers splits a field value into members. It does not validate the
// syntax: quoted strings may hold commas and semicolons; the rest is taken
// as it comes, and members that make no sense are skipped by the callers.
func sfMembers(v string, yield func(sfMember)) {
	for v != "" {
		end := memberEnd(v)
		yield(splitMember(strings.TrimSpace(v[:end])))
		if end == len(v) {
			return
		}
		v = v[end+1:]
	}
}

// memberEnd returns the index of the comma that ends the first member of v,
// skipping quoted strings, or len(v).
func memberEnd(v string) int {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return i
		}
	}
	return len(v)
}

// splitMember splits "item;params" or "key=value;params".
func splitMember(m string) sfMember {
	var out sfMember
	head := m
	if i := paramStart(m); i >= 0 {
		head, out.params = m[:i], m[i+1:]
	}
	key, value, isDict := strings.Cut(head, "=")
	if isDict && !strings.HasPrefix(head, `"`) {
		out.item, out.value = strings.TrimSpace(key), unquote(strings.TrimSpace(value))
		return out
	}
	out.item = unquote(strings.TrimSpace(head))
	return out
}

// paramStart returns the index of the first ';' outside a quoted string.
func paramStart(m string) int {
	quoted := false
	for i := 0; i < len(m); i++ {
		switch m[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

// unquote removes the quotes of an sf-string; escapes are kept as found
// (policy names with escapes are vanishingly rare).
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// readRateLimitFields reads RateLimit-Limit/-Remaining/-Reset: the IETF
// drafts up to -06 (reset in delta seconds, limit possibly a policy list such
// as "10, 10;w=1, 1000;w=3600") and GitLab's (reset in epoch seconds, with
// RateLimit-Observed, RateLimit-ResetTime and RateLimit-Name).
func (p *parser) readRateLimitFields() {
	hs := &p.hs
	if hs.rlLimit == "" && hs.rlRemaining == "" && hs.rlReset == "" && hs.rlResetTime == "" {
		return
	}
	var c counts
	var window time.Duration
	c.limit, c.hasLimit, window = p.readLimitList()
	c.remaining, c.hasRemaining = p.rd.count("ratelimit-remaining", hs.rlRemaining)
	c.used, c.hasUsed = p.rd.count("ratelimit-observed", hs.rlObserved)
	q := p.quota(firstNonEmpty(hs.rlName, "requests"), "requests", "ratelimit-remaining")
	c.fill(q)
	q.Window = window
	if hs.rlReset != "" {
		q.setReset(p.rd.reset("ratelimit-reset", hs.rlReset, resetModeOf(p.sig.Vendor)), "ratelimit-reset")
	} else {
		q.setReset(p.rd.reset("ratelimit-resettime", hs.rlResetTime, resetBySize), "ratelimit-resettime")
	}
}

// readLimitList reads RateLimit-Limit: the first member is the limit in
// force; members with a w parameter are policies. The policy matching the
// first member gives its window; every other policy becomes a quota named
// "requests/<w>s".
func (p *parser) readLimitList() (limit float64, ok bool, window time.Duration) {
	const field = "ratelimit-limit"
	first := true
	sfMembers(p.hs.rlLimit, func(m sfMember) {
		n, isNum := parseNumber(m.item)
		if !isNum || n < 0 {
			p.rd.warn(field, m.item, probNotNumber)
			return
		}
		w, hasW := p.policyWindow(field, m)
		switch {
		case first:
			limit, ok, window, first = n, true, w, false
		case n == limit && window == 0 && hasW:
			window = w
		case hasW && !(n == limit && w == window):
			q := p.quota("requests/"+strconv.FormatInt(int64(w/time.Second), 10)+"s", "requests", field)
			q.Limit, q.HasLimit, q.Window = n, true, w
		}
	})
	return limit, ok, window
}

// policyWindow reads a member's w parameter (seconds), or the "window"
// of the early drafts.
func (p *parser) policyWindow(field string, m sfMember) (time.Duration, bool) {
	v, ok := m.param("w")
	if !ok {
		if v, ok = m.param("window"); !ok {
			return 0, false
		}
	}
	n, ok := parseNumber(v)
	if !ok || n <= 0 {
		p.rd.warn(field, v, "window not a positive number")
		return 0, false
	}
	d, ok := seconds(n)
	if !ok {
		p.rd.warn(field, v, probImplausible)
	}
	return d, ok
}

// readStructured reads the structured RateLimit and RateLimit-Policy fields
// of the IETF drafts from -07 on: draft -07's dictionary
// ("limit=100, remaining=50, reset=5" with policies "100;w=60"), and the
// named policies of -08 and later ("burst";q=100;w=60 with "burst";r=0;t=30).
//
// Atlassian sends the same syntax as Beta-RateLimit-Policy and
// Beta-RateLimit.
func (p *parser) readStructured() {
	p.readStructuredPair("ratelimit-policy", p.hs.rateLimitPolicy, "ratelimit", p.hs.rateLimit)
	p.readStructuredPair("beta-ratelimit-policy", p.hs.betaPolicy, "beta-ratelimit", p.hs.betaRateLimit)
}

// readStructuredPair reads one RateLimit-Policy field and its RateLimit
// field, named policyField and field.
func (p *parser) readStructuredPair(policyField string, policies []string, field string, limits []string) {
	for _, v := range policies {
		sfMembers(v, func(m sfMember) { p.readPolicy(policyField, m) })
	}
	for _, v := range limits {
		sfMembers(v, func(m sfMember) { p.readRateLimitMember(field, m) })
	}
}

// readPolicy reads one RateLimit-Policy member.
func (p *parser) readPolicy(field string, m sfMember) {
	if m.item == "" || m.value != "" {
		p.rd.warn(field, m.item, "not a policy")
		return
	}
	w, _ := p.policyWindow(field, m)
	if n, isNum := parseNumber(m.item); isNum { // draft -07: "100;w=60"
		q := p.quota("requests", "requests", field)
		if !q.HasLimit || q.Limit == n {
			q.Limit, q.HasLimit, q.Window = n, true, w
		}
		return
	}
	unit, _ := m.param("qu")
	q := p.quota(m.item, firstNonEmpty(unit, "requests"), field)
	q.Window = w
	v, ok := m.param("q")
	if !ok {
		v, ok = m.param("l") // draft -08 called the quota l
	}
	if ok {
		q.Limit, q.HasLimit = p.rd.count(field, v)
	}
}

// readRateLimitMember reads one RateLimit member: draft -07's limit,
// remaining and reset keys, or a named policy's r and t parameters.
func (p *parser) readRateLimitMember(field string, m sfMember) {
	switch m.item {
	case "limit", "remaining", "reset":
		q := p.quota("requests", "requests", field)
		p.readDictMember(field, q, m)
		return
	case "":
		return
	}
	q := p.quota(m.item, "requests", field)
	if v, ok := m.param("r"); ok {
		q.Remaining, q.HasRemaining = p.rd.count(field, v)
	}
	if v, ok := m.param("t"); ok {
		q.setReset(p.rd.reset(field, v, resetDeltaSeconds), field)
	}
}

// readDictMember reads draft -07's "limit=", "remaining=" or "reset=".
func (p *parser) readDictMember(field string, q *Quota, m sfMember) {
	switch m.item {
	case "limit":
		q.Limit, q.HasLimit = p.rd.count(field, m.value)
	case "remaining":
		q.Remaining, q.HasRemaining = p.rd.count(field, m.value)
	case "reset":
		q.setReset(p.rd.reset(field, m.value, resetDeltaSeconds), field)
	}
}
