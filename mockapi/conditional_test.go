package mockapi

import (
	"net/http"
	"testing"
	"time"
)

func TestNotModified(t *testing.T) {
	t.Parallel()
	modified := t0.Add(-time.Hour)
	date := func(t time.Time) string { return t.Format(http.TimeFormat) }
	tests := []struct {
		name     string
		header   map[string]string
		etag     string
		modified time.Time
		want     bool
	}{
		{"NoConditions", nil, `"a"`, modified, false},
		{"ETagMatches", map[string]string{"If-None-Match": `"a"`}, `"a"`, modified, true},
		{"ETagDiffers", map[string]string{"If-None-Match": `"b"`}, `"a"`, modified, false},
		{"WeakAskStrongHas", map[string]string{"If-None-Match": `W/"a"`}, `"a"`, modified, true},
		{"StrongAskWeakHas", map[string]string{"If-None-Match": `"a"`}, `W/"a"`, modified, true},
		{"ListMatches", map[string]string{"If-None-Match": `"x", W/"y" ,"a"`}, `"a"`, modified, true},
		{"ListDiffers", map[string]string{"If-None-Match": `"x", "y"`}, `"a"`, modified, false},
		{"CommaInsideTag", map[string]string{"If-None-Match": `"a,b"`}, `"a,b"`, modified, true},
		{"Star", map[string]string{"If-None-Match": `*`}, `"a"`, modified, true},
		{"StarWithoutETag", map[string]string{"If-None-Match": `*`}, "", modified, true},
		{"NoETagNeverMatches", map[string]string{"If-None-Match": `"a"`}, "", modified, false},
		{"Malformed", map[string]string{"If-None-Match": `a`}, `"a"`, modified, false},
		{"UnterminatedAfterMiss", map[string]string{"If-None-Match": `"x", "a`}, `"a"`, modified, false},
		{"SinceModified", map[string]string{"If-Modified-Since": date(modified)}, `"a"`, modified, true},
		{"SinceLater", map[string]string{"If-Modified-Since": date(modified.Add(time.Minute))}, `"a"`, modified, true},
		{"SinceEarlier", map[string]string{"If-Modified-Since": date(modified.Add(-time.Second))}, `"a"`, modified, false},
		{"SinceWholeSeconds", map[string]string{"If-Modified-Since": date(modified)}, "", modified.Add(500 * time.Millisecond), true},
		{"SinceMalformed", map[string]string{"If-Modified-Since": "yesterday"}, `"a"`, modified, false},
		{"SinceWithoutLastModified", map[string]string{"If-Modified-Since": date(modified)}, `"a"`, time.Time{}, false},
		{"NoneMatchDecidesAlone", map[string]string{"If-None-Match": `"b"`, "If-Modified-Since": date(modified)}, `"a"`, modified, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := notModified(h, tt.etag, tt.modified); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRefund(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		limit Limit
		want  int // remaining after take, take, refund
	}{
		{"Fixed", Limit{Algorithm: AlgorithmFixed, Requests: 3, Per: time.Minute}, 2},
		{"Sliding", Limit{Algorithm: AlgorithmSliding, Requests: 3, Per: time.Minute}, 2},
		{"Token", Limit{Algorithm: AlgorithmToken, Requests: 3, Per: time.Minute, Burst: 3}, 2},
		{"Concurrency", Limit{Algorithm: AlgorithmConcurrency, Concurrency: 3}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLimiter(tt.limit)
			l.take(t0)
			l.take(t0)
			if d := l.refund(t0); d.remaining != tt.want || !d.allowed {
				t.Errorf("got remaining %d allowed %v after a refund, want %d true", d.remaining, d.allowed, tt.want)
			}
			if d := l.take(t0); d.remaining != tt.want-1 {
				t.Errorf("got remaining %d at the next take, want %d", d.remaining, tt.want-1)
			}
		})
	}
}
