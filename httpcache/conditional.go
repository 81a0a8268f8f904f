package httpcache

import (
	"net/http"
	"strings"
)

// Conditional sets on h the conditionals that validate l's entry:
// If-None-Match with its ETag and If-Modified-Since with its Last-Modified,
// each when the entry has it. Without an entry it does nothing.
func (l Lookup) Conditional(h http.Header) {
	if l.Entry == nil {
		return
	}
	if etag := l.Entry.Header.Get("Etag"); etag != "" {
		h.Set("If-None-Match", etag)
	}
	if lm := l.Entry.Header.Get("Last-Modified"); lm != "" {
		h.Set("If-Modified-Since", lm)
	}
}

// NotModified reports whether req's own conditionals match l's Fresh entry,
// so that the cache may answer 304 itself: If-None-Match by weak comparison
// (RFC 9110 13.1.2), or, only when there is no If-None-Match,
// If-Modified-Since against the entry's Last-Modified (RFC 9110 13.2.2).
// It is false for a request other than GET or HEAD, or an entry that is not
// Fresh.
func (l Lookup) NotModified(req *http.Request) bool {
	if l.Entry == nil || l.State != Fresh {
		return false
	}
	if m := methodOf(req); m != http.MethodGet && m != http.MethodHead {
		return false
	}
	if inm, ok := req.Header["If-None-Match"]; ok {
		return matchesETag(inm, l.Entry.Header.Get("Etag"))
	}
	ims, err := parseHTTPDate(req.Header.Get("If-Modified-Since"))
	if err != nil {
		return false
	}
	lm, err := parseHTTPDate(l.Entry.Header.Get("Last-Modified"))
	return err == nil && !lm.After(ims)
}

// matchesETag reports whether the If-None-Match lines list "*" or an
// entity tag weakly equal to etag.
func matchesETag(lines []string, etag string) bool {
	want, ok := opaqueTag(etag)
	for _, line := range lines {
		s := line
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			if s[0] == '*' {
				return true
			}
			var tag string
			tag, s = nextETag(s)
			if ok && tag != "" && tag == want {
				return true
			}
		}
	}
	return false
}

// nextETag splits the first entity tag ([W/]"opaque") off s, returning its
// opaque part with quotes ("" if malformed) and the rest.
func nextETag(s string) (tag, rest string) {
	s = strings.TrimPrefix(s, "W/")
	if s == "" || s[0] != '"' {
		if i := strings.IndexByte(s, ','); i >= 0 {
			return "", s[i:]
		}
		return "", ""
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", ""
	}
	return s[:end+2], s[end+2:]
}

// opaqueTag is etag without its weakness indicator; ok is false when etag
// is not an entity tag.
func opaqueTag(etag string) (string, bool) {
	tag, rest := nextETag(strings.TrimSpace(etag))
	return tag, tag != "" && strings.TrimSpace(rest) == ""
}
