package quota

// Shared machinery for the vendor table tests (vendor_*_test.go).
//
// Every case is a response shaped the way a vendor's own documentation shows
// it (header names, values and bodies), the time it arrived, and what Parse
// must make of it according to the rules in doc.go. Identifiers here carry a
// "vc" prefix so they cannot collide with other test files of the package.

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vcNow is the arrival time of every case that does not need to match the
// epoch values printed in a vendor's documentation.
var vcNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// vcTolerance absorbs float rounding of fractional seconds such as Discord's
// "1470173023.123" or "64.57"; it is far below anything a caller would notice.
const vcTolerance = time.Millisecond

// Special values of vcCase.warn and vcCase.vendor.
const (
	vcAnyWarnings = "*"    // do not check warnings
	vcNoVendor    = "none" // Vendor must be ""
)

// vcQuota is an expected quota. It is compared with the quota of the same
// Name on Limit/HasLimit, Remaining/HasRemaining, Reset, Window and Refill;
// Source and Unit are deliberately not compared.
type vcQuota struct {
	Name         string
	Limit        float64
	HasLimit     bool
	Remaining    float64
	HasRemaining bool
	Reset        time.Time
	AnyReset     bool // Reset is not checked (the rules leave it open)
	Window       time.Duration
	Refill       float64
}

// vcQ starts an expected quota; the methods below fill it in.
func vcQ(name string) vcQuota { return vcQuota{Name: name} }

func (q vcQuota) lim(v float64) vcQuota { q.Limit, q.HasLimit = v, true; return q }

func (q vcQuota) rem(v float64) vcQuota { q.Remaining, q.HasRemaining = v, true; return q }

func (q vcQuota) at(t time.Time) vcQuota { q.Reset = t; return q }

func (q vcQuota) win(d time.Duration) vcQuota { q.Window = d; return q }

func (q vcQuota) refill(r float64) vcQuota { q.Refill = r; return q }

func (q vcQuota) anyReset() vcQuota { q.AnyReset = true; return q }

// vcCase is one documented response and what Parse must report for it.
type vcCase struct {
	name string
	now  time.Time // zero: vcNow
	resp Response

	limited    bool
	cause      Cause
	anyCause   bool // Cause is not checked (the rules leave it open)
	wait       time.Duration
	waitSource string
	vendor     string // "": not checked; vcNoVendor: must be ""

	// quotas lists every quota the response describes; with anyQuotas false
	// (the default) Parse must report exactly these names, with anyQuotas
	// true the listed ones must be present and others are allowed (a nil
	// list then checks nothing).
	quotas    []vcQuota
	anyQuotas bool

	// warn is "" when no warning is allowed, vcAnyWarnings to skip the
	// check, or a field name of which at least one warning must exist.
	warn string
}

// vcH builds a header the way net/http delivers it: keys canonicalized,
// repeated keys kept as separate values.
func vcH(kv ...string) http.Header {
	if len(kv)%2 != 0 {
		panic(fmt.Sprintf("vcH: odd number of arguments: %q", kv))
	}
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// vcRawH builds a header map by hand with the keys exactly as written (for
// example lower case, as HTTP/2 and many vendor docs show them). Such keys
// are invisible to http.Header.Get, so Parse must not rely on it alone.
func vcRawH(kv ...string) http.Header {
	if len(kv)%2 != 0 {
		panic(fmt.Sprintf("vcRawH: odd number of arguments: %q", kv))
	}
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h[kv[i]] = append(h[kv[i]], kv[i+1])
	}
	return h
}

// vcIn is vcNow plus d.
func vcIn(d time.Duration) time.Time { return vcNow.Add(d) }

// vcEpoch formats t as epoch seconds.
func vcEpoch(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// vcHTTPDate formats t as an IMF-fixdate.
func vcHTTPDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// vcRun runs each case as a parallel subtest.
func vcRun(t *testing.T, cases []vcCase) {
	t.Helper()
	seen := make(map[string]bool, len(cases))
	for _, c := range cases {
		if seen[c.name] {
			t.Errorf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			vcCheck(t, c)
		})
	}
}

func vcCheck(t *testing.T, c vcCase) {
	t.Helper()
	now := c.now
	if now.IsZero() {
		now = vcNow
	}
	headerBefore := c.resp.Header.Clone()
	bodyBefore := bytes.Clone(c.resp.Body)

	got := Parse(c.resp, now)

	// Invariants that hold for every response.
	if !reflect.DeepEqual(c.resp.Header, headerBefore) {
		t.Errorf("Parse modified the response header: got %v, want %v", c.resp.Header, headerBefore)
	}
	if !bytes.Equal(c.resp.Body, bodyBefore) {
		t.Errorf("Parse modified the response body")
	}
	if again := Parse(c.resp, now); !reflect.DeepEqual(got, again) {
		t.Errorf("Parse is not deterministic: got %+v, then %+v", got, again)
	}
	if got.Status != c.resp.Status {
		t.Errorf("Status: got %d, want %d", got.Status, c.resp.Status)
	}
	if got.Wait < 0 {
		t.Errorf("Wait: got %v, want >= 0", got.Wait)
	}
	if (got.Wait == 0) != (got.WaitSource == "") {
		t.Errorf("Wait/WaitSource: got %v from %q, want a source exactly when Wait > 0", got.Wait, got.WaitSource)
	}
	if got.Limited && got.Cause == CauseNone {
		t.Errorf("Cause: got %v on a Limited response, want a cause", got.Cause)
	}
	if !got.Limited && got.Cause != CauseNone && got.Cause != CauseOverloaded {
		t.Errorf("Cause: got %v on a response that is not Limited, want none or overloaded", got.Cause)
	}
	for _, q := range got.Quotas {
		if q.Remaining < 0 {
			t.Errorf("quota %q: got Remaining %v, want >= 0", q.Name, q.Remaining)
		}
		if q.Name == "" {
			t.Errorf("quota from %q: got an empty Name, want one", q.Source)
		}
	}

	// What the case expects.
	if got.Limited != c.limited {
		t.Errorf("Limited: got %v, want %v", got.Limited, c.limited)
	}
	if !c.anyCause && got.Cause != c.cause {
		t.Errorf("Cause: got %v, want %v", got.Cause, c.cause)
	}
	if !vcNearDur(got.Wait, c.wait) {
		t.Errorf("Wait: got %v, want %v", got.Wait, c.wait)
	}
	if got.WaitSource != c.waitSource {
		t.Errorf("WaitSource: got %q, want %q", got.WaitSource, c.waitSource)
	}
	switch c.vendor {
	case "":
	case vcNoVendor:
		if got.Vendor != "" {
			t.Errorf("Vendor: got %q, want %q", got.Vendor, "")
		}
	default:
		if got.Vendor != c.vendor {
			t.Errorf("Vendor: got %q, want %q", got.Vendor, c.vendor)
		}
	}
	vcCheckQuotas(t, got.Quotas, c)
	vcCheckWarnings(t, got.Warnings, c.warn)
}

func vcCheckQuotas(t *testing.T, got []Quota, c vcCase) {
	t.Helper()
	if c.anyQuotas && c.quotas == nil {
		return
	}
	byName := make(map[string]Quota, len(got))
	for _, q := range got {
		if _, dup := byName[q.Name]; dup {
			t.Errorf("quota %q: got it twice, want one quota per name", q.Name)
		}
		byName[q.Name] = q
	}
	for _, w := range c.quotas {
		g, ok := byName[w.Name]
		if !ok {
			t.Errorf("quota %q: got none, want %s (got quotas %s)", w.Name, vcFormatWant(w), vcNames(got))
			continue
		}
		delete(byName, w.Name)
		if g.HasLimit != w.HasLimit || (w.HasLimit && !vcNearFloat(g.Limit, w.Limit)) {
			t.Errorf("quota %q Limit: got %s, want %s", w.Name, vcOpt(g.Limit, g.HasLimit), vcOpt(w.Limit, w.HasLimit))
		}
		if g.HasRemaining != w.HasRemaining || (w.HasRemaining && !vcNearFloat(g.Remaining, w.Remaining)) {
			t.Errorf("quota %q Remaining: got %s, want %s", w.Name, vcOpt(g.Remaining, g.HasRemaining), vcOpt(w.Remaining, w.HasRemaining))
		}
		if !w.AnyReset && !vcNearTime(g.Reset, w.Reset) {
			t.Errorf("quota %q Reset: got %s, want %s", w.Name, vcFormatTime(g.Reset), vcFormatTime(w.Reset))
		}
		if g.Window != w.Window {
			t.Errorf("quota %q Window: got %v, want %v", w.Name, g.Window, w.Window)
		}
		if !vcNearFloat(g.Refill, w.Refill) {
			t.Errorf("quota %q Refill: got %v, want %v", w.Name, g.Refill, w.Refill)
		}
	}
	if !c.anyQuotas && len(byName) > 0 {
		extra := make([]Quota, 0, len(byName))
		for _, q := range got {
			if _, ok := byName[q.Name]; ok {
				extra = append(extra, q)
			}
		}
		t.Errorf("quotas: got unexpected %s, want only %d listed", vcNames(extra), len(c.quotas))
	}
}

func vcCheckWarnings(t *testing.T, got []Warning, want string) {
	t.Helper()
	switch want {
	case vcAnyWarnings:
	case "":
		if len(got) > 0 {
			t.Errorf("Warnings: got %v, want none", got)
		}
	default:
		for _, w := range got {
			if w.Field == want {
				return
			}
		}
		t.Errorf("Warnings: got %v, want at least one whose Field is %q", got, want)
	}
}

func vcNearDur(got, want time.Duration) bool {
	d := got - want
	return d <= vcTolerance && d >= -vcTolerance
}

func vcNearTime(got, want time.Time) bool {
	if got.IsZero() || want.IsZero() {
		return got.IsZero() == want.IsZero()
	}
	return vcNearDur(got.Sub(want), 0)
}

func vcNearFloat(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))
}

func vcOpt(v float64, has bool) string {
	if !has {
		return "unknown"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func vcFormatTime(t time.Time) string {
	if t.IsZero() {
		return "zero time"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func vcFormatWant(q vcQuota) string {
	return fmt.Sprintf("{limit %s, remaining %s, reset %s, window %v, refill %v}",
		vcOpt(q.Limit, q.HasLimit), vcOpt(q.Remaining, q.HasRemaining), vcFormatTime(q.Reset), q.Window, q.Refill)
}

func vcNames(qs []Quota) string {
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = strconv.Quote(q.Name)
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// vcGroups returns every vendor table by group name.
func vcGroups() map[string][]vcCase {
	return map[string][]vcCase{
		"github": vcGitHubCases, "gitlab": vcGitLabCases,
		"twitter": vcTwitterCases, "reddit": vcRedditCases,
		"discord": vcDiscordCases, "facebook": vcFacebookCases,
		"openai": vcOpenAICases, "azure-openai": vcAzureOpenAICases,
		"anthropic": vcAnthropicCases, "google": vcGoogleCases,
		"shopify": vcShopifyCases, "salesforce": vcSalesforceCases,
		"hubspot": vcHubSpotCases, "sendgrid": vcSendGridCases,
		"microsoft": vcMicrosoftCases, "aws": vcAWSCases,
		"retry-after": vcRetryAfterCases, "ietf": vcIETFCases,
		"wait-rule": vcWaitRuleCases, "rfc9110": vcRFC9110Cases, "js-date": vcJSDateCases,
		"linear": vcLinearCases, "zendesk": vcZendeskCases, "atlassian": vcAtlassianCases,
		"azure-openai-more": vcAzureMoreCases, "hubspot-windows": vcHubSpotWindowCases,
		"rapidapi": vcRapidAPICases, "meta": vcMetaCases, "stripe": vcStripeCases,
	}
}

// TestVendorCaseCount keeps the vendor tables from shrinking unnoticed.
func TestVendorCaseCount(t *testing.T) {
	groups := vcGroups()
	total := 0
	for name, cases := range groups {
		if len(cases) < 2 {
			t.Errorf("group %s: got %d cases, want at least 2", name, len(cases))
		}
		total += len(cases)
	}
	if total < 90 {
		t.Errorf("vendor cases: got %d, want at least 90", total)
	}
	t.Logf("%d vendor cases in %d groups", total, len(groups))
}
