package quota

import (
	"testing"
	"time"
)

// GitHub REST API: header table, primary and secondary limits, and the rule
// "otherwise wait for at least one minute":
//   https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
// The header examples with the Date they were captured at come from the older
// revision of that page ("Resources in the REST API", rate limiting section):
//   https://docs.github.com/en/rest/overview/resources-in-the-rest-api#rate-limiting
// GraphQL API (primary limit answered with 200 and an error, x-ratelimit-remaining 0):
//   https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api

var (
	vcGHNow200 = time.Date(2013, 7, 1, 17, 27, 6, 0, time.UTC)   // Date: Mon, 01 Jul 2013 17:27:06 GMT
	vcGHNow403 = time.Date(2013, 8, 20, 14, 50, 41, 0, time.UTC) // Date: Tue, 20 Aug 2013 14:50:41 GMT
)

const (
	vcGHPrimaryBody = `{
  "message": "API rate limit exceeded for xxx.xxx.xxx.xxx. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)",
  "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
}`
	vcGHSecondaryBody = `{
  "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID DBD8:3D6B:1A5C2E8:1B7F0C4:6581E5A2.",
  "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
  "status": "403"
}`
	vcGHGraphQLRateLimitedBody = `{
  "errors": [
    {
      "type": "RATE_LIMITED",
      "message": "API rate limit exceeded for user ID 1234567."
    }
  ]
}`
)

var vcGitHubCases = []vcCase{
	{
		name: "UnauthenticatedHeadersDocExample",
		now:  vcGHNow200,
		resp: Response{Status: 200, Host: "api.github.com", Header: vcH(
			"Date", "Mon, 01 Jul 2013 17:27:06 GMT",
			"X-RateLimit-Limit", "60",
			"X-RateLimit-Remaining", "56",
			"X-RateLimit-Used", "4",
			"X-RateLimit-Reset", "1372700873",
		)},
		vendor: "github",
		quotas: []vcQuota{vcQ("requests").lim(60).rem(56).at(time.Unix(1372700873, 0))},
	},
	{
		name: "AuthenticatedCoreResourceNamesQuota",
		now:  vcGHNow200,
		resp: Response{Status: 200, Host: "api.github.com", Header: vcH(
			"X-RateLimit-Limit", "5000",
			"X-RateLimit-Remaining", "4966",
			"X-RateLimit-Used", "34",
			"X-RateLimit-Reset", "1372700873",
			"X-RateLimit-Resource", "core",
		)},
		vendor: "github",
		quotas: []vcQuota{vcQ("core").lim(5000).rem(4966).at(time.Unix(1372700873, 0))},
	},
	{
		name: "Primary403DocExampleWaitsForEpochReset",
		now:  vcGHNow403,
		resp: Response{Status: 403, Host: "api.github.com", Header: vcH(
			"Date", "Tue, 20 Aug 2013 14:50:41 GMT",
			"X-RateLimit-Limit", "60",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Used", "60",
			"X-RateLimit-Reset", "1377013266",
		), Body: []byte(vcGHPrimaryBody)},
		limited: true, cause: CauseRateLimit,
		wait: 3025 * time.Second, waitSource: "x-ratelimit-reset",
		vendor: "github",
		quotas: []vcQuota{vcQ("requests").lim(60).rem(0).at(time.Unix(1377013266, 0))},
	},
	{
		name: "Primary429SearchResource",
		resp: Response{Status: 429, Host: "api.github.com", Header: vcH(
			"X-RateLimit-Limit", "30",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Used", "30",
			"X-RateLimit-Reset", vcEpoch(vcIn(45*time.Second)),
			"X-RateLimit-Resource", "search",
		), Body: []byte(`{"message":"API rate limit exceeded for user ID 1234567.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`)},
		limited: true, cause: CauseRateLimit,
		wait: 45 * time.Second, waitSource: "x-ratelimit-reset",
		vendor: "github",
		quotas: []vcQuota{vcQ("search").lim(30).rem(0).at(vcIn(45 * time.Second))},
	},
	{
		name: "Secondary403WithRetryAfterWaitsThatLong",
		resp: Response{Status: 403, Host: "api.github.com", Header: vcH(
			"Retry-After", "30",
			"X-RateLimit-Limit", "5000",
			"X-RateLimit-Remaining", "4990",
			"X-RateLimit-Used", "10",
			"X-RateLimit-Reset", vcEpoch(vcIn(40*time.Minute)),
			"X-RateLimit-Resource", "core",
		), Body: []byte(vcGHSecondaryBody)},
		limited: true, cause: CauseRateLimit,
		wait: 30 * time.Second, waitSource: "retry-after",
		vendor: "github",
		quotas: []vcQuota{vcQ("core").lim(5000).rem(4990).at(vcIn(40 * time.Minute))},
	},
	{
		name: "Secondary403WithoutRetryAfterWaitsOneMinute",
		resp: Response{Status: 403, Host: "api.github.com", Header: vcH(
			"X-RateLimit-Limit", "5000",
			"X-RateLimit-Remaining", "4990",
			"X-RateLimit-Used", "10",
			"X-RateLimit-Reset", vcEpoch(vcIn(40*time.Minute)),
			"X-RateLimit-Resource", "core",
		), Body: []byte(vcGHSecondaryBody)},
		limited: true, cause: CauseRateLimit,
		wait: time.Minute, waitSource: "github-secondary-rate-limit",
		vendor: "github",
		quotas: []vcQuota{vcQ("core").lim(5000).rem(4990).at(vcIn(40 * time.Minute))},
	},
	{
		name: "Secondary429BodyOnlyWaitsOneMinute",
		resp: Response{Status: 429, Host: "api.github.com", Header: vcH(
			"Content-Type", "application/json; charset=utf-8",
		), Body: []byte(vcGHSecondaryBody)},
		limited: true, cause: CauseRateLimit,
		wait: time.Minute, waitSource: "github-secondary-rate-limit",
		vendor: "github",
	},
	{
		// "If the x-ratelimit-remaining header is 0, you should not retry
		// until after ... x-ratelimit-reset. Otherwise, wait for at least
		// one minute": the minute applies only when nothing else is said.
		name: "SecondaryWithExhaustedQuotaWaitsForResetNotOneMinute",
		resp: Response{Status: 403, Host: "api.github.com", Header: vcH(
			"X-RateLimit-Limit", "5000",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Used", "5000",
			"X-RateLimit-Reset", vcEpoch(vcIn(20*time.Second)),
			"X-RateLimit-Resource", "core",
		), Body: []byte(vcGHSecondaryBody)},
		limited: true, cause: CauseRateLimit,
		wait: 20 * time.Second, waitSource: "x-ratelimit-reset",
		vendor: "github",
		quotas: []vcQuota{vcQ("core").lim(5000).rem(0).at(vcIn(20 * time.Second))},
	},
	{
		name: "SecondaryRecognizedByRequestIDWithoutHost",
		resp: Response{Status: 403, Header: vcH(
			"X-GitHub-Request-Id", "DBD8:3D6B:1A5C2E8:1B7F0C4:6581E5A2",
			"X-RateLimit-Limit", "5000",
			"X-RateLimit-Remaining", "4999",
			"X-RateLimit-Used", "1",
			"X-RateLimit-Reset", vcEpoch(vcIn(time.Hour)),
			"X-RateLimit-Resource", "core",
		), Body: []byte(vcGHSecondaryBody)},
		limited: true, cause: CauseRateLimit,
		wait: time.Minute, waitSource: "github-secondary-rate-limit",
		vendor: "github",
		quotas: []vcQuota{vcQ("core").lim(5000).rem(4999).at(vcIn(time.Hour))},
	},
	{
		// GitHub documents x-ratelimit-used too, which doc.go lists as
		// Reddit's shape; x-github-request-id must win, or the epoch reset
		// would be read as 43 years of delta seconds.
		name: "UsedHeaderWithRequestIDIsGitHubNotReddit",
		now:  vcGHNow403,
		resp: Response{Status: 403, Header: vcH(
			"X-GitHub-Request-Id", "CDE3:6B9A:2E1A3F:5D8B21:65A1B2C3",
			"X-RateLimit-Limit", "60",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Used", "60",
			"X-RateLimit-Reset", "1377013266",
		), Body: []byte(vcGHPrimaryBody)},
		limited: true, cause: CauseRateLimit,
		wait: 3025 * time.Second, waitSource: "x-ratelimit-reset",
		vendor: "github",
		quotas: []vcQuota{vcQ("requests").lim(60).rem(0).at(time.Unix(1377013266, 0))},
	},
	{
		name: "GraphQL200RateLimitedWithHeaders",
		resp: Response{Status: 200, Host: "api.github.com", Header: vcH(
			"X-RateLimit-Limit", "5000",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Used", "5000",
			"X-RateLimit-Reset", vcEpoch(vcIn(20*time.Minute)),
			"X-RateLimit-Resource", "graphql",
		), Body: []byte(vcGHGraphQLRateLimitedBody)},
		limited: true, cause: CauseRateLimit,
		wait: 20 * time.Minute, waitSource: "x-ratelimit-reset",
		vendor: "github",
		quotas: []vcQuota{vcQ("graphql").lim(5000).rem(0).at(vcIn(20 * time.Minute))},
	},
	{
		name: "GraphQL200RateLimitedBodyOnly",
		resp: Response{Status: 200, Host: "api.github.com", Header: vcH(
			"Content-Type", "application/json; charset=utf-8",
		), Body: []byte(vcGHGraphQLRateLimitedBody)},
		limited: true, cause: CauseRateLimit,
		vendor: "github",
	},
	{
		name: "LastUnitSpentOn200WaitsButIsNotLimited",
		resp: Response{Status: 200, Host: "api.github.com", Header: vcH(
			"X-RateLimit-Limit", "60",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Used", "60",
			"X-RateLimit-Reset", vcEpoch(vcIn(5*time.Minute)),
			"X-RateLimit-Resource", "core",
		)},
		wait: 5 * time.Minute, waitSource: "x-ratelimit-reset",
		vendor: "github",
		quotas: []vcQuota{vcQ("core").lim(60).rem(0).at(vcIn(5 * time.Minute))},
	},
	{
		name: "LowerCaseKeysBuiltByHand",
		now:  vcGHNow403,
		resp: Response{Status: 403, Host: "api.github.com", Header: vcRawH(
			"x-ratelimit-limit", "60",
			"x-ratelimit-remaining", "0",
			"x-ratelimit-used", "60",
			"x-ratelimit-reset", "1377013266",
			"x-ratelimit-resource", "core",
		), Body: []byte(vcGHPrimaryBody)},
		limited: true, cause: CauseRateLimit,
		wait: 3025 * time.Second, waitSource: "x-ratelimit-reset",
		vendor: "github",
		quotas: []vcQuota{vcQ("core").lim(60).rem(0).at(time.Unix(1377013266, 0))},
	},
	{
		name: "Forbidden403WithoutLimitSignalIsNotLimited",
		resp: Response{Status: 403, Host: "api.github.com", Header: vcH(
			"X-RateLimit-Limit", "5000",
			"X-RateLimit-Remaining", "4999",
			"X-RateLimit-Used", "1",
			"X-RateLimit-Reset", vcEpoch(vcIn(time.Hour)),
			"X-RateLimit-Resource", "core",
		), Body: []byte(`{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/issues/issues#create-an-issue","status":"403"}`)},
		vendor: "github",
		quotas: []vcQuota{vcQ("core").lim(5000).rem(4999).at(vcIn(time.Hour))},
	},
}

// GitLab: RateLimit-* response headers (RateLimit-Reset in Unix time,
// RateLimit-ResetTime as an HTTP date, RateLimit-Name naming the throttle):
//   https://docs.gitlab.com/administration/settings/user_and_ip_rate_limits/#response-headers
// The header example (RateLimit-Limit: 600 ... RateLimit-ResetTime: Wed, 17
// Jul 2019 00:58:57 GMT) is the one the GitLab.com docs showed for the HAProxy
// API throttle:
//   https://docs.gitlab.com/user/gitlab_com/#haproxy-api-throttle
// 429 with Retry-After:
//   https://docs.gitlab.com/security/rate_limits/

var vcGitLabCases = []vcCase{
	{
		name: "HAProxyHeadersDocExample",
		now:  time.Date(2019, 7, 17, 0, 58, 0, 0, time.UTC),
		resp: Response{Status: 200, Header: vcH(
			"RateLimit-Limit", "600",
			"RateLimit-Observed", "6",
			"RateLimit-Remaining", "594",
			"RateLimit-Reset", "1563325137",
			"RateLimit-ResetTime", "Wed, 17 Jul 2019 00:58:57 GMT",
		)},
		vendor: "gitlab",
		quotas: []vcQuota{vcQ("requests").lim(600).rem(594).at(time.Unix(1563325137, 0))},
	},
	{
		name: "Throttled429NamedByRateLimitName",
		resp: Response{Status: 429, Host: "gitlab.com", Header: vcH(
			"Retry-After", "40",
			"RateLimit-Name", "throttle_authenticated_api",
			"RateLimit-Limit", "2000",
			"RateLimit-Observed", "2000",
			"RateLimit-Remaining", "0",
			"RateLimit-Reset", vcEpoch(vcIn(40*time.Second)),
			"RateLimit-ResetTime", vcHTTPDate(vcIn(40*time.Second)),
			"Content-Type", "text/plain",
		), Body: []byte("Retry later\n")},
		limited: true, cause: CauseRateLimit,
		wait: 40 * time.Second, waitSource: "retry-after",
		vendor: "gitlab",
		quotas: []vcQuota{vcQ("throttle_authenticated_api").lim(2000).rem(0).at(vcIn(40 * time.Second))},
	},
	{
		// The IETF drafts read RateLimit-Reset as delta seconds; at GitLab
		// (recognized by host) it is Unix time.
		name: "HostMakesRateLimitResetEpochSeconds",
		resp: Response{Status: 429, Host: "gitlab.com", Header: vcH(
			"RateLimit-Limit", "600",
			"RateLimit-Remaining", "0",
			"RateLimit-Reset", vcEpoch(vcIn(2*time.Minute)),
		)},
		limited: true, cause: CauseRateLimit,
		wait: 2 * time.Minute, waitSource: "ratelimit-reset",
		vendor: "gitlab",
		quotas: []vcQuota{vcQ("requests").lim(600).rem(0).at(vcIn(2 * time.Minute))},
	},
	{
		name: "ResetTimeHTTPDateOnly",
		resp: Response{Status: 200, Header: vcH(
			"RateLimit-Limit", "600",
			"RateLimit-Observed", "600",
			"RateLimit-Remaining", "0",
			"RateLimit-ResetTime", vcHTTPDate(vcIn(90*time.Second)),
		)},
		wait: 90 * time.Second, waitSource: "ratelimit-resettime",
		vendor: "gitlab",
		quotas: []vcQuota{vcQ("requests").lim(600).rem(0).at(vcIn(90 * time.Second))},
	},
}

func TestVendorGitHub(t *testing.T) { vcRun(t, vcGitHubCases) }

func TestVendorGitLab(t *testing.T) { vcRun(t, vcGitLabCases) }
