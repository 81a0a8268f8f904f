package httpcache

import (
	"net/http"
	"net/textproto"
	"strings"
	"time"
)

// hopByHop are the fields that describe one connection, never stored
// (RFC 9110 7.6.1, RFC 9111 3.1), with Set-Cookie, which a cache shared by
// the requests of one credential but maybe many users must not replay.
var hopByHop = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Transfer-Encoding",
	"Upgrade", "Proxy-Authenticate", "Proxy-Authorization", "Trailer",
	"Set-Cookie", "Set-Cookie2",
}

// storedHeader is a copy of h as an entry keeps it: without hop-by-hop
// fields, the fields Connection names, Set-Cookie, and the fields named by
// qualified no-cache and private directives; with a Date (responseTime)
// when h has no valid one.
func storedHeader(h http.Header, responseTime time.Time) http.Header {
	out := h.Clone()
	if out == nil {
		out = make(http.Header)
	}
	for _, name := range excluded(h) {
		delete(out, name)
	}
	if _, err := parseHTTPDate(out.Get("Date")); err != nil {
		out.Set("Date", responseTime.UTC().Format(http.TimeFormat))
	}
	return out
}

// excluded lists the fields of h never stored: hop-by-hop fields, those
// named in Connection, and those named by qualified no-cache and private.
func excluded(h http.Header) []string {
	names := append([]string(nil), hopByHop...)
	for _, line := range h["Connection"] {
		for f := range strings.SplitSeq(line, ",") {
			if f = strings.TrimSpace(f); f != "" {
				names = append(names, textproto.CanonicalMIMEHeaderKey(f))
			}
		}
	}
	d := ParseCacheControl(h["Cache-Control"])
	names = append(names, d.NoCacheFields...)
	return append(names, d.PrivateFields...)
}

// notUpdated are the fields a 304 never changes in a stored response (RFC
// 9111 3.2): Content-Length, and Content-Encoding and Content-Range, since
// the stored body is the one the client received.
var notUpdated = []string{"Content-Length", "Content-Encoding", "Content-Range"}

// updatedHeader is stored updated by the fields of a 304's header nm (RFC
// 9111 3.2 and 4.3.4): each field of nm replaces the stored one, except
// those never stored and those in notUpdated. The stored Age is dropped (it
// was the old response's), and Date set to responseTime when nm has none.
func updatedHeader(stored, nm http.Header, responseTime time.Time) http.Header {
	out := stored.Clone()
	delete(out, "Age")
	skip := append(excluded(nm), notUpdated...)
	for name, values := range nm {
		name = textproto.CanonicalMIMEHeaderKey(name)
		if !containsFold(skip, name) {
			out[name] = append([]string(nil), values...)
		}
	}
	for _, name := range excluded(out) {
		delete(out, name)
	}
	if _, err := parseHTTPDate(nm.Get("Date")); err != nil {
		out.Set("Date", responseTime.UTC().Format(http.TimeFormat))
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
