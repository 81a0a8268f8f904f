package httpcache

import (
	"net/http"
	"time"
)

// parseHTTPDate parses an HTTP-date (RFC 9110 5.6.7). The preferred
// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") is read by hand, which is
// several times faster than time.Parse and on every Lookup; the obsolete
// forms go to http.ParseTime.
func parseHTTPDate(s string) (time.Time, error) {
	if t, ok := parseIMFFixdate(s); ok {
		return t, nil
	}
	return http.ParseTime(s)
}

// parseIMFFixdate reads "Sun, 06 Nov 1994 08:49:37 GMT"; ok is false for
// anything else. Like time.Parse, it checks the weekday's name, not
// that it is the date's.
func parseIMFFixdate(s string) (t time.Time, ok bool) {
	if len(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
		s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25:] != " GMT" {
		return time.Time{}, false
	}
	weekday := false
	for _, name := range [...]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} {
		weekday = weekday || s[:3] == name
	}
	month := time.Month(0)
	for i, name := range [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"} {
		if s[8:11] == name {
			month = time.Month(i + 1)
		}
	}
	day, ok1 := digits(s[5:7])
	year, ok2 := digits(s[12:16])
	hour, ok3 := digits(s[17:19])
	minute, ok4 := digits(s[20:22])
	sec, ok5 := digits(s[23:25])
	if !weekday || month == 0 || !(ok1 && ok2 && ok3 && ok4 && ok5) || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t = time.Date(year, month, day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day { // 31 Feb and the like: leave them to time.Parse's verdict
		return time.Time{}, false
	}
	return t, true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
