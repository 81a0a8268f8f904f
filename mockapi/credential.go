package mockapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// AnonymousID is the cred id of requests that carry no credential.
const AnonymousID = "anonymous"

// credentialOf returns the credential a request carries: the token of its
// Authorization header (the part after the scheme, so "Bearer sk-1" is
// "sk-1"), else its X-Api-Key header, else its api_key query parameter,
// else "".
func credentialOf(r *http.Request) string {
	if auth := strings.TrimSpace(r.Header.Get("Authorization")); auth != "" {
		if _, token, ok := strings.Cut(auth, " "); ok {
			return strings.TrimSpace(token)
		}
		return auth
	}
	if key := r.Header.Get("X-Api-Key"); key != "" {
		return key
	}
	return r.URL.Query().Get("api_key")
}

// CredID returns the id under which stats and logs name a credential: the
// first 12 hex digits of its SHA-256, or AnonymousID for "". The credential
// itself is never stored, logged or shown.
func CredID(credential string) string {
	if credential == "" {
		return AnonymousID
	}
	sum := sha256.Sum256([]byte(credential))
	return hex.EncodeToString(sum[:6])
}
