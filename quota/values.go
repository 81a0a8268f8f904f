package quota

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Problems reported in Warnings.
const (
	probNotNumber   = "not a number"
	probNegative    = "negative"
	probImplausible = "not a plausible time; ignored"
	probBeyondYear  = "longer than a year; reported as a year, for the caller's cap"
	probNotWhen     = "not a number, duration, RFC 3339 time, HTTP-date or JavaScript date"
	probNotDuration = "not a duration"
	probPastEpoch   = "epoch more than a day in the past; ignored"
)

// parseNumber reads a plain decimal number: optional sign, digits, an
// optional fraction. It refuses exponents, hex, NaN and infinities, which
// strconv.ParseFloat would accept.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.', (c == '-' || c == '+') && i == 0:
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 30 {
		return 0, false
	}
	if digits == len(s) && digits <= 15 { // a whole number, exact in a float64: most of them
		var n int64
		for i := 0; i < len(s); i++ {
			n = n*10 + int64(s[i]-'0')
		}
		return float64(n), true
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// seconds converts a non-negative number of seconds to a Duration, or
// reports that it is beyond MaxPlausibleWait.
func seconds(s float64) (time.Duration, bool) {
	if s < 0 || s > MaxPlausibleWait.Seconds() || math.IsNaN(s) {
		return 0, false
	}
	return time.Duration(math.Round(s * float64(time.Second))), true
}

// untilTime returns t - now, floored at 0, or false when t is beyond
// MaxPlausibleWait from now.
func untilTime(t, now time.Time) (time.Duration, bool) {
	d := t.Sub(now)
	if d > MaxPlausibleWait {
		return 0, false
	}
	return max(d, 0), true
}

// resetMode is how a vendor's numeric reset is to be read.
type resetMode uint8

const (
	resetBySize       resetMode = iota // ≥1e12 epoch ms, ≥1e9 epoch s, else delta s
	resetEpochSeconds                  // GitHub, Twitter/X, GitLab, SendGrid, Discord
	resetDeltaSeconds                  // Reddit, the IETF drafts
)

// when is a point in time read from a field, as the time it names.
type when struct {
	at time.Time
	ok bool
}

// reader turns field values into numbers and times, recording warnings.
type reader struct {
	now      time.Time
	warnings []Warning
}

// warn records a problem with a field's value.
func (r *reader) warn(field, value, problem string) {
	if len(value) > 64 {
		value = value[:64]
	}
	r.warnings = append(r.warnings, Warning{Field: field, Value: value, Problem: problem})
}

// count reads a quota count (limit, remaining, used). Negative counts are
// read as 0 with a warning.
func (r *reader) count(field, v string) (float64, bool) {
	if v == "" {
		return 0, false
	}
	f, ok := parseNumber(v)
	if !ok {
		r.warn(field, v, probNotNumber)
		return 0, false
	}
	if f < 0 {
		r.warn(field, v, probNegative)
		return 0, true
	}
	return f, true
}

// delay reads a number of seconds (or of unit) to wait, e.g. Retry-After's
// delta-seconds or Discord's reset-after.
func (r *reader) delay(field, v string, unit time.Duration) (time.Duration, bool) {
	f, ok := parseNumber(v)
	if !ok {
		r.warn(field, v, probNotNumber)
		return 0, false
	}
	if f < 0 {
		r.warn(field, v, probNegative)
		return 0, false
	}
	d, ok := seconds(f * unit.Seconds())
	if !ok {
		r.warn(field, v, probBeyondYear)
		return MaxPlausibleWait, true
	}
	return d, true
}

// retryAfter reads a Retry-After value: delta-seconds (decimals accepted)
// or an HTTP-date in any of RFC 9110's three forms (or with a numeric zone);
// a past date means 0. A list ("120, 120": the field repeated, or joined by
// an intermediary, RFC 9110 §5.3) is read member by member; members that
// differ are warned and the longest is read.
func (r *reader) retryAfter(field, v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if _, ok := parseNumber(v); ok {
		return r.delay(field, v, time.Second)
	}
	if d, ok := r.retryAfterItem(field, v); ok {
		return d, true
	}
	items := retryAfterItems(v)
	if len(items) < 2 {
		r.warn(field, v, "not delta-seconds or an HTTP-date")
		return 0, false
	}
	var longest time.Duration
	for i, item := range items {
		d, ok := r.retryAfterItem(field, item)
		if !ok {
			r.warn(field, v, "a list with a member that is not delta-seconds or an HTTP-date")
			return 0, false
		}
		if i > 0 && d != longest {
			r.warn(field, v, "a list of differing values; the longest is read")
		}
		longest = max(longest, d)
	}
	return longest, true
}

// maxListItems bounds how many members of a Retry-After list are read.
const maxListItems = 8

// retryAfterItems splits a Retry-After list at its commas, keeping the comma
// after the day name of an HTTP-date ("Fri, 31 Dec 1999 23:59:59 GMT").
func retryAfterItems(v string) []string {
	var items []string
	parts := strings.SplitN(v, ",", 2*maxListItems+1)
	for i := 0; i < len(parts) && len(items) < maxListItems; i++ {
		item := strings.TrimSpace(parts[i])
		if isDayName(item) && i+1 < len(parts) {
			item += "," + parts[i+1]
			i++
		}
		items = append(items, strings.TrimSpace(item))
	}
	return items
}

// isDayName reports whether s is a day name, short or long ("Fri", "Friday").
func isDayName(s string) bool {
	for _, d := range [...]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} {
		if strings.HasPrefix(s, d) && (len(s) == 3 || strings.HasSuffix(s, "day") && len(s) <= 9) {
			return true
		}
	}
	return false
}

// retryAfterItem reads one delta-seconds or HTTP-date; a value that is
// neither is not warned (the caller says what it was).
func (r *reader) retryAfterItem(field, v string) (time.Duration, bool) {
	if _, ok := parseNumber(v); ok {
		return r.delay(field, v, time.Second)
	}
	t, ok := parseHTTPDate(v)
	if !ok {
		return 0, false
	}
	d, ok := untilTime(t, r.now)
	if !ok {
		r.warn(field, v, probBeyondYear)
		return MaxPlausibleWait, true
	}
	return d, true
}

// reset reads a quota's reset: a number read by mode, a duration string
// ("6m0s"), an RFC 3339 time or an HTTP-date.
func (r *reader) reset(field, v string, mode resetMode) when {
	v = strings.TrimSpace(v)
	if v == "" {
		return when{}
	}
	if f, ok := parseNumber(v); ok {
		return r.numericReset(field, v, f, mode)
	}
	if d, ok := parseDuration(v); ok {
		return r.after(field, v, d)
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return r.at(field, v, t)
	}
	if t, ok := parseHTTPDate(v); ok {
		return r.at(field, v, t)
	}
	if t, ok := parseISOMinutes(v); ok {
		return r.at(field, v, t)
	}
	if t, ok := parseJSDate(v); ok {
		return r.at(field, v, t)
	}
	r.warn(field, v, probNotWhen)
	return when{}
}

// numericReset reads a numeric reset f (the text v) by mode.
func (r *reader) numericReset(field, v string, f float64, mode resetMode) when {
	if f < 0 {
		r.warn(field, v, probNegative)
		return when{}
	}
	if mode == resetDeltaSeconds && f >= 1e9 {
		r.warn(field, v, "a delta this large is an epoch; read as one")
		mode = resetBySize
	}
	if mode == resetBySize {
		switch {
		case f >= 1e12:
			f, mode = f/1000, resetEpochSeconds
		case f >= 1e9:
			mode = resetEpochSeconds
		default:
			mode = resetDeltaSeconds
		}
	}
	if mode == resetDeltaSeconds {
		d, ok := seconds(f)
		if !ok {
			d = MaxPlausibleWait + 1 // after warns and reports a year
		}
		return r.after(field, v, d)
	}
	return r.epoch(field, v, f)
}

// epoch reads f as Unix seconds. A time more than a day in the past is not
// clock skew but a misread value: it is ignored with a warning.
func (r *reader) epoch(field, v string, f float64) when {
	if f > 1e11 { // beyond the year 5000: not seconds
		r.warn(field, v, probImplausible)
		return when{}
	}
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(math.Round(frac*1e9)))
	if r.now.Sub(t) > 24*time.Hour {
		r.warn(field, v, probPastEpoch)
		return when{}
	}
	return r.at(field, v, t)
}

// after returns now + d; beyond MaxPlausibleWait, now + MaxPlausibleWait
// with a warning.
func (r *reader) after(field, v string, d time.Duration) when {
	if d > MaxPlausibleWait {
		r.warn(field, v, probBeyondYear)
		d = MaxPlausibleWait
	}
	return when{at: r.now.Add(d), ok: true}
}

// at returns t; beyond MaxPlausibleWait from now, now + MaxPlausibleWait
// with a warning.
func (r *reader) at(field, v string, t time.Time) when {
	if _, ok := untilTime(t, r.now); !ok {
		r.warn(field, v, probBeyondYear)
		t = r.now.Add(MaxPlausibleWait)
	}
	return when{at: t, ok: true}
}

// parseDuration reads a Go-style duration ("6m0s", "1m30.5s", "20ms"), as
// OpenAI sends its resets, also accepting a leading days part ("1d2h").
// Negative durations are refused.
func parseDuration(s string) (time.Duration, bool) {
	if s == "" || s[0] == '-' || s[0] == '+' {
		return 0, false
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n > 366 {
			return 0, false
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, true
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > MaxPlausibleWait {
		return 0, false
	}
	return days + d, true
}
