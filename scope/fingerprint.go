package scope

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"

	"github.com/heedhq/heed/internal/httptoken"
)

// MinSecretLen is the shortest secret NewFingerprinter accepts, in bytes.
const MinSecretLen = 16

// FingerprintLen is the length of a fingerprint in hex digits (128 bits).
const FingerprintLen = 32

// Fingerprinter computes credential fingerprints. It is safe for concurrent
// use and must not be copied after first use.
type Fingerprinter struct {
	headers []place        // built-in header places, then the extra ones
	builtin int            // how many of headers are built in
	index   map[string]int // position in headers by canonical name
	query   []place        // query parameter places, searched last
	pool    sync.Pool      // of *macState, keyed with the secret
}

// place is where a credential may be: a header's canonical name or a query
// parameter's name, and the source that names it in results and in the MAC
// input.
type place struct {
	name   string
	source string
}

// macState is the per-call scratch space: a keyed HMAC and buffers, reused
// through the pool so that a fingerprint costs one allocation.
type macState struct {
	mac    hash.Hash
	buf    []byte // the canonical encoding of the credentials found
	mac256 [sha256.Size]byte
}

// maxPooledBuf bounds the buffer a pooled state keeps, so that one huge
// credential does not pin memory.
const maxPooledBuf = 64 << 10

// userinfoSource names URL user info; ":" keeps it apart from header names.
const userinfoSource = "url:userinfo"

// CredentialHeaders returns the request headers heed knows to carry
// credentials, canonical, in the order a Fingerprinter searches them first:
// the one list that every part of heed reading credentials uses (the
// fingerprint, and package jobs, which keeps them sealed). DD-API-KEY and
// DD-APPLICATION-KEY (Datadog) are both read when both are present. Each
// call returns a new slice, the caller's to keep.
func CredentialHeaders() []string {
	return []string{
		"Authorization", "X-Api-Key", "Api-Key", "X-Goog-Api-Key", "Private-Token",
		"Dd-Api-Key", "Dd-Application-Key", "Circle-Token", "X-Sf-Token",
	}
}

// RandomSecret returns 32 random bytes, a secret for a Fingerprinter whose
// fingerprints need not agree with any other process.
func RandomSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return b
}

// NewFingerprinter returns a Fingerprinter keyed with secret (at least
// MinSecretLen bytes; it is copied) that also searches extraHeaders
// (case-insensitive) and extraQuery (URL query parameter names, exact).
func NewFingerprinter(secret []byte, extraHeaders, extraQuery []string) (*Fingerprinter, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("scope: secret is %d bytes, want at least %d", len(secret), MinSecretLen)
	}
	headers, err := headerPlaces(extraHeaders)
	if err != nil {
		return nil, err
	}
	query, err := queryPlaces(extraQuery)
	if err != nil {
		return nil, err
	}
	key := append([]byte(nil), secret...)
	f := &Fingerprinter{headers: headers, builtin: len(CredentialHeaders()), query: query, index: make(map[string]int)}
	for i, p := range headers {
		f.index[p.name] = i
	}
	f.pool.New = func() any { return &macState{mac: hmac.New(sha256.New, key)} }
	return f, nil
}

// headerPlaces returns the built-in headers followed by the extra ones,
// canonicalized, without repeats.
func headerPlaces(extra []string) ([]place, error) {
	names := CredentialHeaders()
	for _, h := range extra {
		if !httptoken.Valid(h) {
			return nil, fmt.Errorf("scope: extra header %q is not a valid header name", h)
		}
		names = append(names, textproto.CanonicalMIMEHeaderKey(h))
	}
	var places []place
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			places = append(places, place{name: n, source: strings.ToLower(n)})
		}
	}
	if len(places) > maxHeaderPlaces {
		return nil, fmt.Errorf("scope: %d extra headers, want at most %d", len(places)-len(CredentialHeaders()), maxHeaderPlaces-len(CredentialHeaders()))
	}
	return places, nil
}

// maxHeaderPlaces bounds the header places, built-in and extra, so that a
// set of them fits in a uint64.
const maxHeaderPlaces = 64

// queryPlaces returns the query parameters to search, without repeats.
func queryPlaces(names []string) ([]place, error) {
	var places []place
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" {
			return nil, fmt.Errorf("scope: extra query parameter name is empty")
		}
		if !seen[n] {
			seen[n] = true
			places = append(places, place{name: n, source: "query:" + n})
		}
	}
	return places, nil
}

// Fingerprint returns the fingerprint of every credential r carries: the
// first FingerprintLen hex digits of an HMAC-SHA256, under the secret, of a
// canonical encoding of each credential with the name of its place, in a
// fixed order (the built-in headers, URL user info, extra headers, extra
// query parameters). source names the places, joined by "+" when several
// ("authorization", "dd-api-key+dd-application-key", "query:api_key"), never
// the values. ok is false, with fp and source empty, when r carries no
// credential: it belongs to the anonymous scope.
//
// Headers are looked up by canonical name, as http.Header.Get does; a header
// placed in the map under another spelling is not seen. Empty values are
// not credentials.
func (f *Fingerprinter) Fingerprint(r *http.Request) (fp, source string, ok bool) {
	s := f.pool.Get().(*macState)
	defer f.put(s)
	sources := f.encode(s, r)
	if len(s.buf) == 0 {
		return "", "", false
	}
	return s.sum().String(), sources.String(), true
}

// Sum is a fingerprint in binary: the FingerprintLen/2 bytes whose hex
// digits Fingerprint returns. The zero Sum stands for no credential.
type Sum [FingerprintLen / 2]byte

// String returns the fingerprint's FingerprintLen lowercase hex digits, or
// "" for the zero Sum.
func (s Sum) String() string {
	if s == (Sum{}) {
		return ""
	}
	return hex.EncodeToString(s[:])
}

// Sum returns the fingerprint of every credential r carries, as
// Fingerprint does, in binary and without allocating: a hot path can use
// it as a map key. ok is false, with the zero Sum, when r carries no
// credential.
func (f *Fingerprinter) Sum(r *http.Request) (sum Sum, ok bool) {
	s := f.pool.Get().(*macState)
	defer f.put(s)
	f.encode(s, r)
	if len(s.buf) == 0 {
		return Sum{}, false
	}
	return s.sum(), true
}

// encode writes the canonical encoding of r's credentials into s.buf and
// returns their sources.
func (f *Fingerprinter) encode(s *macState, r *http.Request) sourceList {
	s.buf = s.buf[:0]
	var sources sourceList
	present := f.present(r.Header)
	f.encodeHeaders(s, &sources, r.Header, present, 0, f.builtin)
	if r.URL != nil && s.addUserinfo(r.URL.User) {
		sources.add(userinfoSource)
	}
	f.encodeHeaders(s, &sources, r.Header, present, f.builtin, len(f.headers))
	for _, p := range f.query {
		if r.URL != nil && s.addQuery(p, r.URL.RawQuery) {
			sources.add(p.source)
		}
	}
	return sources
}

// encodeHeaders encodes the header places from to to (exclusive) that are
// in the present set.
func (f *Fingerprinter) encodeHeaders(s *macState, sources *sourceList, h http.Header, present uint64, from, to int) {
	for i := from; i < to; i++ {
		p := f.headers[i]
		if present&(1<<i) != 0 && s.addValues(p.source, h[p.name]) {
			sources.add(p.source)
		}
	}
}

// present returns the set of header places h has, as bits by position,
// with whichever is fewer: lookups of h's names or lookups of the places.
func (f *Fingerprinter) present(h http.Header) uint64 {
	var mask uint64
	if len(h) < len(f.headers) {
		for name := range h {
			if i, ok := f.index[name]; ok {
				mask |= 1 << i
			}
		}
		return mask
	}
	for i, p := range f.headers {
		if _, ok := h[p.name]; ok {
			mask |= 1 << i
		}
	}
	return mask
}

// put returns s to the pool unless its buffer grew too large.
func (f *Fingerprinter) put(s *macState) {
	if cap(s.buf) > maxPooledBuf {
		s.buf = nil
	}
	f.pool.Put(s)
}

// The canonical encoding of the credentials found is, for each place in
// order: the uvarint length of its source and the source, then for each
// value a 1 byte, the uvarint length and the value, then a 0 byte. It is
// unambiguous, so different credentials, or the same one in different
// places, never encode alike.

// addValues encodes the values of one header; it reports whether any is
// non-empty, and encodes nothing otherwise.
func (s *macState) addValues(source string, values []string) bool {
	if !anyNonEmpty(values) {
		return false
	}
	s.addSource(source)
	for _, v := range values {
		s.addValue(v)
	}
	s.buf = append(s.buf, 0)
	return true
}

// addUserinfo encodes URL user info, the user and the password when set.
func (s *macState) addUserinfo(u *url.Userinfo) bool {
	if u == nil {
		return false
	}
	user := u.Username()
	password, hasPassword := u.Password()
	if user == "" && password == "" {
		return false
	}
	s.addSource(userinfoSource)
	s.addValue(user)
	if hasPassword {
		s.addValue(password)
	}
	s.buf = append(s.buf, 0)
	return true
}

// addQuery encodes every non-empty value of the query parameter p in the
// raw query, in order, and reports whether there was one.
func (s *macState) addQuery(p place, rawQuery string) bool {
	found := false
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		key, value, _ := strings.Cut(pair, "=")
		if unescapeQuery(key) != p.name {
			continue
		}
		if value = unescapeQuery(value); value == "" {
			continue
		}
		if !found {
			s.addSource(p.source)
			found = true
		}
		s.addValue(value)
	}
	if found {
		s.buf = append(s.buf, 0)
	}
	return found
}

// addSource encodes the name of a place.
func (s *macState) addSource(source string) {
	s.buf = binary.AppendUvarint(s.buf, uint64(len(source)))
	s.buf = append(s.buf, source...)
}

// addValue encodes one credential value.
func (s *macState) addValue(v string) {
	s.buf = append(s.buf, 1)
	s.buf = binary.AppendUvarint(s.buf, uint64(len(v)))
	s.buf = append(s.buf, v...)
}

// sum returns the truncated HMAC of the encoding in buf.
func (s *macState) sum() Sum {
	s.mac.Reset()
	s.mac.Write(s.buf)
	var out Sum
	copy(out[:], s.mac.Sum(s.mac256[:0]))
	return out
}

// anyNonEmpty reports whether some value is not empty.
func anyNonEmpty(values []string) bool {
	for _, v := range values {
		if v != "" {
			return true
		}
	}
	return false
}

// unescapeQuery decodes a query key or value, leaving it as it is when it
// needs no decoding or is malformed.
func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// sourceList collects the sources of the credentials found; only a second
// source allocates.
type sourceList struct {
	first string
	more  []string
}

// add appends a source.
func (l *sourceList) add(source string) {
	if l.first == "" {
		l.first = source
		return
	}
	l.more = append(l.more, source)
}

// String joins the sources with "+".
func (l *sourceList) String() string {
	if len(l.more) == 0 {
		return l.first
	}
	return l.first + "+" + strings.Join(l.more, "+")
}
