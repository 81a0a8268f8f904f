package httpcache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
)

// A key is built by appending its parts to a byte slice, each
// length-prefixed so that no two different lists of parts hash alike, and
// hashing the result. The slice starts on the caller's stack
// (make([]byte, 0, keyBuf)), so a key of a few hundred bytes allocates
// only its hex string.
const keyBuf = 512

func appendPart(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendAbsent and appendPresent mark an optional part (a user, a query, a
// varied field) as absent or as following, so that no absent part hashes
// like a present one, even empty.
func appendAbsent(b []byte) []byte { return append(b, 0xff) }

func appendPresent(b []byte) []byte { return append(b, 0xfe) }

// appendLower appends s lowercased.
func appendLower(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendURL appends u normalized: scheme and host lowercased, the default
// port dropped, the fragment dropped, the path as escaped, the query byte
// for byte. hostHeader is the request's Host when it overrides u's.
func appendURL(b []byte, u *url.URL, hostHeader string) []byte {
	b = appendLower(b, u.Scheme)
	host := u.Host
	if hostHeader != "" {
		host = hostHeader
	}
	b = appendLower(b, dropDefaultPort(strings.ToLower(u.Scheme), host))
	if u.User != nil {
		b = appendPart(appendPresent(b), u.User.String())
	} else {
		b = appendAbsent(b)
	}
	path := u.Opaque
	if path == "" {
		path = u.EscapedPath()
	}
	if path == "" {
		path = "/"
	}
	b = appendPart(b, path)
	if u.ForceQuery || u.RawQuery != "" {
		return appendPart(appendPresent(b), u.RawQuery)
	}
	return appendAbsent(b)
}

// sumKey is the hex SHA-256 of b.
func sumKey(b []byte) string {
	digest := sha256.Sum256(b)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], digest[:])
	return string(out[:])
}

// dropDefaultPort removes :80 from an http host and :443 from an https one
// (scheme lowercase, host any case).
func dropDefaultPort(scheme, host string) string {
	switch {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return host[:len(host)-3]
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return host[:len(host)-4]
	}
	return host
}

// hostOverride is req's Host when it differs from its URL's host.
func hostOverride(req *http.Request) string {
	if req.Host != "" && req.Host != req.URL.Host {
		return req.Host
	}
	return ""
}

// primaryKey is the key of method and u in partition.
func primaryKey(partition, method string, u *url.URL, hostHeader string) string {
	b := append(make([]byte, 0, keyBuf), 'p')
	b = appendPart(b, partition)
	b = appendPart(b, method)
	return sumKey(appendURL(b, u, hostHeader))
}

// variantKey is the key, under primary, of the response for requests with
// req's values of the fields in vary. A field's lines are joined with
// commas, spaces around each trimmed (RFC 9111 4.1 allows that much
// normalization).
func variantKey(primary string, vary []string, req *http.Request) string {
	b := append(make([]byte, 0, keyBuf), 'v')
	b = appendPart(b, primary)
	for _, name := range vary {
		b = appendPart(b, name)
		values, ok := req.Header[name]
		if !ok {
			b = appendAbsent(b)
			continue
		}
		b = binary.AppendUvarint(appendPresent(b), uint64(len(values)))
		for _, v := range values {
			b = appendPart(b, strings.Trim(v, " \t"))
		}
	}
	return sumKey(b)
}

// FlightKey is the key under which identical requests in flight may share
// one upstream request: the hex SHA-256 over partition, the method, the
// normalized URL and every header field but per-request noise (trace
// context, request ids, retry counters, Heed-* fields), names sorted,
// values in order. It is "" for requests never coalesced: methods other
// than GET and HEAD, and requests with a body or a Range.
func FlightKey(partition string, req *http.Request) string {
	if req.Method != http.MethodGet && req.Method != http.MethodHead && req.Method != "" {
		return ""
	}
	if (req.Body != nil && req.Body != http.NoBody) || req.ContentLength > 0 {
		return ""
	}
	if _, ok := req.Header["Range"]; ok {
		return ""
	}
	b := append(make([]byte, 0, keyBuf), 'f')
	b = appendPart(b, partition)
	b = appendPart(b, methodOf(req))
	b = appendURL(b, req.URL, hostOverride(req))
	type field struct{ canonical, name string }
	fields := make([]field, 0, len(req.Header))
	for name := range req.Header {
		if c := textproto.CanonicalMIMEHeaderKey(name); !isNoise(c) {
			fields = append(fields, field{c, name})
		}
	}
	slices.SortFunc(fields, func(a, b field) int { return strings.Compare(a.canonical, b.canonical) })
	for _, f := range fields {
		b = appendPart(b, f.canonical)
		b = binary.AppendUvarint(b, uint64(len(req.Header[f.name])))
		for _, v := range req.Header[f.name] {
			b = appendPart(b, v)
		}
	}
	return sumKey(b)
}

// methodOf is req's method, "" meaning GET.
func methodOf(req *http.Request) string {
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}

// isNoise reports (by canonical name) the request fields that differ per request without
// changing the answer: FlightKey leaves them out.
func isNoise(name string) bool {
	switch name {
	case "Traceparent", "Tracestate", "Baggage", "Sentry-Trace", "X-Request-Id",
		"X-Correlation-Id", "X-Amzn-Trace-Id", "X-Cloud-Trace-Context",
		"X-Stainless-Retry-Count", "X-Stainless-Timeout":
		return true
	}
	return hasPrefixFold(name, "X-B3-") || hasPrefixFold(name, "Heed-")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
