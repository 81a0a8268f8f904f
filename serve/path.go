package serve

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// maxUnescapes is how many times dotSegments percent-decodes a path: a path
// encoded twice (%252e%252e) or three times is still looked into.
const maxUnescapes = 3

// dotSegments refuses a request whose path has a . or .. segment in any
// encoding: literal or percent-encoded in either case (%2e%2e, %2E., .%2e),
// encoded more than once (%252e%252e), separated by / or \ (%2f, %5c),
// with a ;parameter after it (..;), or with the overlong (%c0%ae) or
// fullwidth (U+FF0E) dots some servers read as one. Such a path could
// leave the upstream's base URL once a server, a proxy or a framework on
// the way resolves it; heed serve forwards none.
func dotSegments(r *http.Request) *refusal {
	p := r.URL.EscapedPath()
	if !hasDotSegment(p) {
		return nil
	}
	return &refusal{status: http.StatusBadRequest, err: apiError{Error: CodeInvalidPath,
		Message: fmt.Sprintf("path %s has a . or .. segment (in some encoding): heed serve does not forward a path that could leave the upstream's base URL", quoteShort(p))}}
}

// hasDotSegment reports whether the escaped path p, or p decoded up to
// maxUnescapes times, has a dot segment.
func hasDotSegment(p string) bool {
	for range maxUnescapes {
		if dotSegmentIn(p) {
			return true
		}
		u := unescape(p)
		if u == p {
			return false
		}
		p = u
	}
	return dotSegmentIn(p)
}

// unescape decodes every %XX of s, leaving a % that starts none as it is
// (url.PathUnescape would give up on the whole path).
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// dotLookalikes are what some servers read as a dot: the overlong UTF-8
// encoding of '.' and the fullwidth full stop.
var dotLookalikes = strings.NewReplacer("\xc0\xae", ".", "\uff0e", ".")

// dotSegmentIn reports whether p, split at / and \, has a segment that is
// . or .. (before any ;parameter).
func dotSegmentIn(p string) bool {
	for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		seg, _, _ = strings.Cut(seg, ";")
		if seg = dotLookalikes.Replace(seg); seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
