package serve

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// TokenHeader is the request header that carries an API token (or the
// admin token) to route mode, the forward proxy and the job API. heed
// serve removes it before sending a request upstream.
const TokenHeader = "Heed-Token"

// adminCookie carries the admin token for a browser on the dashboard.
const adminCookie = "heed_admin"

// tokens are a config's tokens, as bytes for comparisons in constant time.
type tokens struct {
	admin []byte   // nil: no admin token
	api   [][]byte // the api_tokens
}

// newTokens returns cfg's tokens.
func newTokens(cfg Config) tokens {
	var t tokens
	if cfg.AdminToken != "" {
		t.admin = []byte(cfg.AdminToken)
	}
	for _, a := range cfg.APITokens {
		t.api = append(t.api, []byte(a))
	}
	return t
}

// any reports whether any token is configured.
func (t tokens) any() bool { return t.admin != nil || len(t.api) > 0 }

// isAdmin reports whether got is the admin token.
func (t tokens) isAdmin(got string) bool {
	return t.admin != nil && subtle.ConstantTimeCompare([]byte(got), t.admin) == 1
}

// isClient reports whether got is an API token or the admin token. Every
// token is compared, in constant time, whichever matches: the time taken
// says nothing about which one did, nor how much of one.
func (t tokens) isClient(got string) bool {
	g := []byte(got)
	match := 0
	if t.admin != nil {
		match |= subtle.ConstantTimeCompare(g, t.admin)
	}
	for _, a := range t.api {
		match |= subtle.ConstantTimeCompare(g, a)
	}
	return got != "" && match == 1
}

// jobsAuth checks a job API request: with any token configured it needs an
// API token or the admin token, as a bearer token or in Heed-Token;
// without, it must be addressed to a loopback host.
func (t tokens) jobsAuth(r *http.Request) *refusal {
	if !t.any() {
		return loopbackHost(r)
	}
	got := r.Header.Get(TokenHeader)
	if got == "" {
		got, _ = bearer(r.Header.Get("Authorization"))
	}
	if t.isClient(got) {
		return nil
	}
	return &refusal{status: http.StatusUnauthorized, header: [2]string{"WWW-Authenticate", `Bearer realm="heed"`},
		err: apiError{Error: CodeUnauthorized, Message: "the job API needs a token: Authorization: Bearer <token> or " + TokenHeader +
			": <token>, with one of the config's api_tokens (or its admin_token)"}}
}

// routeAuth checks a route-mode request: with api_tokens configured it
// needs an API token or the admin token in Heed-Token (Authorization is the
// upstream's); without, it must be addressed to a loopback host.
func (t tokens) routeAuth(r *http.Request) *refusal {
	if len(t.api) == 0 {
		return loopbackHost(r)
	}
	if t.isClient(r.Header.Get(TokenHeader)) {
		return nil
	}
	return &refusal{status: http.StatusUnauthorized, header: [2]string{"WWW-Authenticate", TokenHeader + ` realm="heed"`},
		err: apiError{Error: CodeUnauthorized, Message: "route mode needs a token: " + TokenHeader +
			": <token>, with one of the config's api_tokens (or its admin_token); Authorization is the upstream's credential and passes untouched"}}
}

// proxyAuth checks a forward-proxy request: with api_tokens configured it
// needs an API token or the admin token, in Heed-Token or as the password
// (or bearer token) of Proxy-Authorization, and is answered 407 without.
// No loopback host is asked for: the Host of a proxy request is the
// upstream's, and a web page cannot send one.
func (t tokens) proxyAuth(r *http.Request) *refusal {
	if len(t.api) == 0 {
		return nil
	}
	got := r.Header.Get(TokenHeader)
	if got == "" {
		got = proxyPassword(r.Header.Get("Proxy-Authorization"))
	}
	if t.isClient(got) {
		return nil
	}
	return &refusal{status: http.StatusProxyAuthRequired, header: [2]string{"Proxy-Authenticate", `Basic realm="heed"`},
		err: apiError{Error: CodeUnauthorized, Message: "the forward proxy needs a token: " + TokenHeader +
			": <token>, or the token as the proxy URL's password (http://heed:<token>@host:port), with one of the config's api_tokens (or its admin_token)"}}
}

// adminAuth checks an admin request but /-/healthz's: with an admin token
// configured it needs it, as a bearer token or in the dashboard's cookie;
// without, it must be addressed to a loopback host.
func (t tokens) adminAuth(r *http.Request) *refusal {
	if t.admin == nil {
		return loopbackHost(r)
	}
	got, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		if c, err := r.Cookie(adminCookie); err == nil {
			got = c.Value
		}
	}
	if t.isAdmin(got) {
		return nil
	}
	return &refusal{status: http.StatusUnauthorized, header: [2]string{"WWW-Authenticate", `Bearer realm="heed"`},
		err: apiError{Error: CodeUnauthorized,
			Message: "the admin surface needs the admin token: Authorization: Bearer <admin_token>, or open /-/?token=<admin_token> in a browser"}}
}

// bearer returns the token of an Authorization value "Bearer <token>" (the
// scheme in any case).
func bearer(v string) (string, bool) {
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// proxyPassword returns the token of a Proxy-Authorization value: the
// password of Basic credentials (whatever the user name), or a bearer
// token; "" when there is none.
func proxyPassword(v string) string {
	if tok, ok := bearer(v); ok {
		return tok
	}
	scheme, cred, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return ""
	}
	_, password, _ := strings.Cut(string(raw), ":")
	return password
}

// authorized serves h to the admin requests adminAuth lets through. A
// browser opening /-/?token=<admin token> gets the token as a cookie and
// is sent to /-/, so that the token leaves the URL.
func (s *Server) authorized(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := s.gen.Load().tokens
		if q := r.URL.Query().Get("token"); q != "" && r.URL.Path == "/-/" && t.isAdmin(q) {
			http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: q, Path: "/-/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			http.Redirect(w, r, "/-/", http.StatusFound)
			return
		}
		if refused(w, r, t.adminAuth) {
			return
		}
		h.ServeHTTP(w, r)
	})
}
