package quota

import (
	"strconv"
	"testing"
	"time"
)

// vcEpochMs formats t as epoch milliseconds.
func vcEpochMs(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Linear GraphQL API: X-RateLimit-Requests-{Limit,Remaining,Reset} and
// X-RateLimit-Complexity-{Limit,Remaining,Reset} (resets in UTC epoch
// milliseconds), X-Complexity, and a rate-limited request answered 400 with
// a GraphQL error whose extensions.code is RATELIMITED:
//   https://linear.app/developers/rate-limiting

const vcLinearRateLimitedBody = `{"errors":[{"message":"Rate limit exceeded","extensions":{"type":"ratelimited","code":"RATELIMITED","statusCode":400,"userError":false,"userPresentableMessage":"Rate limit exceeded"}}]}`

var vcLinearCases = []vcCase{
	{
		name: "RequestAndComplexityHeadersOn200",
		resp: Response{Status: 200, Host: "api.linear.app", Header: vcH(
			"X-RateLimit-Requests-Limit", "5000",
			"X-RateLimit-Requests-Remaining", "4999",
			"X-RateLimit-Requests-Reset", vcEpochMs(vcIn(time.Hour)),
			"X-Complexity", "50",
			"X-RateLimit-Complexity-Limit", "250000",
			"X-RateLimit-Complexity-Remaining", "249950",
			"X-RateLimit-Complexity-Reset", vcEpochMs(vcIn(time.Hour)),
		)},
		vendor: "linear",
		quotas: []vcQuota{
			vcQ("requests").lim(5000).rem(4999).at(vcIn(time.Hour)),
			vcQ("complexity").lim(250000).rem(249950).at(vcIn(time.Hour)),
		},
	},
	{
		name: "Ratelimited400WaitsForTheEpochMsReset",
		resp: Response{Status: 400, Host: "api.linear.app", Header: vcH(
			"X-RateLimit-Requests-Limit", "5000",
			"X-RateLimit-Requests-Remaining", "0",
			"X-RateLimit-Requests-Reset", vcEpochMs(vcIn(30*time.Second)),
		), Body: []byte(vcLinearRateLimitedBody)},
		limited: true, cause: CauseRateLimit,
		wait: 30 * time.Second, waitSource: "x-ratelimit-requests-reset",
		vendor: "linear",
		quotas: []vcQuota{vcQ("requests").lim(5000).rem(0).at(vcIn(30 * time.Second))},
	},
	{
		name:    "Ratelimited400BodyOnly",
		resp:    Response{Status: 400, Body: []byte(vcLinearRateLimitedBody)},
		limited: true, cause: CauseRateLimit,
		vendor: "linear",
	},
	{
		name: "ComplexityExhaustedRecognizedByShape",
		resp: Response{Status: 400, Header: vcRawH(
			"x-ratelimit-complexity-limit", "250000",
			"x-ratelimit-complexity-remaining", "0",
			"x-ratelimit-complexity-reset", vcEpochMs(vcIn(90*time.Second)),
		), Body: []byte(vcLinearRateLimitedBody)},
		limited: true, cause: CauseRateLimit,
		wait: 90 * time.Second, waitSource: "x-ratelimit-complexity-reset",
		vendor: "linear",
		quotas: []vcQuota{vcQ("complexity").lim(250000).rem(0).at(vcIn(90 * time.Second))},
	},
	{
		name: "GraphQLErrorOn200IsNotRateLimited",
		resp: Response{Status: 200, Host: "api.linear.app", Header: vcH(
			"X-RateLimit-Requests-Remaining", "4000",
		), Body: []byte(`{"errors":[{"message":"Entity not found","extensions":{"code":"INVALID_INPUT"}}]}`)},
		vendor: "linear",
		quotas: []vcQuota{vcQ("requests").rem(4000)},
	},
}

// Zendesk Support API: X-Rate-Limit and X-Rate-Limit-Remaining account-wide;
// the Ticketing APIs' list endpoints add ratelimit-limit/-remaining/-reset
// (delta seconds) and a per-endpoint
// zendesk-ratelimit-tickets-index: total=100; remaining=99; resets=41;
// a 429 carries Retry-After:
//   https://developer.zendesk.com/api-reference/introduction/rate-limits
//   https://developer.zendesk.com/documentation/api-basics/best-practices/best-practices-for-avoiding-rate-limiting

var vcZendeskCases = []vcCase{
	{
		name: "AccountHeadersDocExample",
		resp: Response{Status: 200, Host: "acme.zendesk.com", Header: vcH(
			"X-Rate-Limit", "700",
			"X-Rate-Limit-Remaining", "699",
		)},
		vendor: "zendesk",
		quotas: []vcQuota{vcQ("requests").lim(700).rem(699)},
	},
	{
		name: "TicketingListHeadersDocExampleByShape",
		resp: Response{Status: 200, Header: vcRawH(
			"x-rate-limit", "700",
			"ratelimit-limit", "700",
			"x-rate-limit-remaining", "699",
			"ratelimit-remaining", "699",
			"ratelimit-reset", "41",
			"zendesk-ratelimit-tickets-index", "total=100; remaining=99; resets=41",
		)},
		vendor: "zendesk",
		quotas: []vcQuota{
			vcQ("requests").lim(700).rem(699).at(vcIn(41 * time.Second)),
			vcQ("tickets-index").lim(100).rem(99).at(vcIn(41 * time.Second)),
		},
	},
	{
		name: "Throttled429RetryAfter",
		resp: Response{Status: 429, Host: "acme.zendesk.com", Header: vcH(
			"Retry-After", "93",
			"X-Rate-Limit", "700",
			"X-Rate-Limit-Remaining", "0",
		), Body: []byte(`{"error":"APIRateLimitExceeded","description":"Number of allowed API requests per minute exceeded"}`)},
		limited: true, cause: CauseRateLimit,
		wait: 93 * time.Second, waitSource: "retry-after",
		vendor: "zendesk",
		quotas: []vcQuota{vcQ("requests").lim(700).rem(0)},
	},
	{
		name: "EndpointLimitSpentOn200WaitsForItsReset",
		resp: Response{Status: 200, Host: "acme.zendesk.com", Header: vcH(
			"X-Rate-Limit", "700",
			"X-Rate-Limit-Remaining", "650",
			"Zendesk-RateLimit-Tickets-Index", "total=100; remaining=0; resets=12",
		)},
		wait: 12 * time.Second, waitSource: "zendesk-ratelimit-tickets-index",
		vendor: "zendesk",
		quotas: []vcQuota{
			vcQ("requests").lim(700).rem(650),
			vcQ("tickets-index").lim(100).rem(0).at(vcIn(12 * time.Second)),
		},
	},
}

// Atlassian Jira and Confluence Cloud: Retry-After, X-RateLimit-Limit,
// -Remaining, -Reset (ISO 8601, "yyyy-MM-ddTHH:mmZ", the request time plus
// Retry-After), X-RateLimit-NearLimit, RateLimit-Reason naming the limit
// (jira-burst-based, jira-quota-global-based, ...), and the points quota as
// Beta-RateLimit-Policy / Beta-RateLimit in the IETF draft's syntax:
//   https://developer.atlassian.com/cloud/jira/platform/rate-limiting
//   https://developer.atlassian.com/cloud/confluence/rate-limiting
//   https://developer.atlassian.com/cloud/jira/platform/build-an-app-that-respects-rate-limits/
// The Beta-RateLimit header set as captured from Jira:
//   https://community.developer.atlassian.com/t/2026-point-based-rate-limits/97828?page=9

var vcAtlassianCases = []vcCase{
	{
		name: "BetaQuotaHeadersCommunityExample",
		resp: Response{Status: 200, Host: "acme.atlassian.net", Header: vcH(
			"Beta-Ratelimit-Policy", `"tenant-app-quota";q=100100;w=3600`,
			"Beta-Ratelimit", `"tenant-app-quota";r=17842;t=2107`,
			"X-Beta-Ratelimit-Reason", "jira-quota-tenant-based",
			"X-Beta-Ratelimit-Nearlimit", "true",
			"X-Ratelimit-Limit", "350",
			"X-Ratelimit-Remaining", "349",
		)},
		vendor: "atlassian",
		quotas: []vcQuota{
			vcQ("tenant-app-quota").lim(100100).rem(17842).at(vcIn(2107 * time.Second)).win(time.Hour),
			vcQ("requests").lim(350).rem(349),
		},
	},
	{
		name: "Quota429BetaExhaustedRetryAfter",
		resp: Response{Status: 429, Host: "acme.atlassian.net", Header: vcH(
			"Retry-After", "1800",
			"Beta-RateLimit", `"global-app-quota";r=0;t=1800`,
			"RateLimit-Reason", "jira-quota-global-based",
		)},
		limited: true, cause: CauseRateLimit,
		wait: 30 * time.Minute, waitSource: "retry-after",
		vendor: "atlassian",
		quotas: []vcQuota{vcQ("global-app-quota").rem(0).at(vcIn(30 * time.Minute))},
	},
	{
		// The minute-rounded reset yields to the exact Retry-After.
		name: "Burst429ISOMinuteResetYieldsToRetryAfter",
		resp: Response{Status: 429, Host: "acme.atlassian.net", Header: vcH(
			"Retry-After", "5",
			"X-RateLimit-Limit", "100",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", "2026-11-22T12:01Z",
			"RateLimit-Reason", "jira-burst-based",
		)},
		limited: true, cause: CauseRateLimit,
		wait: 5 * time.Second, waitSource: "retry-after",
		vendor: "atlassian",
		quotas: []vcQuota{vcQ("jira-burst-based").lim(100).rem(0).at(vcIn(time.Minute))},
	},
	{
		name: "ConfluenceRecognizedByReasonWithoutHost",
		resp: Response{Status: 429, Header: vcH(
			"Retry-After", "10",
			"RateLimit-Reason", "confluence-quota-tenant-based",
		)},
		limited: true, cause: CauseRateLimit,
		wait: 10 * time.Second, waitSource: "retry-after",
		vendor: "atlassian",
	},
}

// Azure OpenAI beyond the shared OpenAI headers: resets in seconds
// ("x-ratelimit-reset-tokens usually gives me an int in seconds") and the
// x-rate-limit-{part}-{name} spelling, read like OpenAI's (a full-refill
// time that yields to Retry-After):
//   https://learn.microsoft.com/en-us/azure/ai-services/openai/how-to/quota#understanding-rate-limits
//   https://learn.microsoft.com/en-us/answers/questions/5625878/azure-openai-responses-api-x-ratelimit-headers-val

var vcAzureMoreCases = []vcCase{
	{
		name: "DashSpellingWithSecondsReset",
		resp: Response{Status: 200, Host: "contoso.openai.azure.com", Header: vcH(
			"x-ratelimit-remaining-requests", "99",
			"x-ratelimit-remaining-tokens", "9000",
			"x-rate-limit-reset-tokens", "6",
		)},
		vendor: "microsoft",
		quotas: []vcQuota{vcQ("requests").rem(99), vcQ("tokens").rem(9000).at(vcIn(6 * time.Second))},
	},
	{
		name: "DashSpellingExhaustedWithoutRetryAfter",
		resp: Response{Status: 429, Host: "contoso.openai.azure.com", Header: vcH(
			"x-rate-limit-remaining-tokens", "0",
			"x-rate-limit-reset-tokens", "14",
		)},
		limited: true, cause: CauseRateLimit,
		wait: 14 * time.Second, waitSource: "x-rate-limit-reset-tokens",
		vendor: "microsoft",
		quotas: []vcQuota{vcQ("tokens").rem(0).at(vcIn(14 * time.Second))},
	},
	{
		name: "IntegerSecondsResetYieldsToRetryAfter",
		resp: Response{Status: 429, Host: "contoso.openai.azure.com", Header: vcH(
			"retry-after", "3",
			"x-ratelimit-remaining-tokens", "0",
			"x-ratelimit-reset-tokens", "9",
		)},
		limited: true, cause: CauseRateLimit,
		wait: 3 * time.Second, waitSource: "retry-after",
		vendor: "microsoft",
		quotas: []vcQuota{vcQ("tokens").rem(0).at(vcIn(9 * time.Second))},
	},
}

// HubSpot's ten-secondly limit: X-HubSpot-RateLimit-Interval-Milliseconds
// gives the rolling window and X-HubSpot-RateLimit-Remaining 0 means no call
// passes until it has rolled by; likewise the secondly limit:
//   https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details

var vcHubSpotWindowCases = []vcCase{
	{
		name: "TenSecondlyExhaustedOn200WaitsTheInterval",
		resp: Response{Status: 200, Host: "api.hubapi.com", Header: vcH(
			"X-HubSpot-RateLimit-Interval-Milliseconds", "10000",
			"X-HubSpot-RateLimit-Max", "100",
			"X-HubSpot-RateLimit-Remaining", "0",
		)},
		wait: 10 * time.Second, waitSource: "x-hubspot-ratelimit-remaining",
		vendor: "hubspot",
		quotas: []vcQuota{vcQ("interval").lim(100).rem(0).win(10 * time.Second)},
	},
	{
		name: "SecondlyExhausted429WaitsASecond",
		resp: Response{Status: 429, Host: "api.hubapi.com", Header: vcH(
			"X-HubSpot-RateLimit-Secondly", "10",
			"X-HubSpot-RateLimit-Secondly-Remaining", "0",
		), Body: []byte(`{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","policyName":"SECONDLY"}`)},
		limited: true, cause: CauseRateLimit,
		wait: time.Second, waitSource: "x-hubspot-ratelimit-secondly-remaining",
		vendor: "hubspot",
		quotas: []vcQuota{vcQ("secondly").lim(10).rem(0).win(time.Second)},
	},
}

// RapidAPI: the proxy's plan quota x-ratelimit-requests-{limit,remaining,reset}
// (reset in seconds, days or a month ahead) beside the API's own rate limit
// x-ratelimit-{limit,remaining,reset}:
//   https://docs.rapidapi.com/v1.0/docs/response-headers

var vcRapidAPICases = []vcCase{
	{
		name: "PlanQuotaHeaders",
		resp: Response{Status: 200, Host: "weatherapi-com.p.rapidapi.com", Header: vcH(
			"X-RateLimit-Requests-Limit", "500",
			"X-RateLimit-Requests-Remaining", "499",
			"X-RateLimit-Requests-Reset", "2505600",
			"X-RapidAPI-Version", "1.2.8",
		)},
		vendor: "rapidapi",
		quotas: []vcQuota{vcQ("plan-requests").lim(500).rem(499).at(vcIn(2505600 * time.Second))},
	},
	{
		name: "PlanQuotaExhausted429WaitsTheLargeDelta",
		resp: Response{Status: 429, Header: vcH(
			"X-RapidAPI-Region", "AWS - eu-central-1",
			"X-RateLimit-Requests-Limit", "500",
			"X-RateLimit-Requests-Remaining", "0",
			"X-RateLimit-Requests-Reset", "2592000",
		), Body: []byte(`{"message":"You have exceeded the MONTHLY quota for Requests on your current plan, BASIC. Upgrade your plan at https://rapidapi.com/weatherapi/api/weatherapi-com"}`)},
		limited: true, cause: CauseRateLimit,
		wait: 30 * 24 * time.Hour, waitSource: "x-ratelimit-requests-reset",
		vendor: "rapidapi",
		quotas: []vcQuota{vcQ("plan-requests").lim(500).rem(0).at(vcIn(30 * 24 * time.Hour))},
	},
	{
		name: "RateLimitBesidePlanQuota",
		resp: Response{Status: 429, Host: "weatherapi-com.p.rapidapi.com", Header: vcH(
			"X-RateLimit-Limit", "10",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", "42",
			"X-RateLimit-Requests-Limit", "500",
			"X-RateLimit-Requests-Remaining", "120",
			"X-RateLimit-Requests-Reset", "86400",
		), Body: []byte(`{"message":"Too many requests"}`)},
		limited: true, cause: CauseRateLimit,
		wait: 42 * time.Second, waitSource: "x-ratelimit-reset",
		vendor: "rapidapi",
		quotas: []vcQuota{
			vcQ("requests").lim(10).rem(0).at(vcIn(42 * time.Second)),
			vcQ("plan-requests").lim(500).rem(120).at(vcIn(24 * time.Hour)),
		},
	},
}

// Meta (Facebook) usage headers: X-App-Usage (and X-Page-Usage) hold
// call_count, total_time and total_cputime as percentages of the limit;
// X-Business-Use-Case-Usage holds per business object id a list of
// {type, call_count, total_cputime, total_time,
// estimated_time_to_regain_access (minutes)}; BUC errors have codes 80000
// to 80014:
//   https://developers.facebook.com/docs/graph-api/overview/rate-limiting/

var vcMetaCases = []vcCase{
	{
		name: "AppUsageDocExample",
		resp: Response{Status: 200, Host: "graph.facebook.com", Header: vcH(
			"X-App-Usage", `{"call_count":28,"total_time":25,"total_cputime":25}`,
		)},
		vendor: "facebook",
		quotas: []vcQuota{
			vcQ("app/call_count").lim(100).rem(72),
			vcQ("app/total_time").lim(100).rem(75),
			vcQ("app/total_cputime").lim(100).rem(75),
		},
	},
	{
		name: "AppUsageFull403Code4",
		resp: Response{Status: 403, Host: "graph.facebook.com", Header: vcH(
			"X-App-Usage", `{"call_count":100,"total_time":40,"total_cputime":35}`,
		), Body: []byte(`{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","is_transient":true,"code":4,"fbtrace_id":"AbCdEf"}}`)},
		limited: true, cause: CauseRateLimit,
		vendor: "facebook",
		quotas: []vcQuota{
			vcQ("app/call_count").lim(100).rem(0),
			vcQ("app/total_time").lim(100).rem(60),
			vcQ("app/total_cputime").lim(100).rem(65),
		},
	},
	{
		name: "BusinessUseCaseThrottledRegainsAccessIn19Minutes",
		resp: Response{Status: 400, Host: "graph.facebook.com", Header: vcH(
			"X-Business-Use-Case-Usage", `{"112233445566":[{"type":"ads_management","call_count":98,"total_cputime":20,"total_time":100,"estimated_time_to_regain_access":19}]}`,
		), Body: []byte(`{"error":{"message":"(#80004) There have been too many calls to this ad-account. Wait a bit and try again.","type":"OAuthException","code":80004,"error_subcode":2446079,"fbtrace_id":"AbCdEf"}}`)},
		limited: true, cause: CauseRateLimit,
		wait: 19 * time.Minute, waitSource: "x-business-use-case-usage",
		vendor: "facebook",
		quotas: []vcQuota{
			vcQ("112233445566/ads_management/call_count").lim(100).rem(2).at(vcIn(19 * time.Minute)),
			vcQ("112233445566/ads_management/total_time").lim(100).rem(0).at(vcIn(19 * time.Minute)),
			vcQ("112233445566/ads_management/total_cputime").lim(100).rem(80).at(vcIn(19 * time.Minute)),
		},
	},
	{
		name: "BusinessUseCaseTwoObjectsOn200",
		resp: Response{Status: 200, Header: vcH(
			"X-Business-Use-Case-Usage", `{"111":[{"type":"pages","call_count":10,"total_cputime":5,"total_time":5,"estimated_time_to_regain_access":0}],"222":[{"type":"instagram","call_count":3,"total_cputime":1,"total_time":2,"estimated_time_to_regain_access":0}]}`,
		)},
		vendor: "facebook",
		quotas: []vcQuota{
			vcQ("111/pages/call_count").lim(100).rem(90),
			vcQ("111/pages/total_time").lim(100).rem(95),
			vcQ("111/pages/total_cputime").lim(100).rem(95),
			vcQ("222/instagram/call_count").lim(100).rem(97),
			vcQ("222/instagram/total_time").lim(100).rem(98),
			vcQ("222/instagram/total_cputime").lim(100).rem(99),
		},
	},
	{
		name: "GarbageUsageIsWarned",
		resp: Response{Status: 200, Host: "graph.facebook.com", Header: vcH(
			"X-App-Usage", `{"call_count":`,
		)},
		vendor: "facebook",
		warn:   "x-app-usage",
	},
}

// Stripe: 429 for its rate and concurrency limiters, and
// Stripe-Should-Retry, the API's own word on whether a retry can succeed
// (false: it cannot, so waiting does not help):
//   https://docs.stripe.com/rate-limits
//   https://docs.stripe.com/error-low-level

var vcStripeCases = []vcCase{
	{
		name: "RateLimited429ShouldRetryTrue",
		resp: Response{Status: 429, Host: "api.stripe.com", Header: vcH(
			"Stripe-Should-Retry", "true",
			"Request-Id", "req_abc123",
		), Body: []byte(`{"error":{"code":"rate_limit","message":"Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.","type":"invalid_request_error"}}`)},
		limited: true, cause: CauseRateLimit,
		vendor: "stripe",
	},
	{
		name: "Limited429ShouldRetryFalseIsNotHelpedByWaiting",
		resp: Response{Status: 429, Header: vcH(
			"Stripe-Should-Retry", "false",
			"Stripe-Version", "2024-06-20",
		), Body: []byte(`{"error":{"message":"Too many requests.","type":"invalid_request_error"}}`)},
		limited: true, cause: CauseQuotaExhausted,
		vendor: "stripe",
	},
	{
		name: "IdempotencyConflict409IsNotLimited",
		resp: Response{Status: 409, Host: "api.stripe.com", Header: vcH(
			"Stripe-Should-Retry", "false",
		), Body: []byte(`{"error":{"message":"Keys for idempotent requests can only be used with the same parameters they were first used with.","type":"idempotency_error"}}`)},
		vendor: "stripe",
	},
	{
		name: "ServerError500ShouldRetryTrueIsNotLimited",
		resp: Response{Status: 500, Header: vcRawH(
			"stripe-should-retry", "true",
		), Body: []byte(`{"error":{"message":"An unknown error occurred","type":"api_error"}}`)},
		vendor: "stripe",
	},
}

func TestVendorLinear(t *testing.T) { vcRun(t, vcLinearCases) }

func TestVendorZendesk(t *testing.T) { vcRun(t, vcZendeskCases) }

func TestVendorAtlassian(t *testing.T) { vcRun(t, vcAtlassianCases) }

func TestVendorAzureOpenAIMore(t *testing.T) { vcRun(t, vcAzureMoreCases) }

func TestVendorHubSpotWindows(t *testing.T) { vcRun(t, vcHubSpotWindowCases) }

func TestVendorRapidAPI(t *testing.T) { vcRun(t, vcRapidAPICases) }

func TestVendorMeta(t *testing.T) { vcRun(t, vcMetaCases) }

func TestVendorStripe(t *testing.T) { vcRun(t, vcStripeCases) }
