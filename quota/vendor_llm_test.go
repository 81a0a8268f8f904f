package quota

import (
	"testing"
	"time"
)

// OpenAI: x-ratelimit-{limit,remaining,reset}-{requests,tokens}, resets as
// duration strings ("1s", "6m0s"), and the 429 error codes
// rate_limit_exceeded and insufficient_quota:
//   https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
//   https://platform.openai.com/docs/guides/error-codes#api-errors
// Header values such as "12ms"/"9ms" as seen on live responses:
//   https://community.openai.com/t/how-to-get-rate-limit-reset-time-for-response-api/1268905
// insufficient_quota bodies with code null as well as "insufficient_quota":
//   https://community.openai.com/t/where-to-find-all-values-of-error-type/158707

const vcOpenAIInsufficientQuotaBody = `{
  "error": {
    "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
    "type": "insufficient_quota",
    "param": null,
    "code": "insufficient_quota"
  }
}`

var vcOpenAICases = []vcCase{
	{
		name: "DocHeaderTable",
		resp: Response{Status: 200, Host: "api.openai.com", Header: vcH(
			"x-ratelimit-limit-requests", "60",
			"x-ratelimit-limit-tokens", "150000",
			"x-ratelimit-remaining-requests", "59",
			"x-ratelimit-remaining-tokens", "149984",
			"x-ratelimit-reset-requests", "1s",
			"x-ratelimit-reset-tokens", "6m0s",
		)},
		vendor: "openai",
		quotas: []vcQuota{
			vcQ("requests").lim(60).rem(59).at(vcIn(time.Second)),
			vcQ("tokens").lim(150000).rem(149984).at(vcIn(6 * time.Minute)),
		},
	},
	{
		name: "RateLimitExceeded429TokensExhausted",
		resp: Response{Status: 429, Host: "api.openai.com", Header: vcH(
			"x-ratelimit-limit-requests", "5000",
			"x-ratelimit-limit-tokens", "30000",
			"x-ratelimit-remaining-requests", "4999",
			"x-ratelimit-remaining-tokens", "0",
			"x-ratelimit-reset-requests", "12ms",
			"x-ratelimit-reset-tokens", "20ms",
		), Body: []byte(`{
  "error": {
    "message": "Rate limit reached for gpt-4o in organization org-abc123 on tokens per min (TPM): Limit 30000, Used 30000, Requested 500. Please try again in 20ms. Visit https://platform.openai.com/account/rate-limits to learn more.",
    "type": "tokens",
    "param": null,
    "code": "rate_limit_exceeded"
  }
}`)},
		limited: true, cause: CauseRateLimit,
		wait: 20 * time.Millisecond, waitSource: "x-ratelimit-reset-tokens",
		vendor: "openai",
		quotas: []vcQuota{
			vcQ("requests").lim(5000).rem(4999).at(vcIn(12 * time.Millisecond)),
			vcQ("tokens").lim(30000).rem(0).at(vcIn(20 * time.Millisecond)),
		},
	},
	{
		// The exhausted quota's reset (90.5 s) is longer than Retry-After,
		// but it says when the bucket is full again: the server's own
		// Retry-After wins (doc.go, "Which wait wins").
		name: "FractionalDurationResetLongerThanRetryAfter",
		resp: Response{Status: 429, Host: "api.openai.com", Header: vcH(
			"retry-after", "60",
			"x-ratelimit-limit-requests", "500",
			"x-ratelimit-limit-tokens", "30000",
			"x-ratelimit-remaining-requests", "0",
			"x-ratelimit-remaining-tokens", "29000",
			"x-ratelimit-reset-requests", "1m30.5s",
			"x-ratelimit-reset-tokens", "2s",
		), Body: []byte(`{"error":{"message":"Rate limit reached for gpt-4o in organization org-abc123 on requests per min (RPM): Limit 500, Used 500, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)},
		limited: true, cause: CauseRateLimit,
		wait: time.Minute, waitSource: "retry-after",
		vendor: "openai",
		quotas: []vcQuota{
			vcQ("requests").lim(500).rem(0).at(vcIn(90500 * time.Millisecond)),
			vcQ("tokens").lim(30000).rem(29000).at(vcIn(2 * time.Second)),
		},
	},
	{
		name: "InsufficientQuotaIsQuotaExhausted",
		resp: Response{Status: 429, Host: "api.openai.com", Header: vcH(
			"Content-Type", "application/json",
		), Body: []byte(vcOpenAIInsufficientQuotaBody)},
		limited: true, cause: CauseQuotaExhausted,
		vendor: "openai",
	},
	{
		name: "InsufficientQuotaTypeWithNullCode",
		resp: Response{Status: 429, Host: "api.openai.com", Header: vcH(
			"Content-Type", "application/json",
		), Body: []byte(`{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":null}}`)},
		limited: true, cause: CauseQuotaExhausted,
		vendor: "openai",
	},
	{
		name: "RecognizedByOpenAIHeadersWithoutHost",
		resp: Response{Status: 200, Header: vcH(
			"openai-organization", "org-abc123",
			"openai-processing-ms", "1032",
			"openai-version", "2020-10-01",
			"x-request-id", "req_deaa3616cbd15d33b4db96b3ba74d2b4",
			"x-ratelimit-limit-requests", "5000",
			"x-ratelimit-remaining-requests", "4999",
			"x-ratelimit-reset-requests", "12ms",
		)},
		vendor: "openai",
		quotas: []vcQuota{vcQ("requests").lim(5000).rem(4999).at(vcIn(12 * time.Millisecond))},
	},
}

// Azure OpenAI: 429 responses carry retry-after-ms (and retry-after):
//   https://learn.microsoft.com/en-us/azure/ai-services/openai/how-to/quota#understanding-rate-limits
//   https://learn.microsoft.com/en-us/azure/ai-services/openai/quotas-limits
// Responses API headers of -1 reported by users:
//   https://learn.microsoft.com/en-us/answers/questions/5625878/azure-openai-responses-api-x-ratelimit-headers-val

var vcAzureOpenAICases = []vcCase{
	{
		name: "RetryAfterMsLongerThanRetryAfter",
		resp: Response{Status: 429, Host: "contoso.openai.azure.com", Header: vcH(
			"retry-after", "1",
			"retry-after-ms", "1500",
			"x-ratelimit-remaining-requests", "0",
			"x-ratelimit-remaining-tokens", "24000",
		), Body: []byte(`{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second."}}`)},
		limited: true, cause: CauseRateLimit,
		wait: 1500 * time.Millisecond, waitSource: "retry-after-ms",
		quotas: []vcQuota{vcQ("requests").rem(0), vcQ("tokens").rem(24000)},
	},
	{
		name: "RetryAfterTiesRetryAfterMs",
		resp: Response{Status: 429, Host: "contoso.openai.azure.com", Header: vcH(
			"retry-after", "2",
			"retry-after-ms", "2000",
		), Body: []byte(`{"error":{"code":"429","message":"Rate limit is exceeded. Try again in 2 seconds."}}`)},
		limited: true, cause: CauseRateLimit,
		wait: 2 * time.Second, waitSource: "retry-after",
	},
	{
		name: "NegativeRemainingIsWarnedNotReported",
		resp: Response{Status: 200, Host: "contoso.openai.azure.com", Header: vcH(
			"x-ratelimit-limit-tokens", "-1",
			"x-ratelimit-remaining-tokens", "-1",
			"x-ratelimit-reset-tokens", "0",
		)},
		anyQuotas: true,
		warn:      "x-ratelimit-remaining-tokens",
	},
}

// Anthropic: anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
// {limit,remaining,reset} with RFC 3339 resets, and retry-after on 429:
//   https://docs.anthropic.com/en/api/rate-limits#response-headers
// Error shapes: 429 rate_limit_error, 529 overloaded_error:
//   https://docs.anthropic.com/en/api/errors

const (
	vcAnthropicRateLimitBody = `{
  "type": "error",
  "error": {
    "type": "rate_limit_error",
    "message": "Number of request tokens has exceeded your per-minute rate limit (https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase."
  },
  "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"
}`
	vcAnthropicOverloadedBody = `{
  "type": "error",
  "error": {
    "type": "overloaded_error",
    "message": "Overloaded"
  },
  "request_id": "req_018EeWyXxfu5pfWkrYcMdjWG"
}`
)

var vcAnthropicCases = []vcCase{
	{
		name: "AllFourQuotasOn200",
		resp: Response{Status: 200, Host: "api.anthropic.com", Header: vcH(
			"request-id", "req_018EeWyXxfu5pfWkrYcMdjWG",
			"anthropic-ratelimit-requests-limit", "50",
			"anthropic-ratelimit-requests-remaining", "49",
			"anthropic-ratelimit-requests-reset", "2026-11-22T12:00:01Z",
			"anthropic-ratelimit-tokens-limit", "48000",
			"anthropic-ratelimit-tokens-remaining", "47500",
			"anthropic-ratelimit-tokens-reset", "2026-11-22T12:00:05Z",
			"anthropic-ratelimit-input-tokens-limit", "40000",
			"anthropic-ratelimit-input-tokens-remaining", "39600",
			"anthropic-ratelimit-input-tokens-reset", "2026-11-22T12:00:05Z",
			"anthropic-ratelimit-output-tokens-limit", "8000",
			"anthropic-ratelimit-output-tokens-remaining", "7900",
			"anthropic-ratelimit-output-tokens-reset", "2026-11-22T12:00:02Z",
		)},
		vendor: "anthropic",
		quotas: []vcQuota{
			vcQ("requests").lim(50).rem(49).at(vcIn(time.Second)),
			vcQ("tokens").lim(48000).rem(47500).at(vcIn(5 * time.Second)),
			vcQ("input-tokens").lim(40000).rem(39600).at(vcIn(5 * time.Second)),
			vcQ("output-tokens").lim(8000).rem(7900).at(vcIn(2 * time.Second)),
		},
	},
	{
		name: "RateLimitError429TokensResetLongerThanRetryAfter",
		resp: Response{Status: 429, Host: "api.anthropic.com", Header: vcH(
			"retry-after", "30",
			"anthropic-ratelimit-requests-limit", "50",
			"anthropic-ratelimit-requests-remaining", "42",
			"anthropic-ratelimit-requests-reset", "2026-11-22T12:00:01Z",
			"anthropic-ratelimit-tokens-limit", "48000",
			"anthropic-ratelimit-tokens-remaining", "0",
			"anthropic-ratelimit-tokens-reset", "2026-11-22T12:00:45Z",
			"anthropic-ratelimit-input-tokens-limit", "40000",
			"anthropic-ratelimit-input-tokens-remaining", "0",
			"anthropic-ratelimit-input-tokens-reset", "2026-11-22T12:00:40Z",
		), Body: []byte(vcAnthropicRateLimitBody)},
		limited: true, cause: CauseRateLimit,
		// The tokens bucket is full again in 45 s; the server says 30 s.
		wait: 30 * time.Second, waitSource: "retry-after",
		vendor: "anthropic",
		quotas: []vcQuota{
			vcQ("requests").lim(50).rem(42).at(vcIn(time.Second)),
			vcQ("tokens").lim(48000).rem(0).at(vcIn(45 * time.Second)),
			vcQ("input-tokens").lim(40000).rem(0).at(vcIn(40 * time.Second)),
		},
	},
	{
		name: "RateLimitError429RetryAfterLongest",
		resp: Response{Status: 429, Host: "api.anthropic.com", Header: vcH(
			"retry-after", "30",
			"anthropic-ratelimit-requests-limit", "50",
			"anthropic-ratelimit-requests-remaining", "0",
			"anthropic-ratelimit-requests-reset", "2026-11-22T12:00:20Z",
		), Body: []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your per-minute rate limit."},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fz"}`)},
		limited: true, cause: CauseRateLimit,
		wait: 30 * time.Second, waitSource: "retry-after",
		vendor: "anthropic",
		quotas: []vcQuota{vcQ("requests").lim(50).rem(0).at(vcIn(20 * time.Second))},
	},
	{
		name: "Overloaded529IsNotLimited",
		resp: Response{Status: 529, Host: "api.anthropic.com", Header: vcH(
			"Content-Type", "application/json",
		), Body: []byte(vcAnthropicOverloadedBody)},
		cause:  CauseOverloaded,
		vendor: "anthropic",
	},
	{
		name: "Overloaded529WithRetryAfterWaitsButIsNotLimited",
		resp: Response{Status: 529, Host: "api.anthropic.com", Header: vcH(
			"retry-after", "10",
		), Body: []byte(vcAnthropicOverloadedBody)},
		cause: CauseOverloaded,
		wait:  10 * time.Second, waitSource: "retry-after",
		vendor: "anthropic",
	},
	{
		name: "RecognizedByHeaderPrefixWithoutHost",
		resp: Response{Status: 200, Header: vcRawH(
			"anthropic-ratelimit-requests-limit", "4000",
			"anthropic-ratelimit-requests-remaining", "3999",
			"anthropic-ratelimit-requests-reset", "2026-11-22T12:00:00.015Z",
		)},
		vendor: "anthropic",
		quotas: []vcQuota{vcQ("requests").lim(4000).rem(3999).at(vcIn(15 * time.Millisecond))},
	},
	{
		name: "RFC3339ResetWithOffsetOnLastUnit",
		resp: Response{Status: 200, Host: "api.anthropic.com", Header: vcH(
			"anthropic-ratelimit-output-tokens-limit", "8000",
			"anthropic-ratelimit-output-tokens-remaining", "0",
			"anthropic-ratelimit-output-tokens-reset", "2026-11-22T13:00:30+01:00",
		)},
		wait: 30 * time.Second, waitSource: "anthropic-ratelimit-output-tokens-reset",
		vendor: "anthropic",
		quotas: []vcQuota{vcQ("output-tokens").lim(8000).rem(0).at(vcIn(30 * time.Second))},
	},
}

// Google APIs: the error model with google.rpc.RetryInfo.retryDelay
// (a protobuf Duration in JSON, "30s", "0.5s"):
//   https://cloud.google.com/apis/design/errors#error_details
//   https://google.aip.dev/193
// Gemini API 429 RESOURCE_EXHAUSTED with QuotaFailure and RetryInfo:
//   https://ai.google.dev/gemini-api/docs/rate-limits
//   https://ai.google.dev/gemini-api/docs/troubleshooting
// Older JSON errors with errors[].reason (usageLimits domain):
//   https://developers.google.com/drive/api/guides/handle-errors
//   https://developers.google.com/youtube/v3/docs/errors

const vcGeminiPerDayBody = `{
  "error": {
    "code": 429,
    "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    "status": "RESOURCE_EXHAUSTED",
    "details": [
      {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [
          {
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
            "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
            "quotaDimensions": {
              "location": "global",
              "model": "gemini-2.5-flash"
            },
            "quotaValue": "250"
          }
        ]
      },
      {
        "@type": "type.googleapis.com/google.rpc.Help",
        "links": [
          {
            "description": "Learn more about Gemini API quotas",
            "url": "https://ai.google.dev/gemini-api/docs/rate-limits"
          }
        ]
      },
      {
        "@type": "type.googleapis.com/google.rpc.RetryInfo",
        "retryDelay": "22s"
      }
    ]
  }
}`

// vcGoogleRateBody is an AIP-193 RESOURCE_EXHAUSTED error with the given
// retryDelay.
func vcGoogleRateBody(retryDelay string) []byte {
	return []byte(`{
  "error": {
    "code": 429,
    "message": "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'sheets.googleapis.com' for consumer 'project_number:123456'.",
    "status": "RESOURCE_EXHAUSTED",
    "details": [
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RATE_LIMIT_EXCEEDED",
        "domain": "googleapis.com",
        "metadata": {
          "service": "sheets.googleapis.com",
          "quota_metric": "sheets.googleapis.com/read_requests",
          "quota_limit": "ReadRequestsPerMinutePerProject",
          "consumer": "projects/123456"
        }
      },
      {
        "@type": "type.googleapis.com/google.rpc.RetryInfo",
        "retryDelay": "` + retryDelay + `"
      }
    ]
  }
}`)
}

// vcGoogleReasonBody is an older Google JSON error with one errors[] item.
func vcGoogleReasonBody(domain, reason, message string) []byte {
	return []byte(`{
  "error": {
    "errors": [
      {
        "domain": "` + domain + `",
        "reason": "` + reason + `",
        "message": "` + message + `"
      }
    ],
    "code": 403,
    "message": "` + message + `"
  }
}`)
}

var vcGoogleCases = []vcCase{
	{
		// A per-day free-tier quota with a RetryInfo: the wait is what the
		// body says; whether it is a rate limit or an exhausted quota the
		// rules leave open (see the report).
		name: "GeminiPerDayQuotaRetryDelay22s",
		resp: Response{Status: 429, Host: "generativelanguage.googleapis.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: []byte(vcGeminiPerDayBody)},
		limited: true, anyCause: true,
		wait: 22 * time.Second, waitSource: "body:retryDelay",
		vendor: "google",
	},
	{
		name: "ResourceExhaustedRetryDelay30s",
		resp: Response{Status: 429, Host: "sheets.googleapis.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: vcGoogleRateBody("30s")},
		limited: true, cause: CauseRateLimit,
		wait: 30 * time.Second, waitSource: "body:retryDelay",
		vendor: "google",
	},
	{
		name: "ResourceExhaustedFractionalRetryDelay",
		resp: Response{Status: 429, Host: "sheets.googleapis.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: vcGoogleRateBody("0.5s")},
		limited: true, cause: CauseRateLimit,
		wait: 500 * time.Millisecond, waitSource: "body:retryDelay",
		vendor: "google",
	},
	{
		name: "RetryAfterHeaderLongerThanRetryDelay",
		resp: Response{Status: 429, Host: "sheets.googleapis.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
			"Retry-After", "60",
		), Body: vcGoogleRateBody("30s")},
		limited: true, cause: CauseRateLimit,
		wait: time.Minute, waitSource: "retry-after",
		vendor: "google",
	},
	{
		name: "Legacy403RateLimitExceeded",
		resp: Response{Status: 403, Host: "www.googleapis.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: vcGoogleReasonBody("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded")},
		limited: true, cause: CauseRateLimit,
		vendor: "google",
	},
	{
		name: "Legacy403UserRateLimitExceeded",
		resp: Response{Status: 403, Host: "www.googleapis.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: vcGoogleReasonBody("usageLimits", "userRateLimitExceeded", "User Rate Limit Exceeded")},
		limited: true, cause: CauseRateLimit,
		vendor: "google",
	},
	{
		name: "Legacy403DailyLimitExceededIsQuotaExhausted",
		resp: Response{Status: 403, Host: "www.googleapis.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: vcGoogleReasonBody("usageLimits", "dailyLimitExceeded", "Daily Limit Exceeded")},
		limited: true, cause: CauseQuotaExhausted,
		vendor: "google",
	},
	{
		name: "YouTube403QuotaExceededIsQuotaExhausted",
		resp: Response{Status: 403, Host: "youtube.googleapis.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: vcGoogleReasonBody("youtube.quota", "quotaExceeded", "The request cannot be completed because you have exceeded your quota.")},
		limited: true, cause: CauseQuotaExhausted,
		vendor: "google",
	},
	{
		name: "Legacy403InsufficientPermissionsIsNotLimited",
		resp: Response{Status: 403, Host: "www.googleapis.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: vcGoogleReasonBody("global", "insufficientPermissions", "Insufficient Permission")},
		vendor: "google",
	},
}

func TestVendorOpenAI(t *testing.T) { vcRun(t, vcOpenAICases) }

func TestVendorAzureOpenAI(t *testing.T) { vcRun(t, vcAzureOpenAICases) }

func TestVendorAnthropic(t *testing.T) { vcRun(t, vcAnthropicCases) }

func TestVendorGoogle(t *testing.T) { vcRun(t, vcGoogleCases) }

// Which wait wins (doc.go): OpenAI's and Anthropic's resets are full-refill
// times and yield to an explicit wait in the same response; without one the
// exhausted bucket's reset is the wait. The header meanings:
//   https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
//   ("x-ratelimit-reset-tokens: the time until the rate limit (based on
//   tokens) resets to its initial state")
//   https://docs.anthropic.com/en/api/rate-limits#response-headers
//   ("anthropic-ratelimit-tokens-reset: the time when the token rate limit
//   will be fully replenished"; "retry-after: the number of seconds to wait
//   until you can retry the request")
//   https://learn.microsoft.com/en-us/azure/ai-services/openai/how-to/quota#understanding-rate-limits
// GitHub's fixed window ("if x-ratelimit-remaining is 0, do not retry until
// after the time specified by x-ratelimit-reset"):
//   https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately

var vcWaitRuleCases = []vcCase{
	{
		name: "OpenAIRetryAfterShorterThanTokensResetWins",
		resp: Response{Status: 429, Host: "api.openai.com", Header: vcH(
			"retry-after", "2",
			"x-ratelimit-limit-tokens", "30000",
			"x-ratelimit-remaining-tokens", "0",
			"x-ratelimit-reset-tokens", "6m0s",
		), Body: []byte(`{"error":{"message":"Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 30000, Requested 800. Please try again in 1.6s.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`)},
		limited: true, cause: CauseRateLimit,
		wait: 2 * time.Second, waitSource: "retry-after",
		vendor: "openai",
		quotas: []vcQuota{vcQ("tokens").lim(30000).rem(0).at(vcIn(6 * time.Minute))},
	},
	{
		name: "OpenAIWithoutRetryAfterTheResetIsTheWait",
		resp: Response{Status: 429, Host: "api.openai.com", Header: vcH(
			"x-ratelimit-limit-requests", "500",
			"x-ratelimit-remaining-requests", "0",
			"x-ratelimit-reset-requests", "8.64s",
		), Body: []byte(`{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)},
		limited: true, cause: CauseRateLimit,
		wait: 8640 * time.Millisecond, waitSource: "x-ratelimit-reset-requests",
		vendor: "openai",
		quotas: []vcQuota{vcQ("requests").lim(500).rem(0).at(vcIn(8640 * time.Millisecond))},
	},
	{
		name: "AzureRetryAfterMsWinsOverLongerTokensReset",
		resp: Response{Status: 429, Host: "contoso.openai.azure.com", Header: vcH(
			"retry-after", "1",
			"retry-after-ms", "800",
			"x-ratelimit-remaining-tokens", "0",
			"x-ratelimit-reset-tokens", "42",
		), Body: []byte(`{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second."}}`)},
		limited: true, cause: CauseRateLimit,
		wait: time.Second, waitSource: "retry-after",
		quotas: []vcQuota{vcQ("tokens").rem(0).at(vcIn(42 * time.Second))},
	},
	{
		name: "AnthropicRetryAfterShorterThanRequestsResetWins",
		resp: Response{Status: 429, Host: "api.anthropic.com", Header: vcH(
			"retry-after", "4",
			"anthropic-ratelimit-requests-limit", "50",
			"anthropic-ratelimit-requests-remaining", "0",
			"anthropic-ratelimit-requests-reset", "2026-11-22T12:00:50Z",
		), Body: []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your per-minute rate limit."}}`)},
		limited: true, cause: CauseRateLimit,
		wait: 4 * time.Second, waitSource: "retry-after",
		vendor: "anthropic",
		quotas: []vcQuota{vcQ("requests").lim(50).rem(0).at(vcIn(50 * time.Second))},
	},
	{
		name: "AnthropicWithoutRetryAfterTheResetIsTheWait",
		resp: Response{Status: 429, Host: "api.anthropic.com", Header: vcH(
			"anthropic-ratelimit-output-tokens-limit", "8000",
			"anthropic-ratelimit-output-tokens-remaining", "0",
			"anthropic-ratelimit-output-tokens-reset", "2026-11-22T12:00:12Z",
		), Body: []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"Output tokens per minute exceeded."}}`)},
		limited: true, cause: CauseRateLimit,
		wait: 12 * time.Second, waitSource: "anthropic-ratelimit-output-tokens-reset",
		vendor: "anthropic",
		quotas: []vcQuota{vcQ("output-tokens").lim(8000).rem(0).at(vcIn(12 * time.Second))},
	},
	{
		// GitHub's reset is the end of a fixed window: both must pass.
		name: "GitHubResetLongerThanRetryAfterStillWins",
		resp: Response{Status: 429, Host: "api.github.com", Header: vcH(
			"retry-after", "30",
			"x-ratelimit-limit", "5000",
			"x-ratelimit-remaining", "0",
			"x-ratelimit-reset", vcEpoch(vcIn(10*time.Minute)),
			"x-ratelimit-resource", "core",
		), Body: []byte(`{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`)},
		limited: true, cause: CauseRateLimit,
		wait: 10 * time.Minute, waitSource: "x-ratelimit-reset",
		vendor: "github",
		quotas: []vcQuota{vcQ("core").lim(5000).rem(0).at(vcIn(10 * time.Minute))},
	},
}

func TestVendorWaitRule(t *testing.T) { vcRun(t, vcWaitRuleCases) }
