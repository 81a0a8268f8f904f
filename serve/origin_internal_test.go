package serve

import (
	"net/http/httptest"
	"testing"
)

func TestCrossSite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, host, origin, site string
		refused                  bool
	}{
		{"NoHeaders", "127.0.0.1:8700", "", "", false},
		{"SameOrigin", "127.0.0.1:8700", "http://127.0.0.1:8700", "same-origin", false},
		{"SameOriginNoFetchSite", "127.0.0.1:8700", "http://127.0.0.1:8700", "", false},
		{"SameOriginHostCase", "Localhost:8700", "http://localhost:8700", "", false},
		{"DefaultPort", "heed.example", "https://heed.example:443", "", false},
		{"DefaultPortInHost", "heed.example:80", "http://heed.example", "", false},
		{"BehindTLSProxy", "heed.example", "https://heed.example", "same-origin", false},
		{"UserNavigation", "127.0.0.1:8700", "", "none", false},
		{"ForeignOrigin", "127.0.0.1:8700", "http://evil.example", "", true},
		{"OtherPort", "127.0.0.1:8700", "http://127.0.0.1:3000", "", true},
		{"OtherPortSameSite", "localhost:8700", "http://localhost:3000", "same-site", true},
		{"NullOrigin", "127.0.0.1:8700", "null", "", true},
		{"OriginWithPath", "127.0.0.1:8700", "http://127.0.0.1:8700/x", "", true},
		{"OriginOtherScheme", "127.0.0.1:8700", "file://127.0.0.1:8700", "", true},
		{"CrossSiteNoOrigin", "127.0.0.1:8700", "", "cross-site", true},
		{"SameSiteNoOrigin", "localhost:8700", "", "same-site", true},
		{"CrossSiteCase", "127.0.0.1:8700", "", "Cross-Site", true},
		{"CrossSiteDespiteOrigin", "127.0.0.1:8700", "http://127.0.0.1:8700", "cross-site", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", "http://"+tt.host+"/v1/jobs", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.site != "" {
				r.Header.Set("Sec-Fetch-Site", tt.site)
			}
			if got := crossSite(r) != nil; got != tt.refused {
				t.Errorf("refused: got %t, want %t", got, tt.refused)
			}
		})
	}
	r := httptest.NewRequest("POST", "http://127.0.0.1:8700/v1/jobs", nil)
	r.Header["Origin"] = []string{"http://127.0.0.1:8700", "http://evil.example"}
	if crossSite(r) == nil {
		t.Error("two Origin headers: let through, want refused")
	}
}

func TestIsLoopbackHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"127.0.0.1:8700": true, "127.0.0.1": true, "127.9.9.9:1": true, "[::1]:8700": true, "[::1]": true,
		"localhost": true, "localhost:8700": true, "LocalHost:1": true, "localhost.": true, "app.localhost:3000": true,
		"": false, "evil.example": false, "evil.example:8700": false, "localhost.evil.example": false,
		"127.0.0.1.nip.io": false, "10.0.0.1:8700": false, "0.0.0.0:8700": false, "[::]:8700": false, "evillocalhost": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q): got %t, want %t", host, got, want)
		}
	}
}

func TestJSONBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, contentType, body string
		refused                   bool
	}{
		{"POST", "application/json", "{}", false},
		{"POST", "application/json; charset=utf-8", "{}", false},
		{"POST", "Application/JSON", "{}", false},
		{"POST", "text/plain", "{}", true},
		{"POST", "text/plain;charset=UTF-8", "{}", true},
		{"POST", "application/x-www-form-urlencoded", "a=b", true},
		{"POST", "multipart/form-data; boundary=x", "--x--", true},
		{"POST", "", "{}", true},
		{"POST", "", "", true},
		{"POST", "application/json-seq", "{}", true},
		{"DELETE", "", "", false},
		{"DELETE", "text/plain", "x", true},
		{"DELETE", "application/json", "{}", false},
		{"GET", "", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "/v1/jobs", stringsReader(tt.body))
		if tt.contentType != "" {
			r.Header.Set("Content-Type", tt.contentType)
		}
		if got := jsonBody(r) != nil; got != tt.refused {
			t.Errorf("%s %q with %d bytes: refused %t, want %t", tt.method, tt.contentType, len(tt.body), got, tt.refused)
		}
	}
}
