package scope

import (
	"fmt"
	"net/url"
	"strings"
)

// anonymous stands for the empty fingerprint, the scope of requests that
// carry no credential, in a Key's string form.
const anonymous = "anonymous"

// Key names a scope: the unit of shared state (cooldowns, limits). The zero
// Fingerprint is the upstream's anonymous scope; the zero Tenant means no
// tenant.
type Key struct {
	Tenant      string
	Upstream    string
	Fingerprint string // FingerprintLen hex digits, or "" for anonymous
}

// String returns the compact form tenant/upstream/fingerprint, such as
// "acme/github/3fa9c2...", "acme/github/anonymous" or, without a tenant,
// "/github/3fa9c2...". Each part is escaped as a URL path segment, so no
// part can contain a "/" (or a Redis hash-tag brace), and ParseKey reverses
// it. It is fit for a store key, a log line or a metric label.
func (k Key) String() string {
	fp := k.Fingerprint
	if fp == "" {
		fp = anonymous
	}
	return url.PathEscape(k.Tenant) + "/" + url.PathEscape(k.Upstream) + "/" + url.PathEscape(fp)
}

// Short returns the first 8 hex digits of the fingerprint, for display, or
// "anonymous".
func (k Key) Short() string {
	if k.Fingerprint == "" {
		return anonymous
	}
	return k.Fingerprint[:min(8, len(k.Fingerprint))]
}

// Anonymous reports whether k is the scope of requests without credentials.
func (k Key) Anonymous() bool { return k.Fingerprint == "" }

// ParseKey parses the form String returns. The upstream must not be empty
// and the fingerprint must be FingerprintLen lowercase hex digits or
// "anonymous".
func ParseKey(s string) (Key, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return Key{}, fmt.Errorf("scope: key %q: want tenant/upstream/fingerprint", s)
	}
	var k Key
	var err error
	for i, dst := range []*string{&k.Tenant, &k.Upstream, &k.Fingerprint} {
		if *dst, err = url.PathUnescape(parts[i]); err != nil {
			return Key{}, fmt.Errorf("scope: key %q: %w", s, err)
		}
	}
	if k.Upstream == "" {
		return Key{}, fmt.Errorf("scope: key %q: upstream is empty", s)
	}
	if k.Fingerprint == anonymous {
		k.Fingerprint = ""
	} else if !isFingerprint(k.Fingerprint) {
		return Key{}, fmt.Errorf("scope: key %q: fingerprint must be %d lowercase hex digits or %q", s, FingerprintLen, anonymous)
	}
	return k, nil
}

// isFingerprint reports whether s is FingerprintLen lowercase hex digits.
func isFingerprint(s string) bool {
	if len(s) != FingerprintLen {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
