package jobs

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	key1 = bytes.Repeat([]byte{1}, KeySize)
	key2 = bytes.Repeat([]byte{2}, KeySize)
)

// newTestKeyring returns the keyring of current and previous, failing the
// test on error.
func newTestKeyring(t *testing.T, current []byte, previous ...[]byte) *keyring {
	t.Helper()
	k, err := newKeyring(current, previous)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSealFormat: a sealed value reads v1.<key id>.<base64url>, names the
// key that sealed it, and differs each time (a random nonce).
func TestSealFormat(t *testing.T) {
	t.Parallel()
	k := newTestKeyring(t, key1)
	aad := additionalData("id", "up", "headers.Authorization")
	a, b := k.seal([]byte(`["Bearer secret"]`), aad), k.seal([]byte(`["Bearer secret"]`), aad)
	re := regexp.MustCompile(`^v1\.` + keyID(key1) + `\.[A-Za-z0-9_-]+$`)
	if !re.MatchString(a) {
		t.Errorf("got %q, want v1.%s.<base64url>", a, keyID(key1))
	}
	if a == b {
		t.Errorf("the same value sealed twice gave %q both times, want a fresh nonce each time", a)
	}
	if strings.Contains(a, "secret") {
		t.Errorf("got %q, which quotes the value", a)
	}
	if plain, err := k.open(a, aad); err != nil || string(plain) != `["Bearer secret"]` {
		t.Errorf("open: got %q, %v, want the value back", plain, err)
	}
}

// TestSealBindsJobUpstreamAndPlace: a sealed value opens only with the
// additional data it was sealed with, and any change to it is refused.
func TestSealBindsJobUpstreamAndPlace(t *testing.T) {
	t.Parallel()
	k := newTestKeyring(t, key1)
	sealedValue := k.seal([]byte(`["tok"]`), additionalData("job-a", "github", "headers.Authorization"))
	box, _ := strings.CutPrefix(sealedValue, "v1."+keyID(key1)+".")
	raw, _ := base64.RawURLEncoding.DecodeString(box)
	raw[len(raw)-1] ^= 1
	tests := []struct {
		name, value, id, upstream, place string
		want                             string // in the error
	}{
		{"AnotherJob", sealedValue, "job-b", "github", "headers.Authorization", "does not open"},
		{"AnotherUpstream", sealedValue, "job-a", "evil", "headers.Authorization", "does not open"},
		{"AnotherPlace", sealedValue, "job-a", "github", "query.api_key", "does not open"},
		{"Altered", "v1." + keyID(key1) + "." + base64.RawURLEncoding.EncodeToString(raw), "job-a", "github", "headers.Authorization", "does not open"},
		{"Truncated", "v1." + keyID(key1) + ".AAAA", "job-a", "github", "headers.Authorization", "malformed"},
		{"NotBase64", "v1." + keyID(key1) + ".***", "job-a", "github", "headers.Authorization", "malformed"},
		{"OtherVersion", "v9." + keyID(key1) + "." + box, "job-a", "github", "headers.Authorization", "not a sealed value"},
		{"Plain", "Bearer tok", "job-a", "github", "headers.Authorization", "not a sealed value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := k.open(tt.value, additionalData(tt.id, tt.upstream, tt.place))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestSealRotation: the current key seals; a previous key opens what it
// sealed; a key rotated out is named in a clear error.
func TestSealRotation(t *testing.T) {
	t.Parallel()
	aad := additionalData("id", "up", "query.api_key")
	old := newTestKeyring(t, key1).seal([]byte(`["k"]`), aad)
	rotated := newTestKeyring(t, key2, key1)
	if plain, err := rotated.open(old, aad); err != nil || string(plain) != `["k"]` {
		t.Errorf("a previous key: got %q, %v, want it to open", plain, err)
	}
	if s := rotated.seal([]byte(`["k"]`), aad); !strings.HasPrefix(s, "v1."+keyID(key2)+".") {
		t.Errorf("got %q, want it sealed under the current key %s", s, keyID(key2))
	}
	_, err := newTestKeyring(t, key2).open(old, aad)
	if err == nil || !strings.Contains(err.Error(), "key "+keyID(key1)+", which is not configured") || !strings.Contains(err.Error(), "previous_encryption_keys") {
		t.Errorf("a key rotated out: got %v, want an error naming key %s and previous_encryption_keys", err, keyID(key1))
	}
}

func TestNewKeyring(t *testing.T) {
	t.Parallel()
	if k, err := newKeyring(nil, nil); k != nil || err != nil {
		t.Errorf("no key: got %v, %v, want nil, nil", k, err)
	}
	tests := []struct {
		name     string
		current  []byte
		previous [][]byte
		want     string
	}{
		{"Short", key1[:16], nil, "16 bytes, want 32"},
		{"ShortPrevious", key1, [][]byte{key2[:31]}, "encryption key 1: 31 bytes, want 32"},
		{"Twice", key1, [][]byte{key2, key1}, "encryption key 2: the same key"},
		{"PreviousOnly", nil, [][]byte{key1}, "without a current one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newKeyring(tt.current, tt.previous)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestKeyIDIsKeyed: a key's id is 8 hex digits of a keyed hash, not of a
// plain SHA-256 of the key.
func TestKeyIDIsKeyed(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256(key1)
	if id := keyID(key1); len(id) != 8 || id == hex.EncodeToString(sum[:4]) || id == keyID(key2) {
		t.Errorf("got %q (%q for key2), want 8 hex digits, not SHA-256's %q", id, keyID(key2), hex.EncodeToString(sum[:4]))
	}
}

// TestErrorsQuoteNoURL: a send error keeps its cause and drops the URL,
// whose query may hold a credential.
func TestErrorsQuoteNoURL(t *testing.T) {
	t.Parallel()
	err := withoutURL(&url.Error{Op: "Get", URL: "http://127.0.0.1:9/x?api_key=tokSECRET", Err: errors.New("connection refused")})
	if got := err.Error(); got != "Get: connection refused" {
		t.Errorf("got %q, want %q", got, "Get: connection refused")
	}
}
