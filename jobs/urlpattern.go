package jobs

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"
)

// URLPattern matches URLs by scheme, host and port (with * wildcards) and
// an optional path prefix: "http://127.0.0.1:*", "https://*.example.com",
// "https://hooks.example.com:443/heed/". A missing port is the scheme's
// default.
type URLPattern struct {
	scheme, host, port, prefix string
}

// ParseURLPattern parses a URLPattern.
func ParseURLPattern(s string) (URLPattern, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return URLPattern{}, fmt.Errorf("pattern %q: want http:// or https:// then host[:port][/path]", s)
	}
	hostport, prefix, _ := strings.Cut(rest, "/")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, defaultPort(scheme)
	}
	if host == "" || strings.ContainsAny(hostport, "@?#") {
		return URLPattern{}, fmt.Errorf("pattern %q: want host[:port] with * wildcards, no user info, query or fragment", s)
	}
	for _, p := range []string{host, port} {
		if _, err := path.Match(p, ""); err != nil {
			return URLPattern{}, fmt.Errorf("pattern %q: %w", s, err)
		}
	}
	return URLPattern{scheme: scheme, host: strings.ToLower(host), port: port, prefix: "/" + prefix}, nil
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// Match reports whether raw, an absolute URL, matches the pattern.
func (p URLPattern) Match(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	port := u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	hostOK, _ := path.Match(p.host, strings.ToLower(u.Hostname()))
	portOK, _ := path.Match(p.port, port)
	upath := u.EscapedPath()
	if upath == "" {
		upath = "/"
	}
	return u.Scheme == p.scheme && hostOK && portOK && strings.HasPrefix(upath, p.prefix)
}
