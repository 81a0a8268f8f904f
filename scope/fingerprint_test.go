package scope

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// testSecret is a fixed secret, so that fingerprints are reproducible.
var testSecret = []byte("0123456789abcdef-test-secret")

// newRequest returns a GET request for rawURL with the given headers, set
// with Header.Set (pairs of name, value).
func newRequest(t testing.TB, rawURL string, headers ...string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

// newFingerprinter returns a Fingerprinter under testSecret that also reads
// the header X-My-Token and the query parameter api_key.
func newFingerprinter(t testing.TB) *Fingerprinter {
	t.Helper()
	f, err := NewFingerprinter(testSecret, []string{"x-my-token"}, []string{"api_key"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFingerprintPlaces(t *testing.T) {
	t.Parallel()
	const tok = "tok_SECRET_1234567890"
	tests := []struct {
		name       string
		url        string
		headers    []string
		wantSource string
	}{
		{"Authorization", "https://api.example.com/", []string{"Authorization", "Bearer " + tok}, "authorization"},
		{"XApiKey", "https://api.example.com/", []string{"x-api-key", tok}, "x-api-key"},
		{"ApiKey", "https://api.example.com/", []string{"api-key", tok}, "api-key"},
		{"XGoogApiKey", "https://api.example.com/", []string{"x-goog-api-key", tok}, "x-goog-api-key"},
		{"PrivateToken", "https://api.example.com/", []string{"PRIVATE-TOKEN", tok}, "private-token"},
		{"DatadogApiKey", "https://api.example.com/", []string{"DD-API-KEY", tok}, "dd-api-key"},
		{"DatadogApplicationKey", "https://api.example.com/", []string{"DD-APPLICATION-KEY", tok}, "dd-application-key"},
		{"DatadogBoth", "https://api.example.com/", []string{"DD-APPLICATION-KEY", "app" + tok, "DD-API-KEY", tok}, "dd-api-key+dd-application-key"},
		{"CircleToken", "https://api.example.com/", []string{"Circle-Token", tok}, "circle-token"},
		{"XSFToken", "https://api.example.com/", []string{"X-SF-Token", tok}, "x-sf-token"},
		{"Userinfo", "https://alice:" + tok + "@api.example.com/", nil, "url:userinfo"},
		{"UserinfoUserOnly", "https://" + tok + "@api.example.com/", nil, "url:userinfo"},
		{"ExtraHeader", "https://api.example.com/", []string{"X-MY-TOKEN", tok}, "x-my-token"},
		{"ExtraQuery", "https://api.example.com/?q=x&api_key=" + tok, nil, "query:api_key"},
		{"ExtraQueryEscaped", "https://api.example.com/?api%5Fkey=" + tok + "%2B", nil, "query:api_key"},
		{"ExtraQueryBadEscape", "https://api.example.com/?api_key=%zz" + tok, nil, "query:api_key"},
		{"OrderIsFixed", "https://api.example.com/?api_key=" + tok, []string{"X-My-Token", tok, "Authorization", tok}, "authorization+x-my-token+query:api_key"},
		{"UserinfoBeforeExtras", "https://u:" + tok + "@api.example.com/", []string{"X-My-Token", tok, "X-Api-Key", tok}, "x-api-key+url:userinfo+x-my-token"},
	}
	f := newFingerprinter(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fp, source, ok := f.Fingerprint(newRequest(t, tt.url, tt.headers...))
			if !ok || source != tt.wantSource {
				t.Fatalf("got (%q, %v), want (%q, true)", source, ok, tt.wantSource)
			}
			if len(fp) != FingerprintLen || !isFingerprint(fp) {
				t.Errorf("got fingerprint %q, want %d lowercase hex digits", fp, FingerprintLen)
			}
			key := Key{Tenant: "acme", Upstream: "github", Fingerprint: fp}
			for _, s := range []string{fp, source, key.String(), key.Short()} {
				if strings.Contains(s, tok) || strings.Contains(s, "SECRET") {
					t.Errorf("got %q, which contains the credential", s)
				}
			}
		})
	}
}

func TestFingerprintAnonymous(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     string
		headers []string
	}{
		{"NoCredential", "https://api.example.com/x?q=1", []string{"Accept", "application/json"}},
		{"EmptyAuthorization", "https://api.example.com/", []string{"Authorization", ""}},
		{"EmptyQueryValue", "https://api.example.com/?api_key=", nil},
		{"OtherQueryParameter", "https://api.example.com/?key=abc", nil},
		{"EmptyUserinfo", "https://@api.example.com/", nil},
		{"UnconfiguredHeader", "https://api.example.com/", []string{"X-Other-Token", "abc"}},
	}
	f := newFingerprinter(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fp, source, ok := f.Fingerprint(newRequest(t, tt.url, tt.headers...))
			if ok || fp != "" || source != "" {
				t.Errorf("got (%q, %q, %v), want (\"\", \"\", false)", fp, source, ok)
			}
		})
	}
}

// fingerprintOf returns the fingerprint of a request, failing when none.
func fingerprintOf(t *testing.T, f *Fingerprinter, rawURL string, headers ...string) string {
	t.Helper()
	fp, _, ok := f.Fingerprint(newRequest(t, rawURL, headers...))
	if !ok {
		t.Fatalf("%s %q: no credential found", rawURL, headers)
	}
	return fp
}

func TestFingerprintDistinguishes(t *testing.T) {
	t.Parallel()
	const u = "https://api.example.com/"
	tests := []struct {
		name string
		a, b []string // headers of two requests that must differ
		aURL string   // URL of the first request; u when empty
	}{
		{"DifferentTokens", []string{"Authorization", "Bearer a"}, []string{"Authorization", "Bearer b"}, ""},
		{"SameTokenOtherHeader", []string{"Authorization", "tok"}, []string{"X-Api-Key", "tok"}, ""},
		{"SameTokenExtraHeader", []string{"X-Api-Key", "tok"}, []string{"X-My-Token", "tok"}, ""},
		{"SecondCredential", []string{"Authorization", "tok"}, []string{"Authorization", "tok", "X-Api-Key", "k"}, ""},
		{"DatadogPairVsOne", []string{"DD-API-KEY", "k"}, []string{"DD-API-KEY", "k", "DD-APPLICATION-KEY", "a"}, ""},
		{"SplitBoundary", []string{"Authorization", "ab", "Authorization", "c"}, []string{"Authorization", "a", "Authorization", "bc"}, ""},
		{"HugeTokens", []string{"Authorization", strings.Repeat("a", 70000)}, []string{"Authorization", strings.Repeat("a", 69999) + "b"}, ""},
		{"QueryVsHeader", nil, []string{"X-My-Token", "tok"}, u + "?api_key=tok"},
		{"UserinfoVsHeader", nil, []string{"Authorization", "alice:pw"}, "https://alice:pw@api.example.com/"},
	}
	f := newFingerprinter(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			aURL := tt.aURL
			if aURL == "" {
				aURL = u
			}
			a, b := fingerprintOf(t, f, aURL, tt.a...), fingerprintOf(t, f, u, tt.b...)
			if a == b {
				t.Errorf("got equal fingerprints %s, want different", a)
			}
		})
	}
}

func TestFingerprintAgrees(t *testing.T) {
	t.Parallel()
	const u = "https://api.example.com/"
	tests := []struct {
		name string
		a, b []string // headers of two requests that must agree
	}{
		{"HeaderNameCase", []string{"authorization", "tok"}, []string{"AUTHORIZATION", "tok"}},
		{"ExtraHeaderCase", []string{"x-my-token", "tok"}, []string{"X-My-Token", "tok"}},
		{"OtherHeadersIgnored", []string{"X-Api-Key", "tok"}, []string{"X-Api-Key", "tok", "Accept", "text/plain", "X-Request-Id", "42"}},
		{"ManyOtherHeaders", []string{"X-Api-Key", "tok"}, append([]string{"X-Api-Key", "tok"}, manyOtherHeaders(12)...)},
		{"SettingOrderIgnored", []string{"X-Api-Key", "k", "Authorization", "a"}, []string{"Authorization", "a", "X-Api-Key", "k"}},
	}
	f := newFingerprinter(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if a, b := fingerprintOf(t, f, u, tt.a...), fingerprintOf(t, f, u, tt.b...); a != b {
				t.Errorf("got %s and %s, want equal", a, b)
			}
		})
	}
}

func TestFingerprintSecret(t *testing.T) {
	t.Parallel()
	const u = "https://api.example.com/"
	secret := bytes.Clone(testSecret)
	f := newFingerprinter(t)
	g, err := NewFingerprinter(secret, []string{"X-My-Token"}, []string{"api_key"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewFingerprinter([]byte("another-secret-of-16+"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := fingerprintOf(t, f, u, "Authorization", "tok")
	secret[0] ^= 0xff // the Fingerprinter keeps its own copy
	t.Run("SameSecretAgrees", func(t *testing.T) {
		if got := fingerprintOf(t, g, u, "Authorization", "tok"); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("OtherSecretDiffers", func(t *testing.T) {
		if got := fingerprintOf(t, other, u, "Authorization", "tok"); got == want {
			t.Errorf("got %s under both secrets, want different", got)
		}
	})
}

// TestFingerprintStable pins the encoding: a fleet running two versions of
// heed must agree on every scope, so changing it is a breaking change. The
// values were computed independently, with Python's hmac module over the
// encoding documented in fingerprint.go.
func TestFingerprintStable(t *testing.T) {
	t.Parallel()
	f := newFingerprinter(t)
	tests := []struct {
		name    string
		url     string
		headers []string
		want    string
	}{
		{"Authorization", "https://api.example.com/", []string{"Authorization", "Bearer tok"}, "ac579ee804e59101238fc67fcc69b6ab"},
		{"Combined", "https://u:p@api.example.com/?api_key=q", []string{"X-Api-Key", "k", "X-My-Token", "m"}, "66392e867f1f245ac831fa19a0d4b595"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := fingerprintOf(t, f, tt.url, tt.headers...); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFingerprintConcurrent(t *testing.T) {
	t.Parallel()
	f := newFingerprinter(t)
	want := fingerprintOf(t, f, "https://api.example.com/", "Authorization", "tok")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				fp, _, _ := f.Fingerprint(newRequest(t, "https://api.example.com/", "Authorization", "tok"))
				if fp != want {
					t.Errorf("got %s, want %s", fp, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNewFingerprinterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secret  []byte
		headers []string
		query   []string
		want    string
	}{
		{"ShortSecret", []byte("fifteen bytes!!"), nil, nil, "scope: secret is 15 bytes, want at least 16"},
		{"NoSecret", nil, nil, nil, "scope: secret is 0 bytes, want at least 16"},
		{"BadHeader", testSecret, []string{"X Token"}, nil, `scope: extra header "X Token" is not a valid header name`},
		{"EmptyHeader", testSecret, []string{""}, nil, `scope: extra header "" is not a valid header name`},
		{"TooManyHeaders", testSecret, manyHeaders(56), nil, "scope: 56 extra headers, want at most 55"},
		{"EmptyQuery", testSecret, nil, []string{""}, "scope: extra query parameter name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := NewFingerprinter(tt.secret, tt.headers, tt.query)
			if err == nil || err.Error() != tt.want || f != nil {
				t.Errorf("got (%v, %v), want (nil, %s)", f, err, tt.want)
			}
		})
	}
}

// manyOtherHeaders returns n headers that carry no credential, as name,
// value pairs.
func manyOtherHeaders(n int) []string {
	var pairs []string
	for i := range n {
		pairs = append(pairs, fmt.Sprintf("X-Other-%d", i), "v")
	}
	return pairs
}

// manyHeaders returns n distinct header names.
func manyHeaders(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("X-Token-%d", i)
	}
	return names
}

func TestFingerprintManyExtraHeaders(t *testing.T) {
	t.Parallel()
	names := manyHeaders(55)
	f, err := NewFingerprinter(testSecret, names, nil)
	if err != nil {
		t.Fatal(err)
	}
	const u = "https://api.example.com/"
	last := fingerprintOf(t, f, u, names[54], "tok")
	if first := fingerprintOf(t, f, u, names[0], "tok"); first == last {
		t.Errorf("got equal fingerprints %s for different headers, want different", first)
	}
	// Many headers on the request: the places are looked up instead.
	headers := []string{names[54], "tok"}
	for _, n := range names[:20] {
		headers = append(headers, "X-Other-"+n, "v")
	}
	if got := fingerprintOf(t, f, u, headers...); got != last {
		t.Errorf("got %s with many other headers, want %s", got, last)
	}
}

func TestRandomSecret(t *testing.T) {
	t.Parallel()
	a, b := RandomSecret(), RandomSecret()
	if len(a) < MinSecretLen || bytes.Equal(a, b) {
		t.Errorf("got %d-byte secrets, equal: %v; want at least %d bytes, different", len(a), bytes.Equal(a, b), MinSecretLen)
	}
	if _, err := NewFingerprinter(a, nil, nil); err != nil {
		t.Errorf("got %v, want a usable secret", err)
	}
}

func BenchmarkFingerprint(b *testing.B) {
	f := newFingerprinter(b)
	benchmarks := []struct {
		name    string
		url     string
		headers []string
	}{
		{"Authorization", "https://api.github.com/repos/x/y", []string{"Authorization", "Bearer ghp_0123456789abcdefghijklmnopqrstuvwxyz", "Accept", "application/json"}},
		{"Anonymous", "https://api.github.com/repos/x/y", []string{"Accept", "application/json"}},
		{"TypicalHeaders", "https://api.openai.com/v1/chat/completions", []string{"Authorization", "Bearer sk-0123456789abcdefghijklmnop",
			"Accept", "application/json", "Content-Type", "application/json", "User-Agent", "heed-bench/1",
			"Idempotency-Key", "0f8fad5b-d9cb-469f-a165-70867728950e", "Openai-Organization", "org-123"}},
		{"HeaderAndQuery", "https://api.example.com/v1?q=a&api_key=0123456789abcdef", []string{"X-Api-Key", "0123456789abcdef"}},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			r := newRequest(b, bm.url, bm.headers...)
			b.ReportAllocs()
			for b.Loop() {
				f.Fingerprint(r)
			}
		})
	}
}

// TestSumAgreesWithFingerprint: Sum is Fingerprint in binary, with the
// same answer for a request without a credential.
func TestSumAgreesWithFingerprint(t *testing.T) {
	t.Parallel()
	f := newFingerprinter(t)
	for _, r := range []*http.Request{
		newRequest(t, "https://api.github.com/x", "Authorization", "Bearer ghp_one"),
		newRequest(t, "https://api.github.com/x", "X-Api-Key", "two", "Dd-Api-Key", "three"),
		newRequest(t, "https://api.github.com/x"),
	} {
		fp, _, ok := f.Fingerprint(r)
		sum, sumOK := f.Sum(r)
		if sum.String() != fp || sumOK != ok {
			t.Errorf("Sum = %s, %v; want %q, %v as Fingerprint says", sum, sumOK, fp, ok)
		}
	}
	if got := (Sum{}).String(); got != "" {
		t.Errorf("zero Sum = %q, want \"\"", got)
	}
}

func BenchmarkSum(b *testing.B) {
	f := newFingerprinter(b)
	r := newRequest(b, "https://api.github.com/repos/x/y", "Authorization", "Bearer ghp_0123456789abcdefghijklmnopqrstuvwxyz", "Accept", "application/json")
	b.ReportAllocs()
	for b.Loop() {
		f.Sum(r)
	}
}

// TestCredentialHeaders: the shared list is canonical, the Fingerprinter
// reads every header on it, and a caller may keep and change its copy.
func TestCredentialHeaders(t *testing.T) {
	t.Parallel()
	f := newFingerprinter(t)
	for _, h := range CredentialHeaders() {
		if c := http.CanonicalHeaderKey(h); c != h {
			t.Errorf("%q: got a name that is not canonical, want %q", h, c)
		}
		_, source, ok := f.Fingerprint(newRequest(t, "https://api.example.com/", h, "a-token"))
		if !ok || source != strings.ToLower(h) {
			t.Errorf("%s: got %q, %v, want the fingerprint to read it", h, source, ok)
		}
	}
	list := CredentialHeaders()
	list[0] = "X-Changed"
	if got := CredentialHeaders()[0]; got != "Authorization" {
		t.Errorf("after changing a copy: got %q first, want Authorization", got)
	}
}
