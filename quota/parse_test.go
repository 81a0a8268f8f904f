package quota

import (
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestParseNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"42", 42, true},
		{" 42 ", 42, true},
		{"596.0", 596, true},
		{"-1", -1, true},
		{"+3", 3, true},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"", 0, false},
		{".", 0, false},
		{"1_000", 0, false},
		{"1.2.3", 0, false},
		{"1234567890123456789012345678901", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseNumber(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseNumber(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"6m0s", 6 * time.Minute, true},
		{"1m30.5s", 90500 * time.Millisecond, true},
		{"20ms", 20 * time.Millisecond, true},
		{"1s", time.Second, true},
		{"0s", 0, true},
		{"1d2h", 26 * time.Hour, true},
		{"2d", 48 * time.Hour, true},
		{"-1s", 0, false},
		{"1 s", 0, false},
		{"400d", 0, false},
		{"99999999h", 0, false},
		{"", 0, false},
		{"d", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseDuration(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestReset covers the documented rule for numeric resets and the other
// forms a reset may take.
func TestReset(t *testing.T) {
	t.Parallel()
	epoch := testNow.Unix()
	tests := []struct {
		name     string
		in       string
		mode     resetMode
		want     time.Duration // from testNow
		ok       bool
		warnings int
	}{
		{"DeltaBySize", "30", resetBySize, 30 * time.Second, true, 0},
		{"EpochSecondsBySize", itoa(epoch + 42), resetBySize, 42 * time.Second, true, 0},
		{"EpochMillisBySize", itoa(epoch*1000 + 1500), resetBySize, 1500 * time.Millisecond, true, 0},
		{"EpochFloatSeconds", itoa(epoch+2) + ".250", resetBySize, 2250 * time.Millisecond, true, 0},
		{"EpochModeReadsSmallValueAsEpoch", "30", resetEpochSeconds, 0, false, 1},
		{"DeltaModeReadsEpochAsEpoch", itoa(epoch + 9), resetDeltaSeconds, 9 * time.Second, true, 1},
		{"SlightlyPastEpochIsSkew", itoa(epoch - 5), resetBySize, -5 * time.Second, true, 0},
		{"Duration", "6m0s", resetBySize, 6 * time.Minute, true, 0},
		{"RFC3339", "2026-11-22T12:00:10Z", resetBySize, 10 * time.Second, true, 0},
		{"RFC3339Offset", "2026-11-22T13:00:10+01:00", resetBySize, 10 * time.Second, true, 0},
		{"HTTPDate", "Sun, 22 Nov 2026 12:01:00 GMT", resetBySize, time.Minute, true, 0},
		{"Garbage", "soon", resetBySize, 0, false, 1},
		{"Negative", "-5", resetBySize, 0, false, 1},
		{"FarFuture", "99999999999", resetBySize, MaxPlausibleWait, true, 1},
		{"Empty", "", resetBySize, 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reader{now: testNow}
			w := r.reset("x-ratelimit-reset", tt.in, tt.mode)
			ws := r.warnings
			if w.ok != tt.ok || (w.ok && w.at.Sub(testNow) != tt.want) {
				t.Errorf("reset(%q) = %v (ok %v), want now%+v (ok %v)", tt.in, w.at.Sub(testNow), w.ok, tt.want, tt.ok)
			}
			if len(ws) != tt.warnings {
				t.Errorf("got %d warnings %v, want %d", len(ws), ws, tt.warnings)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestRetryAfterForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want time.Duration
		ok   bool
	}{
		{"DeltaSeconds", "120", 2 * time.Minute, true},
		{"Decimal", "2.0", 2 * time.Second, true},
		{"Zero", "0", 0, true},
		{"IMFFixdate", "Sun, 22 Nov 2026 12:00:42 GMT", 42 * time.Second, true},
		{"RFC850", "Sunday, 22-Nov-26 12:00:42 GMT", 42 * time.Second, true},
		{"Asctime", "Sun Nov 22 12:00:42 2026", 42 * time.Second, true},
		{"PastDate", "Sun, 06 Nov 1994 08:49:37 GMT", 0, true},
		{"Negative", "-3", 0, false},
		{"Garbage", "tomorrow", 0, false},
		{"Huge", "99999999999999", MaxPlausibleWait, true},
		{"ListOfEqual", "120, 120", 2 * time.Minute, true},
		{"ListOfDifferingLongestRead", "120, 30", 2 * time.Minute, true},
		{"ListOfDates", "Sun, 22 Nov 2026 12:00:42 GMT, Sun, 22 Nov 2026 12:00:42 GMT", 42 * time.Second, true},
		{"ListWithGarbage", "120, soon", 0, false},
		{"NumericZone", "Sun, 22 Nov 2026 13:00:42 +0100", 42 * time.Second, true},
		{"NumericZoneNoDayName", "22 Nov 2026 07:00:42 -0500", 42 * time.Second, true},
		{"UTCWithComment", "Sun, 22 Nov 2026 12:00:42 UTC (UTC)", 42 * time.Second, true},
		{"ZoneAbbreviationRefused", "Sun, 22 Nov 2026 04:00:42 PST", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reader{now: testNow}
			got, ok := r.retryAfter("retry-after", tt.in)
			ws := r.warnings
			if got != tt.want || ok != tt.ok {
				t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			wantWarn := !ok || got == MaxPlausibleWait || strings.Contains(tt.name, "Differing")
			if wantWarn != (len(ws) > 0) {
				t.Errorf("ok %v with warnings %v", ok, ws)
			}
		})
	}
}

func TestSFMembers(t *testing.T) {
	t.Parallel()
	var got []sfMember
	sfMembers(`"a,b";q=1;w="60", burst;q=2, limit=10, 100;w=1,,`, func(m sfMember) { got = append(got, m) })
	want := []sfMember{
		{item: "a,b", params: `q=1;w="60"`},
		{item: "burst", params: "q=2"},
		{item: "limit", value: "10"},
		{item: "100", params: "w=1"},
		{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if w, ok := got[0].param("w"); !ok || w != "60" {
		t.Errorf(`param("w") = %q, %v; want "60", true`, w, ok)
	}
}

func TestJSONScan(t *testing.T) {
	t.Parallel()
	body := []byte(`{"message": "x \"retry_after\" y", "retry_after" :  64.57, "errors":[{"type" : "RATE_LIMITED"}], "s":"a\"b", "obj": {"k":1}}`)
	tests := []struct {
		key  string
		want string
		ok   bool
	}{
		{"retry_after", "64.57", true},
		{"s", `a\"b`, true},
		{"obj", "", false},
		{"missing", "", false},
	}
	for _, tt := range tests {
		got, ok := jsonValue(body, tt.key)
		if string(got) != tt.want || ok != tt.ok {
			t.Errorf("jsonValue(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
	if !jsonHas(body, "type", "RATE_LIMITED") {
		t.Error(`jsonHas(type, RATE_LIMITED) = false, want true`)
	}
	if jsonHas([]byte(`{"message":"RATE_LIMITED"}`), "type", "RATE_LIMITED") {
		t.Error(`jsonHas matched a value under another key`)
	}
	if _, ok := jsonValue([]byte(`{"retry_after": "unterminated`), "retry_after"); ok {
		t.Error("jsonValue read an unterminated string")
	}
}

// TestParseIgnoresMapOrder runs Parse many times on a response with many
// quota headers: Go randomizes map iteration, so any dependence on header
// order shows up as a difference.
func TestParseIgnoresMapOrder(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	for _, name := range []string{"requests", "tokens", "input-tokens", "output-tokens"} {
		h.Set("anthropic-ratelimit-"+name+"-limit", "100")
		h.Set("anthropic-ratelimit-"+name+"-remaining", "0")
		h.Set("anthropic-ratelimit-"+name+"-reset", "2026-11-22T12:00:30Z")
	}
	h.Set("x-ratelimit-remaining-requests", "0")
	h.Set("x-ratelimit-reset-requests", "30s")
	r := Response{Status: 429, Header: h}
	first := Parse(r, testNow)
	for range 50 {
		if got := Parse(r, testNow); !reflect.DeepEqual(got, first) {
			t.Fatalf("Parse differs between runs:\n%+v\n%+v", got, first)
		}
	}
}

// TestSignalInvariants checks what must hold for any response.
func TestSignalInvariants(t *testing.T) {
	t.Parallel()
	for _, r := range invariantResponses() {
		checkInvariants(t, r, Parse(r, testNow))
	}
}

func invariantResponses() []Response {
	return []Response{
		{},
		{Status: 429},
		{Status: 503, Header: http.Header{"Retry-After": {"5"}}},
		{Status: 503},
		{Status: 266, Header: http.Header{"": {"0"}}},
		{Status: 200, Header: http.Header{"X-Ratelimit-Remaining": {"-5"}, "X-Ratelimit-Reset": {"-5"}}},
		{Status: 429, Header: http.Header{"Retry-After": {"1e400"}, "Retry-After-Ms": {"NaN"}}},
		{Status: 200, Body: []byte(`{"extensions":{"cost":{"throttleStatus":{"currentlyAvailable":-5,"maximumAvailable":-1}}}}`)},
	}
}

func checkInvariants(t *testing.T, r Response, s Signal) {
	t.Helper()
	switch {
	case s.Wait < 0 || s.Wait > MaxPlausibleWait:
		t.Errorf("%+v: Wait %v out of range", r, s.Wait)
	case (s.Wait > 0) != (s.WaitSource != ""):
		t.Errorf("%+v: Wait %v with WaitSource %q", r, s.Wait, s.WaitSource)
	case s.Limited && s.Cause == CauseNone:
		t.Errorf("%+v: Limited with CauseNone", r)
	case s.Status != r.Status:
		t.Errorf("Status %d, want %d", s.Status, r.Status)
	}
	for _, q := range s.Quotas {
		if q.Name == "" || q.Remaining < 0 || q.Limit < 0 || q.Refill < 0 || q.Window < 0 {
			t.Errorf("%+v: bad quota %+v", r, q)
		}
	}
}

func TestCauseString(t *testing.T) {
	t.Parallel()
	tests := map[Cause]string{CauseNone: "none", CauseRateLimit: "rate_limit", CauseQuotaExhausted: "quota_exhausted", CauseOverloaded: "overloaded", Cause(9): "cause(9)"}
	for c, want := range tests {
		if got := c.String(); got != want {
			t.Errorf("Cause(%d).String() = %q, want %q", int(c), got, want)
		}
	}
}

func TestVendorOfHost(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"api.github.com":                    VendorGitHub,
		"API.GitHub.com:443":                VendorGitHub,
		"notgithub.com":                     "",
		"oauth.reddit.com":                  VendorReddit,
		"myres.openai.azure.com":            VendorMicrosoft,
		"api.openai.com":                    VendorOpenAI,
		"shop.myshopify.com":                VendorShopify,
		"gitlab.example.org":                VendorGitLab,
		"generativelanguage.googleapis.com": VendorGoogle,
		"[::1]:8080":                        "",
		"":                                  "",
	}
	for host, want := range tests {
		if got := vendorOfHost(host); got != want {
			t.Errorf("vendorOfHost(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestIsWordByte(t *testing.T) {
	t.Parallel()
	for c := 0; c < 256; c++ {
		b := byte(c)
		want := b == '_' || ('0' <= b && b <= '9') || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z')
		if got := isWordByte(b); got != want {
			t.Errorf("isWordByte(%q) = %v, want %v", b, got, want)
		}
	}
}

// TestManyFamilyHeaders: family headers past the ones kept inline (more
// than sixteen) are read like the others, up to the bound of 32.
func TestManyFamilyHeaders(t *testing.T) {
	h := http.Header{}
	names := []string{"requests", "tokens", "images", "audio", "batch", "files", "embeddings"}
	for i, n := range names {
		h.Set("X-Ratelimit-Limit-"+n, "100")
		h.Set("X-Ratelimit-Remaining-"+n, strconv.Itoa(10+i))
		h.Set("X-Ratelimit-Reset-"+n, "1s")
	}
	sig := Parse(Response{Status: 200, Header: h, Vendor: VendorOpenAI}, time.Unix(1_800_000_000, 0))
	if len(sig.Quotas) != len(names) {
		t.Fatalf("%d quotas from %d family headers, want %d: %+v", len(sig.Quotas), 3*len(names), len(names), sig.Quotas)
	}
	for _, q := range sig.Quotas {
		i := slices.Index(names, q.Name)
		if i < 0 || !q.HasLimit || q.Limit != 100 || !q.HasRemaining || q.Remaining != float64(10+i) || q.Reset.IsZero() {
			t.Errorf("quota %+v: want limit 100, remaining %d and a reset", q, 10+i)
		}
	}
}
