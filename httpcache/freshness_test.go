package httpcache

import (
	"net/http"
	"testing"
	"time"
)

// t0 is the fake clock's start, the Date of RFC 9110's example.
var t0 = time.Date(1994, time.November, 15, 8, 12, 31, 0, time.UTC)

// header builds an http.Header from name, value pairs.
func header(kv ...string) http.Header {
	h := make(http.Header)
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

func TestFreshnessLifetime(t *testing.T) {
	t.Parallel()
	date := httpDate(t0)
	heuristic := Options{Heuristic: 0.1, Now: func() time.Time { return t0 }}
	tests := []struct {
		name   string
		status int
		h      http.Header
		o      Options
		want   time.Duration
	}{
		{"MaxAge", 200, header("Cache-Control", "max-age=60", "Date", date), Options{}, time.Minute},
		{"MaxAgeBeatsExpires", 200, header("Cache-Control", "max-age=60", "Date", date, "Expires", httpDate(t0.Add(time.Hour))), Options{}, time.Minute},
		{"SMaxAgeIgnored", 200, header("Cache-Control", "s-maxage=600", "Date", date), Options{}, 0},
		{"InvalidMaxAgeStale", 200, header("Cache-Control", "max-age=soon", "Expires", httpDate(t0.Add(time.Hour)), "Date", date), Options{}, 0},
		{"ExpiresMinusDate", 200, header("Date", date, "Expires", httpDate(t0.Add(90*time.Second))), Options{}, 90 * time.Second},
		// RFC 9111 5.3's example against RFC 9110 6.6.1's Date: 16 days, 7 h, 47 min, 29 s.
		{"RFCExpiresExample", 200, header("Date", "Tue, 15 Nov 1994 08:12:31 GMT", "Expires", "Thu, 01 Dec 1994 16:00:00 GMT"), Options{},
			16*24*time.Hour + 7*time.Hour + 47*time.Minute + 29*time.Second},
		{"ExpiresInPast", 200, header("Date", date, "Expires", httpDate(t0.Add(-time.Hour))), Options{}, 0},
		{"InvalidExpiresStale", 200, header("Date", date, "Expires", "0", "Last-Modified", httpDate(t0.Add(-100*time.Hour))), heuristic, 0},
		{"ExpiresWithoutDateUsesNow", 200, header("Expires", httpDate(t0.Add(time.Minute))), Options{Now: func() time.Time { return t0 }}, time.Minute},
		{"HeuristicOff", 200, header("Date", date, "Last-Modified", httpDate(t0.Add(-100*time.Hour))), Options{}, 0},
		{"HeuristicTenPercent", 200, header("Date", date, "Last-Modified", httpDate(t0.Add(-10*time.Hour))), heuristic, time.Hour},
		{"HeuristicCapped", 200, header("Date", date, "Last-Modified", httpDate(t0.Add(-1000*time.Hour))), heuristic, 24 * time.Hour},
		{"HeuristicOwnCap", 200, header("Date", date, "Last-Modified", httpDate(t0.Add(-1000*time.Hour))),
			Options{Heuristic: 0.1, MaxHeuristic: time.Hour}, time.Hour},
		{"HeuristicNeedsLastModified", 200, header("Date", date), heuristic, 0},
		{"HeuristicStatus404", 404, header("Date", date, "Last-Modified", httpDate(t0.Add(-10*time.Hour))), heuristic, time.Hour},
		{"HeuristicNotFor302", 302, header("Date", date, "Last-Modified", httpDate(t0.Add(-10*time.Hour))), heuristic, 0},
		{"HeuristicPublic302", 302, header("Cache-Control", "public", "Date", date, "Last-Modified", httpDate(t0.Add(-10*time.Hour))), heuristic, time.Hour},
		{"LastModifiedInFuture", 200, header("Date", date, "Last-Modified", httpDate(t0.Add(time.Hour))), heuristic, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FreshnessLifetime(tt.status, tt.h, tt.o); got != tt.want {
				t.Errorf("FreshnessLifetime = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCurrentAge follows RFC 9111 4.2.3's formulas step by step.
func TestCurrentAge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		date, age    string
		requestTime  time.Time
		responseTime time.Time
		now          time.Time
		want         time.Duration
	}{
		// apparent_age 0, corrected_age_value 10 + 0, resident 50: 60.
		{name: "AgeValue", date: httpDate(t0), age: "10", requestTime: t0, responseTime: t0, now: t0.Add(50 * time.Second), want: 60 * time.Second},
		// apparent_age = response_time - date_value = 30 beats corrected_age_value 5 + 2.
		{name: "ApparentAgeWins", date: httpDate(t0), age: "5", requestTime: t0.Add(28 * time.Second), responseTime: t0.Add(30 * time.Second),
			now: t0.Add(30 * time.Second), want: 30 * time.Second},
		// response_delay 4 s added to age_value 20: corrected 24 beats apparent 4; resident 6.
		{name: "ResponseDelay", date: httpDate(t0), age: "20", requestTime: t0, responseTime: t0.Add(4 * time.Second),
			now: t0.Add(10 * time.Second), want: 30 * time.Second},
		// A Date after response_time (a fast origin clock): apparent_age is 0.
		{name: "DateInFuture", date: httpDate(t0.Add(time.Hour)), requestTime: t0, responseTime: t0, now: t0.Add(time.Second), want: time.Second},
		{name: "NoDateNoAge", requestTime: t0, responseTime: t0, now: t0.Add(7 * time.Second), want: 7 * time.Second},
		{name: "InvalidAgeIgnored", date: httpDate(t0), age: "ten", requestTime: t0, responseTime: t0, now: t0, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &Entry{Header: make(http.Header), RequestTime: tt.requestTime, ResponseTime: tt.responseTime}
			if tt.date != "" {
				e.Header.Set("Date", tt.date)
			}
			if tt.age != "" {
				e.Header.Set("Age", tt.age)
			}
			if got := CurrentAge(e, tt.now); got != tt.want {
				t.Errorf("CurrentAge = %v, want %v", got, tt.want)
			}
		})
	}
}
