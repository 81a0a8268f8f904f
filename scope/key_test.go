package scope

import (
	"strings"
	"testing"
)

const testFP = "3fa9c2d17e4b5a60918273645f0e1d2c"

func TestKeyString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		key       Key
		want      string
		wantShort string
	}{
		{"Full", Key{"acme", "github", testFP}, "acme/github/" + testFP, "3fa9c2d1"},
		{"Anonymous", Key{"acme", "github", ""}, "acme/github/anonymous", "anonymous"},
		{"NoTenant", Key{"", "github", testFP}, "/github/" + testFP, "3fa9c2d1"},
		{"SlashEscaped", Key{"a/b", "git/hub", testFP}, "a%2Fb/git%2Fhub/" + testFP, "3fa9c2d1"},
		{"HashTagEscaped", Key{"{x}", "gh", ""}, "%7Bx%7D/gh/anonymous", "anonymous"},
		{"PercentEscaped", Key{"100%", "gh", ""}, "100%25/gh/anonymous", "anonymous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.key.String(); got != tt.want {
				t.Errorf("String: got %q, want %q", got, tt.want)
			}
			if got := tt.key.Short(); got != tt.wantShort {
				t.Errorf("Short: got %q, want %q", got, tt.wantShort)
			}
			if got, want := tt.key.Anonymous(), tt.key.Fingerprint == ""; got != want {
				t.Errorf("Anonymous: got %v, want %v", got, want)
			}
			back, err := ParseKey(tt.want)
			if err != nil || back != tt.key {
				t.Errorf("ParseKey(%q): got (%+v, %v), want (%+v, nil)", tt.want, back, err, tt.key)
			}
		})
	}
}

func TestParseKeyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"TooFewParts", "acme/github", "want tenant/upstream/fingerprint"},
		{"TooManyParts", "acme/git/hub/" + testFP, "want tenant/upstream/fingerprint"},
		{"EmptyUpstream", "acme//" + testFP, "upstream is empty"},
		{"ShortFingerprint", "acme/github/3fa9", "fingerprint must be 32 lowercase hex digits"},
		{"UppercaseFingerprint", "acme/github/" + strings.ToUpper(testFP), "fingerprint must be 32 lowercase hex digits"},
		{"EmptyFingerprint", "acme/github/", "fingerprint must be 32 lowercase hex digits"},
		{"BadEscape", "ac%zzme/github/anonymous", "invalid URL escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := ParseKey(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "scope: ") {
				t.Errorf("got (%+v, %v), want an error containing %q", k, err, tt.want)
			}
		})
	}
}
