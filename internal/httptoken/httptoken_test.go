package httptoken

import "testing"

func TestValid(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"Authorization", true}, {"X-Api-Key", true}, {"GET", true}, {"x!#$%&'*+-.^_`|~9", true},
		{"", false}, {"X Tenant", false}, {"X:Y", false}, {"Bad\r\nHeader", false}, {"é", false}, {"a/b", false}, {"(", false},
	} {
		if got := Valid(tt.s); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func FuzzValid(f *testing.F) {
	f.Add("X-Api-Key")
	f.Add("a b")
	f.Fuzz(func(t *testing.T, s string) {
		if !Valid(s) {
			return
		}
		for i := range len(s) {
			if c := s[i]; c <= ' ' || c >= 0x7f || c == ':' || c == '/' || c == '"' {
				t.Fatalf("Valid(%q) = true with byte %q", s, c)
			}
		}
	})
}
