package quota

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// headerBlob turns "Name: value" lines into a header, as a fuzzer can write
// them.
func headerBlob(blob string) http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(blob, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			h[k] = append(h[k], strings.TrimSpace(v))
		}
	}
	return h
}

// FuzzParse feeds Parse arbitrary statuses, headers, bodies, hosts and
// times. It must never panic, and what it returns must hold the Signal's
// invariants and not depend on the order of the header map.
func FuzzParse(f *testing.F) {
	f.Add(429, "Retry-After: 42\nX-RateLimit-Remaining: 0\nX-RateLimit-Reset: 1795348842", []byte(`{"message":"API rate limit exceeded"}`), "api.github.com", int64(1795348800))
	f.Add(200, "RateLimit-Policy: \"burst\";q=100;w=60\nRateLimit: \"burst\";r=0;t=30", []byte(nil), "", int64(0))
	f.Add(200, "x-ratelimit-remaining-tokens: 0\nx-ratelimit-reset-tokens: 1m30.5s", []byte(nil), "api.openai.com", int64(1795348800))
	f.Add(200, "", []byte(`{"extensions":{"cost":{"requestedQueryCost":50,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":0,"restoreRate":50.0}}},"errors":[{"extensions":{"code":"THROTTLED"}}]}`), "", int64(1))
	f.Add(400, "X-RateLimit-Requests-Remaining: 0\nX-RateLimit-Requests-Reset: 1795348830000\nX-RateLimit-Complexity-Limit: 250000", []byte(`{"errors":[{"message":"Rate limit exceeded","extensions":{"code":"RATELIMITED"}}]}`), "api.linear.app", int64(1795348800))
	f.Add(200, "x-rate-limit: 700\nx-rate-limit-remaining: 699\nratelimit-reset: 41\nzendesk-ratelimit-tickets-index: total=100; remaining=0; resets=41", []byte(nil), "", int64(1795348800))
	f.Add(429, "Retry-After: 5\nBeta-RateLimit-Policy: \"global-app-quota\";q=65000;w=3600\nBeta-RateLimit: \"global-app-quota\";r=0;t=600\nRateLimit-Reason: jira-burst-based\nX-RateLimit-Remaining: 0\nX-RateLimit-Reset: 2026-11-22T12:01Z", []byte(nil), "acme.atlassian.net", int64(1795348800))
	f.Add(429, "retry-after: 3\nx-rate-limit-remaining-tokens: 0\nx-rate-limit-reset-tokens: 9", []byte(nil), "contoso.openai.azure.com", int64(1795348800))
	f.Add(200, "X-HubSpot-RateLimit-Interval-Milliseconds: 10000\nX-HubSpot-RateLimit-Remaining: 0", []byte(nil), "", int64(1))
	f.Add(429, "X-RateLimit-Requests-Remaining: 0\nX-RateLimit-Requests-Reset: 2592000\nX-RapidAPI-Version: 1", []byte(nil), "", int64(1795348800))
	f.Add(200, "X-RateLimit-Remaining: 0\nX-RateLimit-Reset: Sun Nov 22 2026 13:00:02 GMT+0100 (Central European Standard Time)", []byte(nil), "", int64(1795348800))
	f.Add(400, "X-App-Usage: {\"call_count\":100}\nX-Business-Use-Case-Usage: {\"1\":[{\"type\":\"pages\",\"call_count\":98,\"estimated_time_to_regain_access\":19}]}", []byte(`{"error":{"code":80001,"fbtrace_id":"x"}}`), "graph.facebook.com", int64(1795348800))
	f.Add(429, "Stripe-Should-Retry: false", []byte(`{"error":{"code":"rate_limit"}}`), "api.stripe.com", int64(1))
	f.Add(429, "Retry-After: 120, 30\nRetry-After: Sun, 22 Nov 2026 04:00:30 -0800", []byte(nil), "", int64(1795348800))
	f.Fuzz(func(t *testing.T, status int, blob string, body []byte, host string, unix int64) {
		r := Response{Status: status, Header: headerBlob(blob), Body: body, Host: host}
		now := time.Unix(unix%(1<<40), 0)
		s := Parse(r, now)
		checkInvariants(t, r, s)
		if again := Parse(r, now); !reflect.DeepEqual(again, s) {
			t.Fatalf("Parse is not deterministic:\n%+v\n%+v", s, again)
		}
	})
}

// FuzzDates feeds the date readers arbitrary text: they must not panic, and
// a time they accept must be a real one (no zero time, within years 0-9999).
func FuzzDates(f *testing.F) {
	for _, s := range []string{
		"Sun Nov 22 2026 13:00:02 GMT+0100 (Central European Standard Time)",
		"Tue Feb 16 2021 09:02:42 GMT-0500",
		"Sun, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 +0000",
		"6 Nov 1994 08:49:37 -0800 (PST)",
		"Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994",
		"2026-03-26T16:00Z",
		"2026-03-26T17:00+01:00",
		"((((", ")", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, parse := range map[string]func(string) (time.Time, bool){
			"parseHTTPDate": parseHTTPDate, "parseJSDate": parseJSDate, "parseISOMinutes": parseISOMinutes,
		} {
			tm, ok := parse(s)
			if ok && (tm.IsZero() || tm.Year() < 0 || tm.Year() > 9999) {
				t.Errorf("%s(%q) = %v, want a real time or false", name, s, tm)
			}
		}
		r := reader{now: time.Unix(1795348800, 0)}
		if d, ok := r.retryAfter("retry-after", s); ok && (d < 0 || d > MaxPlausibleWait) {
			t.Errorf("retryAfter(%q) = %v, want within [0, MaxPlausibleWait]", s, d)
		}
		if w := r.reset("x-ratelimit-reset", s, resetBySize); w.ok && w.at.Sub(r.now) > MaxPlausibleWait {
			t.Errorf("reset(%q) = %v, want at most MaxPlausibleWait ahead", s, w.at)
		}
	})
}

// FuzzMetaUsage feeds Meta's usage readers arbitrary header values: no
// panic, at most maxMetaEntries business use cases, and quotas that hold
// the invariants.
func FuzzMetaUsage(f *testing.F) {
	f.Add(`{"call_count":28,"total_time":25,"total_cputime":25}`)
	f.Add(`{"112233":[{"type":"ads_management","call_count":98,"total_cputime":20,"total_time":100,"estimated_time_to_regain_access":19}]}`)
	f.Add(`{"1":[{"estimated_time_to_regain_access":1e308}],"2":[{"call_count":-5}]}`)
	f.Add(`{"call_count":`)
	f.Fuzz(func(t *testing.T, v string) {
		parseMetaUsage(v)
		if es, ok := parseMetaBUC(v); ok && len(es) > maxMetaEntries {
			t.Errorf("parseMetaBUC: got %d entries, want at most %d", len(es), maxMetaEntries)
		}
		r := Response{Status: 400, Header: http.Header{"X-App-Usage": {v}, "X-Business-Use-Case-Usage": {v}}}
		checkInvariants(t, r, Parse(r, time.Unix(1795348800, 0)))
	})
}
