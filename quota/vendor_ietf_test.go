package quota

import (
	"net/http"
	"testing"
	"time"
)

// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, the latter
// in any of the three forms of §5.6.7 (IMF-fixdate, obsolete RFC 850 and
// ANSI C asctime); the examples "Fri, 31 Dec 1999 23:59:59 GMT" and "120"
// and the three renderings of Sun, 06 Nov 1994 08:49:37 GMT come from there:
//   https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
//   https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
// 429 Too Many Requests (RFC 6585 §4) and 503 Service Unavailable (RFC 9110
// §15.6.4), both of which may carry Retry-After:
//   https://www.rfc-editor.org/rfc/rfc6585#section-4
//   https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4
// Decimal delay-seconds ("2.0") as Shopify sends them:
//   https://shopify.dev/docs/api/admin-rest/usage/rate-limits

// vcRFCNow is one minute before the RFC 9110 example date.
var vcRFCNow = time.Date(1994, 11, 6, 8, 48, 37, 0, time.UTC)

// vcTooMany is a bare 429 carrying only the given headers.
func vcTooMany(h http.Header) Response { return Response{Status: 429, Header: h} }

var vcRetryAfterCases = []vcCase{
	{
		name:    "DelaySeconds120",
		resp:    vcTooMany(vcH("Retry-After", "120")),
		limited: true, cause: CauseRateLimit,
		wait: 2 * time.Minute, waitSource: "retry-after",
		vendor: vcNoVendor,
	},
	{
		name:    "HTTPDateIMFFixdate",
		now:     vcRFCNow,
		resp:    vcTooMany(vcH("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT")),
		limited: true, cause: CauseRateLimit,
		wait: time.Minute, waitSource: "retry-after",
	},
	{
		name:    "HTTPDateObsoleteRFC850",
		now:     vcRFCNow,
		resp:    vcTooMany(vcH("Retry-After", "Sunday, 06-Nov-94 08:49:37 GMT")),
		limited: true, cause: CauseRateLimit,
		wait: time.Minute, waitSource: "retry-after",
	},
	{
		name:    "HTTPDateANSICAsctime",
		now:     vcRFCNow,
		resp:    vcTooMany(vcH("Retry-After", "Sun Nov  6 08:49:37 1994")),
		limited: true, cause: CauseRateLimit,
		wait: time.Minute, waitSource: "retry-after",
	},
	{
		name:    "PastHTTPDateMeansNoWait",
		resp:    vcTooMany(vcH("Retry-After", "Fri, 31 Dec 1999 23:59:59 GMT")),
		limited: true, cause: CauseRateLimit,
	},
	{
		name:    "ZeroMeansNoWait",
		resp:    vcTooMany(vcH("Retry-After", "0")),
		limited: true, cause: CauseRateLimit,
	},
	{
		name:    "DecimalTwoPointZero",
		resp:    vcTooMany(vcH("Retry-After", "2.0")),
		limited: true, cause: CauseRateLimit,
		wait: 2 * time.Second, waitSource: "retry-after",
	},
	{
		name:    "DecimalOnePointFive",
		resp:    vcTooMany(vcH("Retry-After", "1.5")),
		limited: true, cause: CauseRateLimit,
		wait: 1500 * time.Millisecond, waitSource: "retry-after",
	},
	{
		name:    "GarbageIsWarnedAndIgnored",
		resp:    vcTooMany(vcH("Retry-After", "soon")),
		limited: true, cause: CauseRateLimit,
		warn: "retry-after",
	},
	{
		name:    "NegativeIsWarnedAndIgnored",
		resp:    vcTooMany(vcH("Retry-After", "-5")),
		limited: true, cause: CauseRateLimit,
		warn: "retry-after",
	},
	{
		name:    "HugeDelayIsWarnedAndReportedAsAYear",
		resp:    vcTooMany(vcH("Retry-After", "99999999999")),
		limited: true, cause: CauseRateLimit,
		wait: MaxPlausibleWait, waitSource: "retry-after",
		warn: "retry-after",
	},
	{
		name:    "FarFutureDateIsWarnedAndReportedAsAYear",
		resp:    vcTooMany(vcH("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")),
		limited: true, cause: CauseRateLimit,
		wait: MaxPlausibleWait, waitSource: "retry-after",
		warn: "retry-after",
	},
	{
		name:    "ExactlyMaxPlausibleWaitIsBelieved",
		resp:    vcTooMany(vcH("Retry-After", "31622400")),
		limited: true, cause: CauseRateLimit,
		wait: MaxPlausibleWait, waitSource: "retry-after",
	},
	{
		name:    "OneSecondOverMaxPlausibleWaitIsReportedAsAYear",
		resp:    vcTooMany(vcH("Retry-After", "31622401")),
		limited: true, cause: CauseRateLimit,
		wait: MaxPlausibleWait, waitSource: "retry-after",
		warn: "retry-after",
	},
	{
		name:    "LowerCaseKeyBuiltByHand",
		resp:    vcTooMany(vcRawH("retry-after", "30")),
		limited: true, cause: CauseRateLimit,
		wait: 30 * time.Second, waitSource: "retry-after",
	},
	{
		name:    "UpperCaseKeyBuiltByHand",
		resp:    vcTooMany(vcRawH("RETRY-AFTER", "30")),
		limited: true, cause: CauseRateLimit,
		wait: 30 * time.Second, waitSource: "retry-after",
	},
	{
		// Retry-After counts on 4xx and 5xx responses only.
		name: "IgnoredOn200",
		resp: Response{Status: 200, Header: vcH("Retry-After", "120")},
	},
	{
		name:    "ServiceUnavailableWithRetryAfterIsLimited",
		resp:    Response{Status: 503, Header: vcH("Retry-After", "120")},
		limited: true, cause: CauseRateLimit,
		wait: 2 * time.Minute, waitSource: "retry-after",
		vendor: vcNoVendor,
	},
	{
		name:    "ServiceUnavailableWithRetryAfterDateIsLimited",
		resp:    Response{Status: 503, Header: vcH("Retry-After", vcHTTPDate(vcIn(45*time.Second)))},
		limited: true, cause: CauseRateLimit,
		wait: 45 * time.Second, waitSource: "retry-after",
	},
	{
		name:    "ServiceUnavailableWithRetryAfterMsIsLimited",
		resp:    Response{Status: 503, Header: vcH("retry-after-ms", "250")},
		limited: true, cause: CauseRateLimit,
		wait: 250 * time.Millisecond, waitSource: "retry-after-ms",
	},
	{
		name: "ServiceUnavailableWithoutRetryAfterIsNotLimited",
		resp: Response{Status: 503, Header: vcH("Content-Type", "text/html"), Body: []byte("<html><body><h1>503 Service Unavailable</h1></body></html>")},
	},
	{
		name:    "Bare429WithNothingElse",
		resp:    Response{Status: 429},
		limited: true, cause: CauseRateLimit,
		vendor: vcNoVendor,
	},
}

// IETF RateLimit header fields, older drafts: RateLimit-Limit with an
// optional quota-policy list ("10, 10;w=1, 1000;w=3600"), RateLimit-Remaining,
// RateLimit-Reset in delta seconds:
//   https://datatracker.ietf.org/doc/html/draft-polli-ratelimit-headers-05
//   https://datatracker.ietf.org/doc/html/draft-ietf-httpapi-ratelimit-headers-06
// Draft 07: the RateLimit dictionary (limit=, remaining=, reset=) with
// RateLimit-Policy:
//   https://datatracker.ietf.org/doc/html/draft-ietf-httpapi-ratelimit-headers-07
// Current drafts: RateLimit-Policy lists named policies with q= (quota),
// w= (window), qu= (quota unit), pk= (partition key); RateLimit lists
// r= (remaining) and t= (reset, delta seconds) per policy:
//   https://datatracker.ietf.org/doc/html/draft-ietf-httpapi-ratelimit-headers-10

var vcIETFCases = []vcCase{
	{
		name: "OlderDraftPolicyList",
		resp: Response{Status: 200, Header: vcH(
			"RateLimit-Limit", "10, 10;w=1, 1000;w=3600",
			"RateLimit-Remaining", "9",
			"RateLimit-Reset", "1",
		)},
		vendor: vcNoVendor,
		quotas: []vcQuota{
			vcQ("requests").lim(10).rem(9).at(vcIn(time.Second)).win(time.Second),
			vcQ("requests/3600s").lim(1000).win(time.Hour),
		},
	},
	{
		name: "OlderDraftPolicyListExhausted429",
		resp: Response{Status: 429, Header: vcH(
			"RateLimit-Limit", "10, 10;w=1, 1000;w=3600",
			"RateLimit-Remaining", "0",
			"RateLimit-Reset", "7",
		)},
		limited: true, cause: CauseRateLimit,
		wait: 7 * time.Second, waitSource: "ratelimit-reset",
		vendor: vcNoVendor,
		quotas: []vcQuota{
			vcQ("requests").lim(10).rem(0).at(vcIn(7 * time.Second)).win(time.Second),
			vcQ("requests/3600s").lim(1000).win(time.Hour),
		},
	},
	{
		// The active quota is the hourly one here: it takes w=3600 and
		// the one-second policy is reported on its own.
		name: "OlderDraftActiveQuotaIsTheHourlyPolicy",
		resp: Response{Status: 200, Header: vcH(
			"RateLimit-Limit", "1000, 10;w=1, 1000;w=3600",
			"RateLimit-Remaining", "12",
			"RateLimit-Reset", "900",
		)},
		vendor: vcNoVendor,
		quotas: []vcQuota{
			vcQ("requests").lim(1000).rem(12).at(vcIn(15 * time.Minute)).win(time.Hour),
			vcQ("requests/1s").lim(10).win(time.Second),
		},
	},
	{
		name: "BareLimitIsOneRequestsQuota",
		resp: Response{Status: 200, Header: vcH(
			"RateLimit-Limit", "100",
			"RateLimit-Remaining", "50",
			"RateLimit-Reset", "50",
		)},
		vendor: vcNoVendor,
		quotas: []vcQuota{vcQ("requests").lim(100).rem(50).at(vcIn(50 * time.Second))},
	},
	{
		// With no vendor recognized a reset of at least 1e9 is epoch
		// seconds (doc.go's size rule), even in an IETF-shaped field.
		name: "UnknownVendorLargeResetIsEpochSeconds",
		resp: Response{Status: 429, Header: vcH(
			"RateLimit-Limit", "600",
			"RateLimit-Remaining", "0",
			"RateLimit-Reset", vcEpoch(vcIn(3*time.Minute)),
		)},
		limited: true, cause: CauseRateLimit,
		wait: 3 * time.Minute, waitSource: "ratelimit-reset",
		vendor: vcNoVendor,
		quotas: []vcQuota{vcQ("requests").lim(600).rem(0).at(vcIn(3 * time.Minute))},
	},
	{
		name: "Draft07DictionaryWithPolicyWindow",
		resp: Response{Status: 200, Header: vcH(
			"RateLimit", "limit=100, remaining=50, reset=5",
			"RateLimit-Policy", "100;w=60",
		)},
		vendor: vcNoVendor,
		quotas: []vcQuota{vcQ("requests").lim(100).rem(50).at(vcIn(5 * time.Second)).win(time.Minute)},
	},
	{
		name: "Draft07DictionaryExhaustedWithoutPolicy",
		resp: Response{Status: 429, Header: vcH(
			"RateLimit", "limit=10, remaining=0, reset=5",
		)},
		limited: true, cause: CauseRateLimit,
		wait: 5 * time.Second, waitSource: "ratelimit",
		vendor: vcNoVendor,
		quotas: []vcQuota{vcQ("requests").lim(10).rem(0).at(vcIn(5 * time.Second))},
	},
	{
		name: "StructuredDefaultPolicyDocExample",
		resp: Response{Status: 200, Header: vcH(
			"RateLimit-Policy", `"default";q=100;w=10`,
			"RateLimit", `"default";r=50;t=30`,
		)},
		vendor: vcNoVendor,
		quotas: []vcQuota{vcQ("default").lim(100).rem(50).at(vcIn(30 * time.Second)).win(10 * time.Second)},
	},
	{
		name: "StructuredBurstExhaustedDailyListed",
		resp: Response{Status: 429, Header: vcH(
			"RateLimit-Policy", `"burst";q=100;w=60, "daily";q=1000;w=86400`,
			"RateLimit", `"burst";r=0;t=30`,
		)},
		limited: true, cause: CauseRateLimit,
		wait: 30 * time.Second, waitSource: "ratelimit",
		vendor: vcNoVendor,
		quotas: []vcQuota{
			vcQ("burst").lim(100).rem(0).at(vcIn(30 * time.Second)).win(time.Minute),
			vcQ("daily").lim(1000).win(24 * time.Hour),
		},
	},
	{
		name: "StructuredTokenPolicyNames",
		resp: Response{Status: 200, Header: vcH(
			"RateLimit-Policy", "burst;q=100;w=60",
			"RateLimit", "burst;r=50;t=30",
		)},
		vendor: vcNoVendor,
		quotas: []vcQuota{vcQ("burst").lim(100).rem(50).at(vcIn(30 * time.Second)).win(time.Minute)},
	},
	{
		name: "StructuredQuotaUnitAndPartitionKeyIgnored",
		resp: Response{Status: 200, Header: vcH(
			"RateLimit-Policy", `"peruser";q=65535;qu="content-bytes";w=10`,
			"RateLimit", `"peruser";r=10000;t=3;pk=:dXNlcjEyMw==:`,
		)},
		vendor: vcNoVendor,
		quotas: []vcQuota{vcQ("peruser").lim(65535).rem(10000).at(vcIn(3 * time.Second)).win(10 * time.Second)},
	},
	{
		name: "StructuredLastUnitOn200Waits",
		resp: Response{Status: 200, Header: vcH(
			"RateLimit-Policy", `"default";q=100;w=60`,
			"RateLimit", `"default";r=0;t=12`,
		)},
		wait: 12 * time.Second, waitSource: "ratelimit",
		vendor: vcNoVendor,
		quotas: []vcQuota{vcQ("default").lim(100).rem(0).at(vcIn(12 * time.Second)).win(time.Minute)},
	},
	{
		name: "StructuredTwoExhaustedLongestWins",
		resp: Response{Status: 429, Header: vcH(
			"RateLimit-Policy", `"permin";q=50;w=60, "perhr";q=1000;w=3600`,
			"RateLimit", `"permin";r=0;t=10, "perhr";r=0;t=3600`,
		)},
		limited: true, cause: CauseRateLimit,
		wait: time.Hour, waitSource: "ratelimit",
		vendor: vcNoVendor,
		quotas: []vcQuota{
			vcQ("permin").lim(50).rem(0).at(vcIn(10 * time.Second)).win(time.Minute),
			vcQ("perhr").lim(1000).rem(0).at(vcIn(time.Hour)).win(time.Hour),
		},
	},
	{
		name: "RetryAfterLongerThanStructuredReset",
		resp: Response{Status: 429, Header: vcH(
			"Retry-After", "60",
			"RateLimit-Policy", `"default";q=100;w=60`,
			"RateLimit", `"default";r=0;t=30`,
		)},
		limited: true, cause: CauseRateLimit,
		wait: time.Minute, waitSource: "retry-after",
		vendor: vcNoVendor,
		quotas: []vcQuota{vcQ("default").lim(100).rem(0).at(vcIn(30 * time.Second)).win(time.Minute)},
	},
	{
		name: "StructuredResetLongerThanRetryAfter",
		resp: Response{Status: 429, Header: vcH(
			"Retry-After", "10",
			"RateLimit-Policy", `"default";q=100;w=60`,
			"RateLimit", `"default";r=0;t=30`,
		)},
		limited: true, cause: CauseRateLimit,
		wait: 30 * time.Second, waitSource: "ratelimit",
		vendor: vcNoVendor,
		quotas: []vcQuota{vcQ("default").lim(100).rem(0).at(vcIn(30 * time.Second)).win(time.Minute)},
	},
	{
		name: "StructuredLowerCaseKeys",
		resp: Response{Status: 200, Header: vcRawH(
			"ratelimit-policy", `"default";q=100;w=10`,
			"ratelimit", `"default";r=50;t=30`,
		)},
		vendor: vcNoVendor,
		quotas: []vcQuota{vcQ("default").lim(100).rem(50).at(vcIn(30 * time.Second)).win(10 * time.Second)},
	},
}

func TestVendorRetryAfter(t *testing.T) { vcRun(t, vcRetryAfterCases) }

func TestVendorIETFRateLimit(t *testing.T) { vcRun(t, vcIETFCases) }

// The less common forms of RFC 9110: a field repeated or joined into a list
// (§5.3, "120, 120"), HTTP-dates from other sources with a numeric zone
// (§5.6.7: recipients are encouraged to be robust and accept the Internet
// Message Format's dates, RFC 5322 §3.3), and values beyond a year, which
// are reported as MaxPlausibleWait with a warning so that the caller's cap
// decides:
//   https://www.rfc-editor.org/rfc/rfc9110#section-5.3
//   https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
//   https://www.rfc-editor.org/rfc/rfc5322#section-3.3

var vcRFC9110Cases = []vcCase{
	{
		name:    "ListValueOfEqualMembers",
		resp:    vcTooMany(vcRawH("Retry-After", "120, 120")),
		limited: true, cause: CauseRateLimit,
		wait: 2 * time.Minute, waitSource: "retry-after",
	},
	{
		name:    "RepeatedFieldLines",
		resp:    vcTooMany(vcH("Retry-After", "120", "Retry-After", "120")),
		limited: true, cause: CauseRateLimit,
		wait: 2 * time.Minute, waitSource: "retry-after",
	},
	{
		name:    "ListOfDifferingMembersLongestReadWithWarning",
		resp:    vcTooMany(vcRawH("Retry-After", "30, 120")),
		limited: true, cause: CauseRateLimit,
		wait: 2 * time.Minute, waitSource: "retry-after",
		warn: "retry-after",
	},
	{
		name:    "ListOfHTTPDates",
		resp:    vcTooMany(vcRawH("Retry-After", "Sun, 22 Nov 2026 12:01:00 GMT, Sun, 22 Nov 2026 12:01:00 GMT")),
		limited: true, cause: CauseRateLimit,
		wait: time.Minute, waitSource: "retry-after",
	},
	{
		name:    "HTTPDateWithNumericZoneUTC",
		resp:    vcTooMany(vcH("Retry-After", "Sun, 22 Nov 2026 12:00:30 +0000")),
		limited: true, cause: CauseRateLimit,
		wait: 30 * time.Second, waitSource: "retry-after",
	},
	{
		name:    "HTTPDateWithNegativeNumericZone",
		resp:    vcTooMany(vcH("Retry-After", "Sun, 22 Nov 2026 04:00:30 -0800")),
		limited: true, cause: CauseRateLimit,
		wait: 30 * time.Second, waitSource: "retry-after",
	},
	{
		name:    "DelayBeyondAYearReportedAsAYear",
		resp:    vcTooMany(vcH("Retry-After", "40000000")),
		limited: true, cause: CauseRateLimit,
		wait: MaxPlausibleWait, waitSource: "retry-after",
		warn: "retry-after",
	},
	{
		name: "ExhaustedResetBeyondAYearReportedAsAYear",
		resp: Response{Status: 429, Header: vcH(
			"X-RateLimit-Limit", "100",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", vcEpoch(vcIn(2*366*24*time.Hour)),
		)},
		limited: true, cause: CauseRateLimit,
		wait: MaxPlausibleWait, waitSource: "x-ratelimit-reset",
		quotas: []vcQuota{vcQ("requests").lim(100).rem(0).at(vcIn(MaxPlausibleWait))},
		warn:   "x-ratelimit-reset",
	},
}

// JavaScript Date.prototype.toString resets, "Tue Feb 16 2021 09:02:42
// GMT+0100 (Central European Standard Time)", as lemlist documents its
// X-RateLimit-Reset:
//   https://developer.lemlist.com/api-reference/getting-started/rate-limits
// The form itself (ECMA-262, Date.prototype.toString, "DateString" +
// "TimeString" + "TimeZoneString"):
//   https://tc39.es/ecma262/#sec-date.prototype.tostring

var vcJSDateCases = []vcCase{
	{
		name: "LemlistDocExample",
		now:  time.Date(2021, 2, 16, 8, 2, 40, 0, time.UTC),
		resp: Response{Status: 429, Header: vcH(
			"Retry-After", "2",
			"X-RateLimit-Limit", "20",
			"X-RateLimit-Remaining", "7",
			"X-RateLimit-Reset", "Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)",
		)},
		limited: true, cause: CauseRateLimit,
		wait: 2 * time.Second, waitSource: "retry-after",
		quotas: []vcQuota{vcQ("requests").lim(20).rem(7).at(time.Date(2021, 2, 16, 8, 2, 42, 0, time.UTC))},
	},
	{
		name: "ExhaustedOn200WaitsForTheJSDate",
		resp: Response{Status: 200, Header: vcH(
			"X-RateLimit-Limit", "20",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", "Sun Nov 22 2026 13:00:02 GMT+0100 (Central European Standard Time)",
		)},
		wait: 2 * time.Second, waitSource: "x-ratelimit-reset",
		quotas: []vcQuota{vcQ("requests").lim(20).rem(0).at(vcIn(2 * time.Second))},
	},
	{
		name: "NegativeOffsetWithoutZoneName",
		resp: Response{Status: 429, Header: vcH(
			"X-RateLimit-Limit", "20",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", "Sun Nov 22 2026 07:00:05 GMT-0500",
		)},
		limited: true, cause: CauseRateLimit,
		wait: 5 * time.Second, waitSource: "x-ratelimit-reset",
		quotas: []vcQuota{vcQ("requests").lim(20).rem(0).at(vcIn(5 * time.Second))},
	},
}

func TestVendorRFC9110Forms(t *testing.T) { vcRun(t, vcRFC9110Cases) }

func TestVendorJSDate(t *testing.T) { vcRun(t, vcJSDateCases) }
