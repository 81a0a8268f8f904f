package mockapi

import (
	"net/http"
	"strings"
	"time"
)

// notModified reports whether a GET or HEAD with the header h is answered
// 304 for a current representation with etag ("" when it has none) and
// modified (zero when it has none), as RFC 9110 §13.2.2 orders it: an
// If-None-Match decides alone, by weak comparison, "*" matching any
// current representation; without one, If-Modified-Since matches when
// modified, in whole seconds, is not after it. A malformed date is
// ignored.
func notModified(h http.Header, etag string, modified time.Time) bool {
	if inm := h.Values("If-None-Match"); len(inm) > 0 {
		return noneMatchFails(strings.Join(inm, ","), etag)
	}
	ims := h.Get("If-Modified-Since")
	if ims == "" || modified.IsZero() {
		return false
	}
	since, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	return !modified.Truncate(time.Second).After(since)
}

// noneMatchFails reports whether the If-None-Match list matches etag, so
// that the condition fails and the answer is 304. Parsing stops at the
// first entity tag that is not well formed.
func noneMatchFails(list, etag string) bool {
	if strings.TrimSpace(list) == "*" {
		return true
	}
	for rest := list; ; {
		tag, next, ok := nextETag(rest)
		if !ok {
			return false
		}
		if etag != "" && weakEqual(tag, etag) {
			return true
		}
		rest = next
	}
}

// nextETag returns the first entity tag of a comma-separated list
// (W/"x" or "x"), and the rest of the list; false when none is left or it
// is not well formed.
func nextETag(list string) (tag, rest string, ok bool) {
	list = strings.TrimLeft(list, " \t,")
	start := list
	list = strings.TrimPrefix(list, "W/")
	if !strings.HasPrefix(list, `"`) {
		return "", "", false
	}
	end := strings.IndexByte(list[1:], '"')
	if end < 0 {
		return "", "", false
	}
	n := len(start) - len(list) + end + 2
	return start[:n], start[n:], true
}

// weakEqual reports whether two entity tags match by weak comparison:
// their opaque tags are equal, weak or not.
func weakEqual(a, b string) bool {
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}
