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

// keyBuilder frames the parts of a key (each length-prefixed, so no two
// different lists of parts hash alike) and hashes them. Its buffer starts
// on the stack; a key of a few hundred bytes allocates only its result.
type keyBuilder struct {
	buf [512]byte
	b   []byte
}

func (k *keyBuilder) reset(kind string) {
	k.b = append(k.buf[:0], kind...)
}

func (k *keyBuilder) add(s string) {
	k.b = binary.AppendUvarint(k.b, uint64(len(s)))
	k.b = append(k.b, s...)
}

// addAbsent marks a part that is not there (an absent field), which no
// present value, even empty, hashes like.
func (k *keyBuilder) addAbsent() { k.b = append(k.b, 0xff) }

// addURL adds u normalized: scheme and host lowercased, the default port
// dropped, the fragment dropped, the path as escaped, the query byte for
// byte. hostHeader is the request's Host when it overrides u's.
func (k *keyBuilder) addURL(u *url.URL, hostHeader string) {
	scheme := u.Scheme
	k.addLower(scheme)
	host := u.Host
	if hostHeader != "" {
		host = hostHeader
	}
	k.addLower(dropDefaultPort(strings.ToLower(scheme), host))
	if u.User != nil {
		k.add(u.User.String())
	} else {
		k.addAbsent()
	}
	path := u.Opaque
	if path == "" {
		path = u.EscapedPath()
	}
	if path == "" {
		path = "/"
	}
	k.add(path)
	if u.ForceQuery || u.RawQuery != "" {
		k.add(u.RawQuery)
	} else {
		k.addAbsent()
	}
}

// addLower adds s lowercased without allocating.
func (k *keyBuilder) addLower(s string) {
	k.b = binary.AppendUvarint(k.b, uint64(len(s)))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		k.b = append(k.b, c)
	}
}

// sum is the hex SHA-256 of the parts added.
func (k *keyBuilder) sum() string {
	digest := sha256.Sum256(k.b)
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
	var k keyBuilder
	k.reset("p")
	k.add(partition)
	k.add(method)
	k.addURL(u, hostHeader)
	return k.sum()
}

// variantKey is the key, under primary, of the response for requests with
// req's values of the fields in vary. A field's lines are joined with
// commas, spaces around each trimmed (RFC 9111 4.1 allows that much
// normalization).
func variantKey(primary string, vary []string, req *http.Request) string {
	var k keyBuilder
	k.reset("v")
	k.add(primary)
	for _, name := range vary {
		k.add(name)
		values, ok := req.Header[name]
		if !ok {
			k.addAbsent()
			continue
		}
		k.b = append(k.b, 0xfe)
		for _, v := range values {
			k.add(strings.Trim(v, " \t"))
		}
	}
	return k.sum()
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
	var k keyBuilder
	k.reset("f")
	k.add(partition)
	k.add(methodOf(req))
	k.addURL(req.URL, hostOverride(req))
	type field struct{ canonical, name string }
	fields := make([]field, 0, len(req.Header))
	for name := range req.Header {
		if c := textproto.CanonicalMIMEHeaderKey(name); !isNoise(c) {
			fields = append(fields, field{c, name})
		}
	}
	slices.SortFunc(fields, func(a, b field) int { return strings.Compare(a.canonical, b.canonical) })
	for _, f := range fields {
		k.add(f.canonical)
		k.b = binary.AppendUvarint(k.b, uint64(len(req.Header[f.name])))
		for _, v := range req.Header[f.name] {
			k.add(v)
		}
	}
	return k.sum()
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
