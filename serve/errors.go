package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The error codes of the JSON errors heed serve writes itself. They are
// stable: clients may branch on them.
const (
	// CodeUnknownUpstream: route mode named no configured upstream (404).
	CodeUnknownUpstream = "unknown_upstream"
	// CodeNotAnUpstream: a forward-proxy request for a URL no upstream
	// covers (403): heed serve is not an open proxy.
	CodeNotAnUpstream = "not_an_upstream"
	// CodeConnectNotSupported: a CONNECT request (405).
	CodeConnectNotSupported = "connect_not_supported"
	// CodeUpstreamUnreachable: the upstream could not be reached or broke
	// the connection (502).
	CodeUpstreamUnreachable = "upstream_unreachable"
	// CodeUpstreamTimeout: the upstream did not answer within its timeout
	// (504).
	CodeUpstreamTimeout = "upstream_timeout"
	// CodeStoreUnavailable: the shared store is down and on_store_error is
	// closed (503).
	CodeStoreUnavailable = "store_unavailable"
	// CodeInvalidTenant: the tenant_header names no valid tenant (400).
	CodeInvalidTenant = "invalid_tenant"
	// CodeInvalidPriority: the Heed-Priority header is not one priority
	// class's name (400).
	CodeInvalidPriority = "invalid_priority"
	// CodeUnknownPriority: the Heed-Priority header names a class the
	// upstream's fair shares do not have (400); the error's classes lists
	// those it has.
	CodeUnknownPriority = "unknown_priority"
	// CodeUnauthorized: the request lacks the token its part of heed serve
	// needs, or its token is wrong (401; 407 from the forward proxy).
	CodeUnauthorized = "unauthorized"
	// CodeCrossSite: a request from a web page of another origin (a
	// foreign Origin, or Sec-Fetch-Site other than same-origin or none) to
	// the job API or route mode (403).
	CodeCrossSite = "cross_site"
	// CodeForbiddenHost: a part of heed serve that needs no token answers
	// only requests addressed to a loopback host (403), so that a web page
	// cannot reach it by DNS rebinding.
	CodeForbiddenHost = "forbidden_host"
	// CodeInvalidPath: a path with a . or .. segment, in any encoding (400).
	CodeInvalidPath = "invalid_path"
	// CodeUnsupportedMediaType: a job API write whose body is not
	// application/json (415).
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeNotFound: no such page (404).
	CodeNotFound = "not_found"
	// CodeMethodNotAllowed: the path exists, but not with this method (405;
	// the Allow header lists the methods).
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeBadRequest: a request heed serve could not parse: a malformed
	// request line, header or Host (400).
	CodeBadRequest = "bad_request"
	// CodeTooLarge: a request body over its bound, or a request that costs
	// more tokens than a limit lets through in a whole window (413).
	CodeTooLarge = "too_large"
	// CodeURITooLong: a request target over MaxHeaderBytes (414).
	CodeURITooLong = "uri_too_long"
	// CodeHeadersTooLarge: request headers over MaxHeaderBytes or
	// MaxHeaderFields (431).
	CodeHeadersTooLarge = "headers_too_large"
	// CodeExpectationFailed: an Expect header other than 100-continue
	// (417).
	CodeExpectationFailed = "expectation_failed"
	// CodeNotImplemented: a transfer coding heed serve does not know (501).
	CodeNotImplemented = "not_implemented"
	// CodeHTTPVersionNotSupported: a protocol version other than HTTP/1.x
	// (505).
	CodeHTTPVersionNotSupported = "http_version_not_supported"
)

// apiError is the body of every error heed serve writes itself.
type apiError struct {
	Error     string   `json:"error"`
	Message   string   `json:"message"`
	Upstreams []string `json:"upstreams,omitempty"`
	// Classes lists the upstream's priority classes (unknown_priority).
	Classes []string `json:"classes,omitempty"`
}

// errorHeader is the header of every error heed serve writes itself.
var errorHeader = [][2]string{{"Content-Type", "application/json"}, {"X-Content-Type-Options", "nosniff"}}

// writeError writes a JSON error with status.
func writeError(w http.ResponseWriter, status int, e apiError) {
	for _, kv := range errorHeader {
		w.Header().Set(kv[0], kv[1])
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

// refusal is an answer heed serve gives instead of serving a request.
// Checks return one, or nil to let the request through.
type refusal struct {
	status int
	header [2]string // an extra header (WWW-Authenticate...) when [0] is set
	err    apiError
}

// write answers with the refusal.
func (f *refusal) write(w http.ResponseWriter) {
	if f.header[0] != "" {
		w.Header().Set(f.header[0], f.header[1])
	}
	writeError(w, f.status, f.err)
}

// check is one of the conditions a request must meet.
type check func(*http.Request) *refusal

// refused runs checks in order and answers with the first refusal; it
// reports whether there was one.
func refused(w http.ResponseWriter, r *http.Request, checks ...check) bool {
	for _, c := range checks {
		if f := c(r); f != nil {
			f.write(w)
			return true
		}
	}
	return false
}

// rawError returns a whole HTTP/1.1 response carrying a JSON error with
// status, closing the connection: what the listener writes in place of an
// answer net/http makes before any handler runs.
func rawError(status int, e apiError) []byte {
	var body bytes.Buffer
	_ = json.NewEncoder(&body).Encode(e)
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	for _, kv := range errorHeader {
		fmt.Fprintf(&b, "%s: %s\r\n", kv[0], kv[1])
	}
	fmt.Fprintf(&b, "Connection: close\r\nContent-Length: %d\r\n\r\n", body.Len())
	b.Write(body.Bytes())
	return b.Bytes()
}

// statusCodes are the error codes of the statuses that net/http and the
// handlers heed serve wraps answer with plain text.
var statusCodes = map[int]string{
	http.StatusBadRequest:                  CodeBadRequest,
	http.StatusNotFound:                    CodeNotFound,
	http.StatusMethodNotAllowed:            CodeMethodNotAllowed,
	http.StatusRequestEntityTooLarge:       CodeTooLarge,
	http.StatusRequestURITooLong:           CodeURITooLong,
	http.StatusExpectationFailed:           CodeExpectationFailed,
	http.StatusRequestHeaderFieldsTooLarge: CodeHeadersTooLarge,
	http.StatusNotImplemented:              CodeNotImplemented,
	http.StatusHTTPVersionNotSupported:     CodeHTTPVersionNotSupported,
}

// codeOf returns the error code of status: a known one, or "http_" and the
// number.
func codeOf(status int) string {
	if code, ok := statusCodes[status]; ok {
		return code
	}
	return "http_" + strconv.Itoa(status)
}

// jsonErrors turns the plain-text errors of h (those of http.ServeMux,
// http.FileServer and http.Error: a status of 400 or more with a text/plain
// body) into heed serve's JSON errors, with message's words; h's JSON
// errors and other answers pass as they are.
func jsonErrors(h http.Handler, message func(r *http.Request, status int) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&plainErrorWriter{ResponseWriter: w, r: r, message: message}, r)
	})
}

// plainErrorWriter writes a JSON error instead of a plain-text one.
type plainErrorWriter struct {
	http.ResponseWriter
	r        *http.Request
	message  func(r *http.Request, status int) string
	replaced bool // a JSON error was written: drop the plain body
}

func (w *plainErrorWriter) WriteHeader(status int) {
	h := w.ResponseWriter.Header()
	if status < 400 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.replaced = true
	h.Del("Content-Length")
	h.Del("Content-Security-Policy")
	writeError(w.ResponseWriter, status, apiError{Error: codeOf(status), Message: w.message(w.r, status)})
}

func (w *plainErrorWriter) Write(p []byte) (int, error) {
	if w.replaced {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *plainErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
