package httpcache

import (
	"net/http"
	"time"
)

// Options tunes a [Cache]. The zero value is a cache without heuristic
// freshness, keeping stale entries with a validator for an hour and bodies
// up to 1 MiB.
type Options struct {
	// Heuristic is the fraction of the time since Last-Modified that a
	// response without explicit freshness is fresh for (RFC 9111 4.2.2,
	// 0.1 is typical). 0 turns heuristic freshness off; values above 1
	// count as 1.
	Heuristic float64

	// MaxHeuristic caps a heuristic lifetime; 0 means 24 hours.
	MaxHeuristic time.Duration

	// KeepStale is how long past its freshness an entry with a validator
	// (ETag or Last-Modified) is kept for revalidation; 0 means 1 hour, a
	// negative value keeps none. Entries without a validator are kept only
	// while fresh.
	KeepStale time.Duration

	// MaxEntryBytes is the largest body stored; 0 means 1 MiB.
	MaxEntryBytes int64

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// withDefaults returns o with its zero values replaced by the defaults.
func (o Options) withDefaults() Options {
	o.Heuristic = min(max(o.Heuristic, 0), 1)
	if o.MaxHeuristic <= 0 {
		o.MaxHeuristic = 24 * time.Hour
	}
	switch {
	case o.KeepStale == 0:
		o.KeepStale = time.Hour
	case o.KeepStale < 0:
		o.KeepStale = 0
	}
	if o.MaxEntryBytes <= 0 {
		o.MaxEntryBytes = 1 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// FreshnessLifetime is the freshness lifetime of a response with status and
// header h for a private cache (RFC 9111 4.2.1): max-age if present (s-maxage
// is for shared caches), else Expires minus Date (an invalid Expires, such as
// "0", means already stale), else, when o.Heuristic > 0 and the status is
// heuristically cacheable or the response is public, o.Heuristic times the
// time from Last-Modified to Date, at most o.MaxHeuristic. Otherwise 0. A
// response without a valid Date is taken as dated o.Now(); [Cache.Store]
// adds a Date to every entry it stores.
func FreshnessLifetime(status int, h http.Header, o Options) time.Duration {
	d := ParseCacheControl(h["Cache-Control"])
	return freshnessLifetime(status, h, d, o)
}

// freshnessLifetime is FreshnessLifetime with the response's directives
// already parsed.
func freshnessLifetime(status int, h http.Header, d Directives, o Options) time.Duration {
	if d.HasMaxAge {
		return d.MaxAge
	}
	if _, ok := h["Expires"]; ok {
		expires, err := parseHTTPDate(h.Get("Expires"))
		if err != nil {
			return 0
		}
		return max(expires.Sub(dateOf(h, o)), 0)
	}
	if o.Heuristic <= 0 || !(heuristicallyCacheable(status) || d.Public) {
		return 0
	}
	modified, err := parseHTTPDate(h.Get("Last-Modified"))
	if err != nil {
		return 0
	}
	since := max(dateOf(h, o).Sub(modified), 0)
	maxHeuristic := o.MaxHeuristic
	if maxHeuristic <= 0 {
		maxHeuristic = 24 * time.Hour
	}
	return min(time.Duration(float64(since)*min(o.Heuristic, 1)), maxHeuristic)
}

// dateOf is h's Date, or o's now when it has none.
func dateOf(h http.Header, o Options) time.Time {
	if t, err := parseHTTPDate(h.Get("Date")); err == nil {
		return t
	}
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// heuristicallyCacheable reports the status codes RFC 9110 15.1 defines as
// heuristically cacheable.
func heuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// CurrentAge is e's age at now, computed exactly as RFC 9111 4.2.3 does:
//
//	apparent_age = max(0, response_time - date_value)
//	response_delay = response_time - request_time
//	corrected_age_value = age_value + response_delay
//	corrected_initial_age = max(apparent_age, corrected_age_value)
//	resident_time = now - response_time
//	current_age = corrected_initial_age + resident_time
//
// age_value is the Age field (0 when absent or invalid) and date_value the
// Date field (response_time when absent or invalid).
func CurrentAge(e *Entry, now time.Time) time.Duration {
	if e.facts.ready {
		return e.facts.initialAge + now.Sub(e.ResponseTime)
	}
	return initialAge(e) + now.Sub(e.ResponseTime)
}

// initialAge is RFC 9111 4.2.3's corrected_initial_age of e.
func initialAge(e *Entry) time.Duration {
	date := e.ResponseTime
	if t, err := parseHTTPDate(e.Header.Get("Date")); err == nil {
		date = t
	}
	apparentAge := max(e.ResponseTime.Sub(date), 0)
	ageValue, _ := parseDelta(e.Header.Get("Age"))
	responseDelay := max(e.ResponseTime.Sub(e.RequestTime), 0)
	return max(apparentAge, ageValue+responseDelay)
}
