package jobs

import "testing"

func TestURLPattern(t *testing.T) {
	tests := []struct {
		pattern, url string
		want         bool
	}{
		{"http://127.0.0.1:*", "http://127.0.0.1:8080/cb", true},
		{"http://127.0.0.1:*", "http://127.0.0.1/cb", true},
		{"http://127.0.0.1:*", "https://127.0.0.1:8080/cb", false},
		{"http://127.0.0.1:*", "http://127.0.0.2:8080/cb", false},
		{"http://127.0.0.1:*", "http://127.0.0.1.evil.com:8080/cb", false},
		{"http://127.0.0.1:*", "http://user@127.0.0.1:8080/cb", false},
		{"https://*.example.com", "https://hooks.example.com/x", true},
		{"https://*.example.com", "https://hooks.example.com:8443/x", false},
		{"https://*.example.com", "https://example.com/x", false},
		{"https://hooks.example.com/heed/", "https://hooks.example.com/heed/job", true},
		{"https://hooks.example.com/heed/", "https://hooks.example.com/other", false},
		{"https://HOOKS.example.com", "https://hooks.EXAMPLE.com/", true},
		{"http://127.0.0.1:*", "/relative", false},
		{"http://127.0.0.1:*", "ftp://127.0.0.1:21/", false},
	}
	for _, tt := range tests {
		p, err := ParseURLPattern(tt.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tt.pattern, err)
		}
		if got := p.Match(tt.url); got != tt.want {
			t.Errorf("%s ~ %s: %v, want %v", tt.pattern, tt.url, got, tt.want)
		}
	}
	for _, bad := range []string{"127.0.0.1:*", "ftp://x", "http://", "http://u@h", "http://h:[", "http://[:80"} {
		if _, err := ParseURLPattern(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
