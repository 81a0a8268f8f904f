package httpcache

import (
	"net/http"
	"testing"
)

func TestParseHTTPDate(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT", "Thu, 01 Dec 1994 16:00:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994", "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:49:37 GMT",
		"Sun, 06 Xyz 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC", "0", "",
	} {
		got, err := parseHTTPDate(s)
		want, wantErr := http.ParseTime(s)
		if (err != nil) != (wantErr != nil) || !got.Equal(want) {
			t.Errorf("parseHTTPDate(%q) = %v, %v; http.ParseTime: %v, %v", s, got, err, want, wantErr)
		}
	}
}

func FuzzParseHTTPDate(f *testing.F) {
	f.Add("Sun, 06 Nov 1994 08:49:37 GMT")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseHTTPDate(s)
		want, wantErr := http.ParseTime(s)
		if (err != nil) != (wantErr != nil) || !got.Equal(want) {
			t.Fatalf("parseHTTPDate(%q) = %v, %v; http.ParseTime: %v, %v", s, got, err, want, wantErr)
		}
	})
}
