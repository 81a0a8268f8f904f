package heed

import (
	"fmt"
	"net/url"
	"strings"
)

// route returns the upstream that governs a request for u: the one named,
// when the request names one (WithUpstream), else the one whose base URL
// covers u best; nil when none does (the request passes through).
func (t *Transport) route(u *url.URL, named string) (*upstream, error) {
	if named == "" {
		i, ok := t.router.match(u)
		if !ok {
			return nil, nil
		}
		return t.ups[i], nil
	}
	for i, up := range t.ups {
		if up.cfg.Name != named {
			continue
		}
		if !t.router.coversAt(i, u) {
			return nil, fmt.Errorf("heed: the request names upstream %q, but its URL is not under that upstream's base URL", named)
		}
		return up, nil
	}
	return nil, fmt.Errorf("heed: the request names upstream %q, which is not configured", named)
}

// Match returns the index of the upstream whose BaseURL covers u: same
// scheme, same host and port (case-insensitive, default ports normalized)
// and a path at or below the BaseURL's path prefix on a segment boundary
// ("/v1" covers "/v1" and "/v1/x", not "/v10"). When several cover u, the
// longest prefix wins, then the first. ok is false when none does; upstreams
// whose BaseURL is invalid never match.
func (c Config) Match(u *url.URL) (i int, ok bool) {
	return newRouter(c.Upstreams).match(u)
}

// route is an upstream's BaseURL reduced to what matching compares.
type route struct {
	scheme string // "http", "https" or "grpc" (see routeScheme)
	host   string // lowercase host, with the port unless it is the default
	prefix string // path prefix without a trailing slash; "" covers every path
}

// router matches request URLs to upstreams; build it once with newRouter
// and reuse it, it does not change.
type router struct {
	routes []route
	valid  []bool // whether routes[i] came from a valid BaseURL
}

// newRouter parses the BaseURL of every upstream.
func newRouter(ups []Upstream) router {
	r := router{routes: make([]route, len(ups)), valid: make([]bool, len(ups))}
	for i, u := range ups {
		rt, err := parseRoute(u.BaseURL)
		r.routes[i], r.valid[i] = rt, err == nil
	}
	return r
}

// match returns the index of the upstream covering u; see Config.Match.
func (r router) match(u *url.URL) (int, bool) {
	if u == nil {
		return 0, false
	}
	req := route{scheme: routeScheme(u.Scheme), host: normalHost(u), prefix: u.Path}
	best, bestLen := 0, -1
	for i, rt := range r.routes {
		if r.valid[i] && rt.covers(req) && len(rt.prefix) > bestLen {
			best, bestLen = i, len(rt.prefix)
		}
	}
	return best, bestLen >= 0
}

// coversAt reports whether the route of upstream i covers u.
func (r router) coversAt(i int, u *url.URL) bool {
	if u == nil || i >= len(r.routes) || !r.valid[i] {
		return false
	}
	return r.routes[i].covers(route{scheme: routeScheme(u.Scheme), host: normalHost(u), prefix: u.Path})
}

// covers reports whether rt covers the request req, whose prefix holds the
// request's full path.
func (rt route) covers(req route) bool {
	if rt.scheme != req.scheme || rt.host != req.host {
		return false
	}
	rest, ok := strings.CutPrefix(req.prefix, rt.prefix)
	return ok && (rest == "" || rest[0] == '/')
}

// normalHost returns u's host in lowercase, without a trailing dot, with
// its port unless that is the scheme's default.
func normalHost(u *url.URL) string {
	if plainHost(u.Host) {
		return u.Host // the common case, as normal as it gets: nothing to do
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if port == "" || port == defaultPort(routeScheme(u.Scheme)) {
		return host
	}
	return host + ":" + port
}

// The schemes of gRPC upstreams. A gRPC call reaches heed as a request to
// grpc://authority/package.Service/Method (package heedgrpc makes it);
// grpcs is the same route, for a base URL that says the channel is TLS:
// heed does not dial, the caller's grpc.ClientConn does, so both match
// either.
const (
	SchemeGRPC  = "grpc"
	SchemeGRPCS = "grpcs"
)

// routeScheme returns the scheme as routes compare it: lower case, with
// grpcs as grpc.
func routeScheme(s string) string {
	if s == "http" || s == "https" || s == SchemeGRPC {
		return s // the common case: nothing to do
	}
	s = strings.ToLower(s)
	if s == SchemeGRPCS {
		return SchemeGRPC
	}
	return s
}

// defaultPort returns the port a URL of scheme (as routeScheme returns
// it) has when it names none: gRPC's is 443, as its DNS resolver assumes.
func defaultPort(scheme string) string {
	switch scheme {
	case "http":
		return "80"
	case "https", SchemeGRPC:
		return "443"
	}
	return ""
}

// plainHost reports whether h is a lower-case host name with no port,
// trailing dot, brackets or escapes, which normalHost returns as it is.
func plainHost(h string) bool {
	if h == "" || h[len(h)-1] == '.' {
		return false
	}
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c >= 'A' && c <= 'Z', c == ':', c == '[', c == '%':
			return false
		}
	}
	return true
}
