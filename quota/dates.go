package quota

import (
	"net/http"
	"strings"
	"time"
)

// maxDateLen bounds the text the date readers look at; every form they
// accept is far shorter.
const maxDateLen = 96

// parseHTTPDate reads an HTTP-date in any of RFC 9110's three forms and, as
// RFC 9110 §5.6.7 asks recipients to be robust, the Internet Message Format
// forms that reach HTTP from other sources: a numeric zone or UT/UTC instead
// of GMT ("Sun, 06 Nov 1994 08:49:37 +0000", "6 Nov 1994 08:49:37 -0800"),
// with or without the day name, a trailing comment such as "(UTC)" ignored.
// Zone abbreviations other than GMT, UT and UTC are refused: their offset
// would depend on the machine's time zone.
func parseHTTPDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) > maxDateLen {
		return time.Time{}, false
	}
	if t, err := http.ParseTime(s); err == nil {
		return t, true
	}
	s = stripComment(s)
	for _, layout := range imfLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// imfLayouts are the RFC 5322 date forms parseHTTPDate accepts beyond
// http.ParseTime's.
var imfLayouts = [...]string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 UTC",
	"Mon, 2 Jan 2006 15:04:05 UT",
	"Mon, 2 Jan 2006 15:04:05 GMT",
	"Mon, 2 Jan 2006 15:04 -0700",
}

// stripComment removes a trailing parenthesized comment: "... (UTC)".
func stripComment(s string) string {
	if strings.HasSuffix(s, ")") {
		if i := strings.LastIndexByte(s, '('); i > 0 {
			return strings.TrimSpace(s[:i])
		}
	}
	return s
}

// parseJSDate reads the form of JavaScript's Date.prototype.toString, which
// some APIs send as a reset: "Sun Nov 22 2026 13:00:02 GMT+0100 (Central
// European Standard Time)". The zone name in parentheses is ignored; the
// numeric offset decides.
func parseJSDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) > maxDateLen {
		return time.Time{}, false
	}
	t, err := time.Parse("Mon Jan 2 2006 15:04:05 GMT-0700", stripComment(s))
	return t, err == nil
}

// parseISOMinutes reads an ISO 8601 time without seconds,
// "2026-03-26T16:00Z" or "2026-03-26T17:00+01:00", as Atlassian sends its
// resets.
func parseISOMinutes(s string) (time.Time, bool) {
	if len(s) > maxDateLen {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02T15:04Z07:00", strings.TrimSpace(s))
	return t, err == nil
}
