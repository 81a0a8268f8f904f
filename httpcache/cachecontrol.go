package httpcache

import (
	"net/textproto"
	"slices"
	"strings"
	"time"
)

// Directives is a parsed Cache-Control field (all its lines), of a request
// or of a response. Durations are whole seconds. A Has field says whether
// the directive was present with a usable argument.
type Directives struct {
	NoStore, NoCache, Private, Public, MustRevalidate, ProxyRevalidate, OnlyIfCached, Immutable, NoTransform bool

	// NoCacheFields and PrivateFields are the canonical field names of the
	// qualified forms no-cache="Set-Cookie" and private="X-Secret". A
	// qualified directive sets its list, not NoCache or Private.
	NoCacheFields, PrivateFields []string

	MaxAge, SMaxAge, MinFresh          time.Duration
	HasMaxAge, HasSMaxAge, HasMinFresh bool

	MaxStale    time.Duration
	HasMaxStale bool
	MaxStaleAny bool // max-stale without a value: any staleness is acceptable

	StaleIfError    time.Duration
	HasStaleIfError bool
}

// maxDelta is the largest delta-seconds a recipient keeps: greater values
// are read as 2^31 seconds (RFC 9111 1.2.2).
const maxDelta = 1 << 31 * time.Second

// maxQualifiedFields bounds the field names kept per qualified directive.
const maxQualifiedFields = 64

// ParseCacheControl parses the lines of a Cache-Control field. It is lenient
// as browsers are: unknown directives are ignored, and a directive with a
// bad argument is absent, except max-age, which is then read as max-age=0
// (a response with an invalid max-age is stale, RFC 9111 4.2.1). A directive
// given twice keeps its first value. Arguments may be tokens or quoted
// strings. The work is linear in the input and the field lists are bounded.
func ParseCacheControl(values []string) Directives {
	var d Directives
	for _, line := range values {
		p := ccParser{s: line}
		for {
			name, arg, hasArg, ok := p.next()
			if !ok {
				break
			}
			d.apply(name, arg, hasArg)
		}
	}
	return d
}

// apply records one directive in d. name is as received (any case).
func (d *Directives) apply(name, arg string, hasArg bool) {
	switch strings.ToLower(name) {
	case "no-store":
		d.NoStore = true
	case "no-cache":
		d.applyQualified(&d.NoCache, &d.NoCacheFields, arg, hasArg)
	case "private":
		d.applyQualified(&d.Private, &d.PrivateFields, arg, hasArg)
	case "public":
		d.Public = true
	case "must-revalidate":
		d.MustRevalidate = true
	case "proxy-revalidate":
		d.ProxyRevalidate = true
	case "only-if-cached":
		d.OnlyIfCached = true
	case "immutable":
		d.Immutable = true
	case "no-transform":
		d.NoTransform = true
	case "max-age":
		if !d.HasMaxAge {
			d.MaxAge, _ = parseDelta(arg) // invalid: 0, stale
			d.HasMaxAge = true
		}
	case "s-maxage":
		setDelta(&d.SMaxAge, &d.HasSMaxAge, arg)
	case "min-fresh":
		setDelta(&d.MinFresh, &d.HasMinFresh, arg)
	case "stale-if-error":
		setDelta(&d.StaleIfError, &d.HasStaleIfError, arg)
	case "max-stale":
		if !hasArg {
			d.MaxStaleAny = true
			return
		}
		setDelta(&d.MaxStale, &d.HasMaxStale, arg)
	}
}

// applyQualified records no-cache or private: unqualified it sets flag,
// qualified it adds the named fields to list. A qualified form naming no
// valid field counts as the unqualified one (the stricter reading).
func (d *Directives) applyQualified(flag *bool, list *[]string, arg string, hasArg bool) {
	if !hasArg {
		*flag = true
		return
	}
	n := len(*list)
	for f := range strings.SplitSeq(arg, ",") {
		f = strings.TrimSpace(f)
		if !isToken(f) || len(*list) >= maxQualifiedFields {
			continue
		}
		f = textproto.CanonicalMIMEHeaderKey(f)
		if !slices.Contains(*list, f) {
			*list = append(*list, f)
		}
	}
	if len(*list) == n && n == 0 {
		*flag = true
	}
}

// setDelta sets a delta-seconds directive unless it is already set or arg
// is invalid.
func setDelta(v *time.Duration, has *bool, arg string) {
	if *has {
		return
	}
	if d, ok := parseDelta(arg); ok {
		*v, *has = d, true
	}
}

// parseDelta parses delta-seconds (RFC 9111 1.2.2): one or more digits,
// values beyond 2^31 clamped to 2^31.
func parseDelta(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n <= 1<<31 {
			n = n*10 + int64(c-'0')
		}
	}
	return time.Duration(min(n, 1<<31)) * time.Second, true
}

// ccParser walks the directives of one Cache-Control line:
// #( token [ "=" ( token / quoted-string ) ] ).
type ccParser struct {
	s string
	i int
}

// next returns the next directive, skipping empty list elements and
// malformed ones; ok is false at the end of the line.
func (p *ccParser) next() (name, arg string, hasArg, ok bool) {
	for p.i < len(p.s) {
		p.skip(" \t,")
		start := p.i
		for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
			p.i++
		}
		name = p.s[start:p.i]
		p.skip(" \t")
		if p.i < len(p.s) && p.s[p.i] == '=' {
			p.i++
			p.skip(" \t")
			arg, hasArg = p.value(), true
			p.skip(" \t")
		}
		if p.i < len(p.s) && p.s[p.i] != ',' {
			p.skipElement() // garbage after the directive: drop it
			continue
		}
		if name != "" {
			return name, arg, hasArg, true
		}
	}
	return "", "", false, false
}

// value reads a token or a quoted string (unescaping quoted pairs).
func (p *ccParser) value() string {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		start := p.i
		for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
			p.i++
		}
		return p.s[start:p.i]
	}
	p.i++
	start, escaped := p.i, false
	for ; p.i < len(p.s); p.i++ {
		switch p.s[p.i] {
		case '\\':
			escaped = true
			p.i++
		case '"':
			v := p.s[start:p.i]
			p.i++
			if escaped {
				v = unquote(v)
			}
			return v
		}
	}
	return unquote(p.s[start:]) // unterminated: take the rest
}

// skipElement moves past the rest of a list element, minding quotes.
func (p *ccParser) skipElement() {
	inQuote := false
	for ; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; {
		case inQuote && c == '\\':
			p.i++
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			return
		}
	}
}

func (p *ccParser) skip(set string) {
	for p.i < len(p.s) && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
	}
}

// unquote removes the backslashes of quoted pairs.
func unquote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isTokenChar reports whether c is a tchar (RFC 9110 5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// maxVaryNames bounds the names ParseVary keeps; a longer Vary counts as *.
const maxVaryNames = 64

// ParseVary parses the lines of a Vary field into canonical field names,
// deduplicated and sorted. star reports a "*" member, with which no request
// can match. An element that is not a field name, or more than 64 names,
// also set star: the cache cannot tell which requests would match.
func ParseVary(values []string) (names []string, star bool) {
	for _, line := range values {
		for f := range strings.SplitSeq(line, ",") {
			f = strings.Trim(f, " \t")
			switch {
			case f == "":
			case f == "*" || !isToken(f) || len(names) >= maxVaryNames:
				star = true
			default:
				names = append(names, textproto.CanonicalMIMEHeaderKey(f))
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names), star
}
