package quota

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
)

// Meta's (Facebook's) Graph API reports usage as percentages of a limit in
// JSON header values: X-App-Usage and X-Page-Usage
// {"call_count":28,"total_time":25,"total_cputime":25}, and
// X-Business-Use-Case-Usage, per business object id a list of
// {"type":"pages","call_count":100,...,"estimated_time_to_regain_access":19}
// with the time in minutes.

// maxMetaHeader bounds the JSON Parse decodes from one Meta header.
const maxMetaHeader = 8 << 10

// maxMetaEntries bounds how many business use cases one response yields.
const maxMetaEntries = 8

// metaUsage is one usage object: percentages, absent when nil.
type metaUsage struct {
	Type          string   `json:"type"`
	CallCount     *float64 `json:"call_count"`
	TotalTime     *float64 `json:"total_time"`
	TotalCPUTime  *float64 `json:"total_cputime"`
	RegainMinutes *float64 `json:"estimated_time_to_regain_access"`
}

// metaBUCEntry is one business use case of X-Business-Use-Case-Usage.
type metaBUCEntry struct {
	id string
	metaUsage
}

// parseMetaUsage decodes an X-App-Usage or X-Page-Usage value.
func parseMetaUsage(v string) (metaUsage, bool) {
	var u metaUsage
	if len(v) > maxMetaHeader || json.Unmarshal([]byte(v), &u) != nil {
		return metaUsage{}, false
	}
	return u, true
}

// parseMetaBUC decodes an X-Business-Use-Case-Usage value into at most
// maxMetaEntries entries, in id order, then list order.
func parseMetaBUC(v string) ([]metaBUCEntry, bool) {
	var byID map[string][]metaUsage
	if len(v) > maxMetaHeader || json.Unmarshal([]byte(v), &byID) != nil {
		return nil, false
	}
	var out []metaBUCEntry
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range byID {
			if !yield(id) {
				return
			}
		}
	}) {
		for _, u := range byID[id] {
			if len(out) == maxMetaEntries {
				return out, true
			}
			out = append(out, metaBUCEntry{id: id, metaUsage: u})
		}
	}
	return out, true
}

// readMeta reads Meta's usage headers into percent quotas named
// "{app,page}/{metric}" and "{id}/{type}/{metric}", with the time to regain
// access as their reset and as a wait.
func (p *parser) readMeta() {
	for _, h := range [...]struct{ field, v, prefix string }{
		{"x-app-usage", p.hs.appUsage, "app"},
		{"x-page-usage", p.hs.pageUsage, "page"},
	} {
		if h.v == "" {
			continue
		}
		u, ok := parseMetaUsage(h.v)
		if !ok {
			p.rd.warn(h.field, h.v, "not a JSON usage object")
			continue
		}
		p.metaQuotas(h.field, h.prefix, u, time.Time{})
	}
	if p.hs.bucUsage != "" {
		p.readMetaBUC()
	}
}

// readMetaBUC reads X-Business-Use-Case-Usage.
func (p *parser) readMetaBUC() {
	const field = "x-business-use-case-usage"
	entries, ok := parseMetaBUC(p.hs.bucUsage)
	if !ok {
		p.rd.warn(field, p.hs.bucUsage, "not a JSON object of business use case lists")
		return
	}
	for _, e := range entries {
		var reset time.Time
		if m := e.RegainMinutes; m != nil && *m > 0 {
			d, ok := seconds(*m * 60)
			if !ok {
				p.rd.warn(field, p.hs.bucUsage, probBeyondYear)
				d = MaxPlausibleWait
			}
			reset = p.rd.now.Add(d)
			if d > p.metaWait {
				p.metaWait, p.metaWaitSource = d, field
			}
		}
		name := e.id + "/" + firstNonEmpty(e.Type, "usage")
		p.metaQuotas(field, name, e.metaUsage, reset)
	}
}

// metaQuotas adds the percent quotas of one usage object.
func (p *parser) metaQuotas(field, prefix string, u metaUsage, reset time.Time) {
	for _, m := range [...]struct {
		name string
		pct  *float64
	}{{"call_count", u.CallCount}, {"total_time", u.TotalTime}, {"total_cputime", u.TotalCPUTime}} {
		if m.pct == nil {
			continue
		}
		pct := *m.pct
		if pct < 0 || math.IsNaN(pct) || pct > 1e6 {
			p.rd.warn(field, strings.TrimSpace(prefix+" "+m.name), "not a percentage")
			continue
		}
		q := p.quota(prefix+"/"+m.name, "percent", field)
		q.Limit, q.HasLimit = 100, true
		q.Remaining, q.HasRemaining = max(100-pct, 0), true
		q.Reset = reset
	}
}
