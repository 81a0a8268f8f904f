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
