package quota

import (
	"testing"
	"time"
)

// X (Twitter) API: x-rate-limit-limit/-remaining/-reset (Unix timestamp),
// the 24-hour posting limits x-app-limit-24hour-* and x-user-limit-24hour-*,
// and the 429 body with error code 88:
//   https://docs.x.com/fundamentals/rate-limits
//   https://docs.x.com/x-api/fundamentals/rate-limits
// The old v1 Search and Trends APIs answered 420 Enhance Your Calm:
//   https://developer.x.com/en/support/x-api/error-troubleshooting

var vcTwitterCases = []vcCase{
	{
		name: "DocHeaderExample",
		now:  time.Unix(1705420800-600, 0),
		resp: Response{Status: 200, Header: vcH(
			"x-rate-limit-limit", "900",
			"x-rate-limit-remaining", "847",
			"x-rate-limit-reset", "1705420800",
		)},
		vendor: "twitter",
		quotas: []vcQuota{vcQ("requests").lim(900).rem(847).at(time.Unix(1705420800, 0))},
	},
	{
		name: "TooManyRequests429WithCode88",
		resp: Response{Status: 429, Host: "api.x.com", Header: vcH(
			"x-rate-limit-limit", "900",
			"x-rate-limit-remaining", "0",
			"x-rate-limit-reset", vcEpoch(vcIn(7*time.Minute)),
		), Body: []byte(`{
  "errors": [{
    "code": 88,
    "message": "Rate limit exceeded"
  }]
}`)},
		limited: true, cause: CauseRateLimit,
		wait: 7 * time.Minute, waitSource: "x-rate-limit-reset",
		vendor: "twitter",
		quotas: []vcQuota{vcQ("requests").lim(900).rem(0).at(vcIn(7 * time.Minute))},
	},
	{
		name: "AppAnd24HourUserLimitsLongestWins",
		resp: Response{Status: 429, Host: "api.twitter.com", Header: vcH(
			"x-rate-limit-limit", "200",
			"x-rate-limit-remaining", "199",
			"x-rate-limit-reset", vcEpoch(vcIn(15*time.Minute)),
			"x-app-limit-24hour-limit", "1667",
			"x-app-limit-24hour-remaining", "0",
			"x-app-limit-24hour-reset", vcEpoch(vcIn(3*time.Hour)),
			"x-user-limit-24hour-limit", "100",
			"x-user-limit-24hour-remaining", "41",
			"x-user-limit-24hour-reset", vcEpoch(vcIn(5*time.Hour)),
		), Body: []byte(`{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`)},
		limited: true, cause: CauseRateLimit,
		wait: 3 * time.Hour, waitSource: "x-app-limit-24hour-reset",
		vendor: "twitter",
		quotas: []vcQuota{
			vcQ("requests").lim(200).rem(199).at(vcIn(15 * time.Minute)),
			vcQ("app-24hour").lim(1667).rem(0).at(vcIn(3 * time.Hour)).win(24 * time.Hour),
			vcQ("user-24hour").lim(100).rem(41).at(vcIn(5 * time.Hour)).win(24 * time.Hour),
		},
	},
	{
		name: "User24HourSpentOn201LowerCaseKeys",
		resp: Response{Status: 201, Header: vcRawH(
			"x-user-limit-24hour-limit", "100",
			"x-user-limit-24hour-remaining", "0",
			"x-user-limit-24hour-reset", vcEpoch(vcIn(2*time.Hour)),
		), Body: []byte(`{"data":{"id":"1445880548472328192","text":"Hello world!"}}`)},
		wait: 2 * time.Hour, waitSource: "x-user-limit-24hour-reset",
		vendor: "twitter",
		quotas: []vcQuota{vcQ("user-24hour").lim(100).rem(0).at(vcIn(2 * time.Hour)).win(24 * time.Hour)},
	},
	{
		name: "Old420EnhanceYourCalm",
		resp: Response{Status: 420, Host: "api.twitter.com", Header: vcH(
			"Content-Type", "application/json; charset=utf-8",
		), Body: []byte(`{"errors":[{"code":420,"message":"Enhance Your Calm"}]}`)},
		limited: true, cause: CauseRateLimit,
		vendor: "twitter",
	},
}

// Reddit: X-Ratelimit-Used, X-Ratelimit-Remaining (approximate, sent as a
// float such as "596.0") and X-Ratelimit-Reset (approximate seconds to the
// end of the period):
//   https://github.com/reddit-archive/reddit/wiki/API
//   https://support.reddithelp.com/hc/en-us/articles/16160319875092-Reddit-Data-API-Wiki

var vcRedditCases = []vcCase{
	{
		name: "OAuthHostUsedPlusRemainingIsLimit",
		resp: Response{Status: 200, Host: "oauth.reddit.com", Header: vcH(
			"X-Ratelimit-Used", "4",
			"X-Ratelimit-Remaining", "596.0",
			"X-Ratelimit-Reset", "204",
		)},
		vendor: "reddit",
		quotas: []vcQuota{vcQ("requests").lim(600).rem(596).at(vcIn(204 * time.Second))},
	},
	{
		name: "Exhausted429WaitsDeltaSeconds",
		resp: Response{Status: 429, Host: "oauth.reddit.com", Header: vcH(
			"X-Ratelimit-Used", "600",
			"X-Ratelimit-Remaining", "0.0",
			"X-Ratelimit-Reset", "37",
		), Body: []byte(`{"message": "Too Many Requests", "error": 429}`)},
		limited: true, cause: CauseRateLimit,
		wait: 37 * time.Second, waitSource: "x-ratelimit-reset",
		vendor: "reddit",
		quotas: []vcQuota{vcQ("requests").lim(600).rem(0).at(vcIn(37 * time.Second))},
	},
	{
		name: "ShapeWithoutHostLastUnitOn200",
		resp: Response{Status: 200, Header: vcRawH(
			"x-ratelimit-used", "996",
			"x-ratelimit-remaining", "0.0",
			"x-ratelimit-reset", "12",
		)},
		wait: 12 * time.Second, waitSource: "x-ratelimit-reset",
		vendor: "reddit",
		quotas: []vcQuota{vcQ("requests").lim(996).rem(0).at(vcIn(12 * time.Second))},
	},
}

// Discord: header examples, the 429 response structure (retry_after float
// seconds, global) and the three documented 429 examples:
//   https://discord.com/developers/docs/topics/rate-limits
//   (source: https://github.com/discord/discord-api-docs/blob/main/docs/topics/rate-limits.md)

var (
	// One second before the "Rate Limit Header Examples" reset.
	vcDiscordNowHeaders = time.Unix(1470173022, 0)
	// 64.57 s before X-RateLimit-Reset: 1470173023.123 of the 429 examples.
	vcDiscordNow429 = time.Unix(1470172958, 553000000)
	vcDiscordReset  = time.Unix(1470173023, 123000000)
)

var vcDiscordCases = []vcCase{
	{
		// Reset-After (a vendor header) and the exhausted bucket's epoch
		// reset say the same second; the tie goes to the vendor header.
		name: "HeaderExampleExhaustedBucketTieGoesToResetAfter",
		now:  vcDiscordNowHeaders,
		resp: Response{Status: 200, Header: vcH(
			"X-RateLimit-Limit", "5",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", "1470173023",
			"X-RateLimit-Reset-After", "1",
			"X-RateLimit-Bucket", "abcd1234",
		)},
		wait: time.Second, waitSource: "x-ratelimit-reset-after",
		vendor: "discord",
		quotas: []vcQuota{vcQ("abcd1234").lim(5).rem(0).at(time.Unix(1470173023, 0))},
	},
	{
		name: "ExceededUserRateLimitDocExample",
		now:  vcDiscordNow429,
		resp: Response{Status: 429, Host: "discord.com", Header: vcH(
			"Content-Type", "application/json",
			"Retry-After", "65",
			"X-RateLimit-Limit", "10",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", "1470173023.123",
			"X-RateLimit-Reset-After", "64.57",
			"X-RateLimit-Bucket", "abcd1234",
			"X-RateLimit-Scope", "user",
		), Body: []byte(`{
  "message": "You are being rate limited.",
  "retry_after": 64.57,
  "global": false
}`)},
		limited: true, cause: CauseRateLimit,
		wait: 65 * time.Second, waitSource: "retry-after",
		vendor: "discord",
		quotas: []vcQuota{vcQ("abcd1234").lim(10).rem(0).at(vcDiscordReset)},
	},
	{
		name: "ExceededResourceRateLimitDocExample",
		now:  vcDiscordNow429,
		resp: Response{Status: 429, Host: "discord.com", Header: vcH(
			"Content-Type", "application/json",
			"Retry-After", "1337",
			"X-RateLimit-Limit", "10",
			"X-RateLimit-Remaining", "9",
			"X-RateLimit-Reset", "1470173023.123",
			"X-RateLimit-Reset-After", "64.57",
			"X-RateLimit-Bucket", "abcd1234",
			"X-RateLimit-Scope", "shared",
		), Body: []byte(`{
  "message": "The resource is being rate limited.",
  "retry_after": 1336.57,
  "global": false
}`)},
		limited: true, cause: CauseRateLimit,
		wait: 1337 * time.Second, waitSource: "retry-after",
		vendor: "discord",
		quotas: []vcQuota{vcQ("abcd1234").lim(10).rem(9).at(vcDiscordReset)},
	},
	{
		name: "ExceededGlobalRateLimitDocExample",
		now:  vcDiscordNow429,
		resp: Response{Status: 429, Host: "discord.com", Header: vcH(
			"Content-Type", "application/json",
			"Retry-After", "65",
			"X-RateLimit-Global", "true",
			"X-RateLimit-Scope", "global",
		), Body: []byte(`{
  "message": "You are being rate limited.",
  "retry_after": 64.57,
  "global": true
}`)},
		limited: true, cause: CauseRateLimit,
		wait: 65 * time.Second, waitSource: "retry-after",
		vendor: "discord",
	},
	{
		name: "GlobalLimitBodyRetryAfterOnly",
		resp: Response{Status: 429, Host: "discord.com", Header: vcH(
			"Content-Type", "application/json",
			"X-RateLimit-Global", "true",
			"X-RateLimit-Scope", "global",
		), Body: []byte(`{"message": "You are being rate limited.", "retry_after": 64.57, "global": true}`)},
		limited: true, cause: CauseRateLimit,
		wait: 64570 * time.Millisecond, waitSource: "body:retry_after",
		vendor: "discord",
	},
	{
		name: "BodyRetryAfterLongerThanHeaderWins",
		resp: Response{Status: 429, Host: "discord.com", Header: vcH(
			"Retry-After", "1",
			"X-RateLimit-Global", "true",
			"X-RateLimit-Scope", "global",
		), Body: []byte(`{"message": "You are being rate limited.", "retry_after": 1.5, "global": true}`)},
		limited: true, cause: CauseRateLimit,
		wait: 1500 * time.Millisecond, waitSource: "body:retry_after",
		vendor: "discord",
	},
	{
		// Reset-After, body retry_after and the exhausted bucket's reset
		// all say 64.5 s: vendor header, then body field, then quota.
		name: "ResetAfterBodyAndBucketTieGoesToResetAfter",
		now:  time.Unix(1470172958, 500000000),
		resp: Response{Status: 429, Host: "discord.com", Header: vcH(
			"X-RateLimit-Limit", "10",
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", "1470173023",
			"X-RateLimit-Reset-After", "64.5",
			"X-RateLimit-Bucket", "abcd1234",
			"X-RateLimit-Scope", "user",
		), Body: []byte(`{"message": "You are being rate limited.", "retry_after": 64.5, "global": false}`)},
		limited: true, cause: CauseRateLimit,
		wait: 64500 * time.Millisecond, waitSource: "x-ratelimit-reset-after",
		vendor: "discord",
		quotas: []vcQuota{vcQ("abcd1234").lim(10).rem(0).at(time.Unix(1470173023, 0))},
	},
	{
		// Reset-After says when the bucket refills, not that the next
		// request must wait: with requests remaining there is nothing to
		// wait for (see the report on doc.go's wording).
		name: "ResetAfterWithRemainingIsNoWait",
		resp: Response{Status: 200, Header: vcH(
			"X-RateLimit-Limit", "5",
			"X-RateLimit-Remaining", "4",
			"X-RateLimit-Reset", "1795348802.500", // vcNow + 2.5 s
			"X-RateLimit-Reset-After", "2.5",
			"X-RateLimit-Bucket", "80c17d2f203122d936070c88c8d10f33",
		)},
		vendor: "discord",
		quotas: []vcQuota{vcQ("80c17d2f203122d936070c88c8d10f33").lim(5).rem(4).at(vcIn(2500 * time.Millisecond))},
	},
}

// Facebook (Meta) Graph API: rate limiting error codes 4 (application),
// 17 (user), 32 (page) and 613, in the common error response shape:
//   https://developers.facebook.com/docs/graph-api/overview/rate-limiting
//   https://developers.facebook.com/docs/graph-api/guides/error-handling

var vcFacebookCases = []vcCase{
	{
		name: "Code4ApplicationLimitOn403",
		resp: Response{Status: 403, Host: "graph.facebook.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: []byte(`{
  "error": {
    "message": "(#4) Application request limit reached",
    "type": "OAuthException",
    "is_transient": true,
    "code": 4,
    "fbtrace_id": "AbCdEfGhIjK"
  }
}`)},
		limited: true, cause: CauseRateLimit,
		vendor: "facebook",
	},
	{
		name: "Code17UserLimitOn400",
		resp: Response{Status: 400, Host: "graph.facebook.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: []byte(`{"error":{"message":"(#17) User request limit reached","type":"OAuthException","is_transient":true,"code":17,"error_subcode":2446079,"fbtrace_id":"EJplcsCHuLu"}}`)},
		limited: true, cause: CauseRateLimit,
		vendor: "facebook",
	},
	{
		name: "Code32PageLimitOn400",
		resp: Response{Status: 400, Host: "graph.facebook.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: []byte(`{"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32,"fbtrace_id":"A1b2C3d4E5f"}}`)},
		limited: true, cause: CauseRateLimit,
		vendor: "facebook",
	},
	{
		name: "Code613CustomRateLimitOn403",
		resp: Response{Status: 403, Host: "graph.facebook.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: []byte(`{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613,"fbtrace_id":"B2c3D4e5F6g"}}`)},
		limited: true, cause: CauseRateLimit,
		vendor: "facebook",
	},
	{
		name: "Code190InvalidTokenIsNotLimited",
		resp: Response{Status: 400, Host: "graph.facebook.com", Header: vcH(
			"Content-Type", "application/json; charset=UTF-8",
		), Body: []byte(`{"error":{"message":"Error validating access token: Session has expired.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"EJplcsCHuLu"}}`)},
		vendor: "facebook",
	},
}

func TestVendorTwitter(t *testing.T) { vcRun(t, vcTwitterCases) }

func TestVendorReddit(t *testing.T) { vcRun(t, vcRedditCases) }

func TestVendorDiscord(t *testing.T) { vcRun(t, vcDiscordCases) }

func TestVendorFacebook(t *testing.T) { vcRun(t, vcFacebookCases) }
