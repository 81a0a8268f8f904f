package serve

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// crossSite refuses a request a web page of another origin sent: one
// whose Origin is not the request's own (scheme://Host, the scheme's
// default port aside; "null" is foreign), or whose Sec-Fetch-Site is
// neither same-origin nor none (a user's own navigation). A browser sends
// at least one of them on every request a page makes, but for some
// same-origin GETs; other clients send neither. The scheme is not
// compared, so that heed serve behind a proxy terminating TLS still knows
// its own pages.
func crossSite(r *http.Request) *refusal {
	site := strings.ToLower(r.Header.Get("Sec-Fetch-Site"))
	origins := r.Header.Values("Origin")
	pageOfOurs := site == "" || site == "same-origin" || site == "none"
	if pageOfOurs && (len(origins) == 0 || len(origins) == 1 && sameOrigin(origins[0], r.Host)) {
		return nil
	}
	return &refusal{status: http.StatusForbidden, err: apiError{Error: CodeCrossSite,
		Message: fmt.Sprintf("heed serve refuses requests that a web page of another origin sends to the job API or route mode (Origin %s, Sec-Fetch-Site %q)",
			quoteShort(strings.Join(origins, ", ")), site)}}
}

// sameOrigin reports whether the Origin header value origin names host
// (a request's Host).
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	port := map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
	return strings.EqualFold(strings.TrimSuffix(u.Host, port), strings.TrimSuffix(host, port))
}

// loopbackHost refuses a request not addressed to a loopback host: one
// whose Host is not localhost (or a name under .localhost), 127.0.0.0/8 or
// ::1. A part of heed serve that needs no token asks for it, so that a web
// page cannot reach it through DNS rebinding (its own name made to point
// at 127.0.0.1), and that a reverse proxy cannot publish it by mistake.
func loopbackHost(r *http.Request) *refusal {
	if isLoopbackHost(r.Host) {
		return nil
	}
	return &refusal{status: http.StatusForbidden, err: apiError{Error: CodeForbiddenHost,
		Message: fmt.Sprintf("no token is configured for this part of heed serve, so it answers only requests addressed to localhost, 127.0.0.1 or [::1], not Host %s; "+
			"to serve other host names, configure its token (admin_token for /-/, api_tokens for route mode, the forward proxy and the job API)", quoteShort(r.Host))}}
}

// isLoopbackHost reports whether a Host header value names this machine.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	return isLoopback(host) || strings.HasSuffix(strings.ToLower(host), ".localhost")
}

// isLoopback reports whether host names only this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// jsonBody refuses a job API request that sends a body, or is a POST,
// with a Content-Type other than application/json: a web page can send
// text/plain or a form without asking the server first, never JSON.
func jsonBody(r *http.Request) *refusal {
	if r.Method != http.MethodPost && (r.ContentLength == 0 || r.Method == http.MethodGet || r.Method == http.MethodHead) {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/json" {
		return nil
	}
	return &refusal{status: http.StatusUnsupportedMediaType, header: [2]string{"Accept-Post", "application/json"},
		err: apiError{Error: CodeUnsupportedMediaType, Message: fmt.Sprintf("the job API takes a JSON body: Content-Type: application/json, not %s", quoteShort(ct))}}
}

// quoteShort quotes s, cut to 100 bytes, for a message.
func quoteShort(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return fmt.Sprintf("%q", s)
}
