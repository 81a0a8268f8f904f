package httpcache

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseCacheControl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []string
		want  Directives
	}{
		{"Empty", nil, Directives{}},
		{"MaxAge", []string{"max-age=60"}, Directives{MaxAge: time.Minute, HasMaxAge: true}},
		{"CaseAndSpaces", []string{" Max-Age = 60 , PUBLIC"}, Directives{MaxAge: time.Minute, HasMaxAge: true, Public: true}},
		{"QuotedNumber", []string{`max-age="30"`}, Directives{MaxAge: 30 * time.Second, HasMaxAge: true}},
		{"InvalidMaxAgeIsZero", []string{"max-age=abc"}, Directives{HasMaxAge: true}},
		{"NegativeMaxAgeIsZero", []string{"max-age=-5"}, Directives{HasMaxAge: true}},
		{"EmptyMaxAgeIsZero", []string{"max-age="}, Directives{HasMaxAge: true}},
		{"DuplicateKeepsFirst", []string{"max-age=10", "max-age=99"}, Directives{MaxAge: 10 * time.Second, HasMaxAge: true}},
		{"Clamp", []string{"max-age=99999999999999999999999"}, Directives{MaxAge: maxDelta, HasMaxAge: true}},
		{"ClampExact", []string{"s-maxage=2147483648"}, Directives{SMaxAge: maxDelta, HasSMaxAge: true}},
		{"BadMinFreshAbsent", []string{"min-fresh=1.5"}, Directives{}},
		{"MaxStaleAny", []string{"max-stale"}, Directives{MaxStaleAny: true}},
		{"MaxStaleValue", []string{"max-stale=5"}, Directives{MaxStale: 5 * time.Second, HasMaxStale: true}},
		{"StaleIfError", []string{"stale-if-error=300"}, Directives{StaleIfError: 5 * time.Minute, HasStaleIfError: true}},
		{"Flags", []string{"no-store, no-cache, private, must-revalidate, proxy-revalidate", "only-if-cached, immutable, no-transform"},
			Directives{NoStore: true, NoCache: true, Private: true, MustRevalidate: true, ProxyRevalidate: true, OnlyIfCached: true, Immutable: true, NoTransform: true}},
		{"QualifiedNoCache", []string{`no-cache="set-cookie, x-secret", max-age=5`},
			Directives{NoCacheFields: []string{"Set-Cookie", "X-Secret"}, MaxAge: 5 * time.Second, HasMaxAge: true}},
		{"QualifiedPrivate", []string{`private="X-User"`}, Directives{PrivateFields: []string{"X-User"}}},
		{"QualifiedEmptyIsUnqualified", []string{`no-cache=""`}, Directives{NoCache: true}},
		{"QuotedComma", []string{`foo="a,max-age=1", max-age=7`}, Directives{MaxAge: 7 * time.Second, HasMaxAge: true}},
		{"EscapedQuote", []string{`ext="a\"b,c", public`}, Directives{Public: true}},
		{"UnknownIgnored", []string{"community=UCI, max-age=3"}, Directives{MaxAge: 3 * time.Second, HasMaxAge: true}},
		{"GarbageSkipped", []string{`max-age=5 junk, "x", public`}, Directives{Public: true}},
		{"EmptyElements", []string{",, ,no-store,,"}, Directives{NoStore: true}},
		{"Unterminated", []string{`private="X-A`}, Directives{PrivateFields: []string{"X-A"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ParseCacheControl(tt.lines); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCacheControl(%q)\n got %+v\nwant %+v", tt.lines, got, tt.want)
			}
		})
	}
}

func TestParseCacheControlBounded(t *testing.T) {
	t.Parallel()
	long := `no-cache="` + strings.Repeat("x-a,", 10000) + `"`
	d := ParseCacheControl([]string{long})
	if len(d.NoCacheFields) != 1 {
		t.Errorf("got %d fields, want 1 (deduplicated)", len(d.NoCacheFields))
	}
	var b strings.Builder
	for i := range 1000 {
		b.WriteString("x-f")
		b.WriteString(strings.Repeat("a", i%30+1))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(",")
	}
	d = ParseCacheControl([]string{`private="` + b.String() + `"`})
	if len(d.PrivateFields) > maxQualifiedFields {
		t.Errorf("got %d fields, want at most %d", len(d.PrivateFields), maxQualifiedFields)
	}
}

func TestParseVary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		lines     []string
		wantNames []string
		wantStar  bool
	}{
		{"Empty", nil, nil, false},
		{"One", []string{"accept-encoding"}, []string{"Accept-Encoding"}, false},
		{"SortedDeduplicated", []string{"Accept, accept-language", " ACCEPT ,Authorization"}, []string{"Accept", "Accept-Language", "Authorization"}, false},
		{"Star", []string{"Accept, *"}, []string{"Accept"}, true},
		{"InvalidIsStar", []string{`Accept, "x"`}, []string{"Accept"}, true},
		{"EmptyElements", []string{" , ,Origin,"}, []string{"Origin"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			names, star := ParseVary(tt.lines)
			if !slices.Equal(names, tt.wantNames) || star != tt.wantStar {
				t.Errorf("ParseVary(%q) = %q, %v; want %q, %v", tt.lines, names, star, tt.wantNames, tt.wantStar)
			}
		})
	}
}

func FuzzParseCacheControl(f *testing.F) {
	f.Add("max-age=60, public")
	f.Add(`no-cache="Set-Cookie", private="X-A, X-B"`)
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		d := ParseCacheControl(lines)
		for _, v := range []time.Duration{d.MaxAge, d.SMaxAge, d.MinFresh, d.MaxStale, d.StaleIfError} {
			if v < 0 || v > maxDelta {
				t.Fatalf("duration %v out of [0, 2^31s]", v)
			}
		}
		if len(d.NoCacheFields) > maxQualifiedFields || len(d.PrivateFields) > maxQualifiedFields {
			t.Fatalf("unbounded field lists: %d, %d", len(d.NoCacheFields), len(d.PrivateFields))
		}
		if !reflect.DeepEqual(d, ParseCacheControl(lines)) {
			t.Fatal("not deterministic")
		}
	})
}

func FuzzParseVary(f *testing.F) {
	f.Add("Accept-Encoding, Authorization")
	f.Add("*")
	f.Fuzz(func(t *testing.T, s string) {
		names, _ := ParseVary(strings.Split(s, "\n"))
		if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Fatalf("names %q not sorted and unique", names)
		}
		if len(names) > maxVaryNames {
			t.Fatalf("%d names, want at most %d", len(names), maxVaryNames)
		}
		for _, n := range names {
			if !isToken(n) {
				t.Fatalf("name %q is not a token", n)
			}
		}
	})
}
