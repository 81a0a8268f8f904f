package quota

import "strings"

// readZendesk reads a per-endpoint zendesk-ratelimit-{name} header:
// "total=100; remaining=99; resets=41", resets in delta seconds.
func (p *parser) readZendesk(f namedField) {
	field := familyHeader(f)
	var c counts
	var reset string
	for item := range strings.SplitSeq(f.value(), ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			if item != "" {
				p.rd.warn(field, item, `not "key=value"`)
			}
			continue
		}
		switch strings.TrimSpace(k) {
		case "total":
			c.limit, c.hasLimit = p.rd.count(field, v)
		case "remaining":
			c.remaining, c.hasRemaining = p.rd.count(field, v)
		case "resets":
			reset = v
		}
	}
	if !c.hasLimit && !c.hasRemaining && reset == "" {
		return
	}
	q := p.quota(f.name, "requests", field)
	c.fill(q)
	q.setReset(p.rd.reset(field, reset, resetDeltaSeconds), field)
}
