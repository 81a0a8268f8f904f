// Package quota reads what an HTTP response says about the caller's quota:
// whether the request was refused by a limit, how long to wait before the
// next request can succeed, and every quota the response describes.
//
// It is pure: no I/O and no clock reads. The caller passes the time the
// response arrived, so every decision is a table test. Parse never panics and
// never returns an error; malformed values of known fields become Warnings
// and the rest of the response is still read.
//
// # Rules
//
// Limited. A response is Limited when it is a 429 (or Twitter's old 420); a
// 503 with Retry-After (or retry-after-ms); a 403 or 400 that carries an
// exhausted quota header (GitHub's x-ratelimit-remaining: 0) or a throttling
// error in its body (GitHub's secondary rate limit, Salesforce's
// REQUEST_LIMIT_EXCEEDED, Google's rateLimitExceeded, Facebook's codes 4, 17,
// 32, 613 and its Business Use Case codes 80000-80014, AWS's
// ThrottlingException, Linear's RATELIMITED on a 400); or a 200 whose GraphQL body says
// RATE_LIMITED or a secondary rate limit (GitHub) or THROTTLED (Shopify). Cause tells whether waiting
// helps (a 503 with Retry-After and every other Limited response are
// CauseRateLimit unless the body says otherwise): billing and hard quotas (OpenAI's insufficient_quota, Google's
// dailyLimitExceeded) are CauseQuotaExhausted, and so is a Limited response
// whose Stripe-Should-Retry is false (Stripe says a retry cannot succeed);
// Anthropic's 529
// overloaded_error is CauseOverloaded and not Limited.
//
// Wait. Every field that says when the next request may succeed is read:
// Retry-After (delta-seconds, decimals accepted, or an HTTP-date in any of
// RFC 9110's three forms, a past date meaning 0) on 4xx and 5xx responses;
// retry-after-ms; Discord's x-ratelimit-reset-after (when the bucket is
// exhausted) and body retry_after; Google's RetryInfo.retryDelay; Shopify's
// GraphQL throttleStatus (cost missing divided by restoreRate); and the reset
// of any quota whose remaining is 0, on any status. A reset alone is not a
// wait: a quota with units left says when it refills, not that anyone must
// wait. GitHub's documented rule for a secondary rate limit without any of
// these is to wait at least one minute, so such a response waits 60s. Equal
// waits are credited to the first source in this order: retry-after,
// retry-after-ms, vendor headers that state a delay (Discord's
// x-ratelimit-reset-after on an exhausted bucket), body fields, exhausted
// quotas (in Quotas order).
//
// Which wait wins. A reset means different things at different vendors, and
// the rule is decided per vendor by what its documentation says the reset is:
//
//   - OpenAI (x-ratelimit-reset-requests, -tokens, ...) and Azure OpenAI,
//     which sends the same headers: the reset is when the bucket is full
//     again, not when the next request can pass (the bucket refills
//     continuously). An explicit wait in the same response (Retry-After,
//     retry-after-ms, a body field) is the server's own answer and wins,
//     shorter or longer. Without one, an exhausted bucket's reset is the wait:
//     an upper bound, the best the response offers.
//   - Anthropic (anthropic-ratelimit-{requests,tokens,input-tokens,
//     output-tokens}-reset): the same: the time the bucket is fully
//     replenished yields to retry-after.
//   - Atlassian (Jira, Confluence): X-RateLimit-Reset is the request time
//     plus Retry-After, rounded to the minute; Retry-After wins.
//   - Everyone else (GitHub, GitLab, Twitter/X, Discord, Reddit, SendGrid,
//     the IETF drafts, Zendesk, Linear, RapidAPI, Atlassian's
//     Beta-RateLimit quotas, ...): the reset
//     is when the window ends and the quota is back; a request sent earlier
//     fails whatever Retry-After says, so both must pass and the longest
//     wait wins.
//
// Long waits. A wait or reset longer than MaxPlausibleWait is not dropped:
// it is reported as MaxPlausibleWait with a Warning, so that the caller's cap
// (always far lower) decides. Values that cannot be a time at all (an epoch
// beyond the year 5000, a duration that overflows) are warned and ignored.
//
// Resets. The same header name means different things at different vendors,
// so the vendor is recognized first: by Response.Host when given, else by the
// headers' shape (x-github-request-id, x-shopify-*, anthropic-*, openai-*,
// x-ratelimit-bucket for Discord, x-rate-limit-* for Twitter/X,
// ratelimit-observed for GitLab, x-ratelimit-used for Reddit, x-rate-limit
// and zendesk-* for Zendesk, Beta-RateLimit and RateLimit-Reason for
// Atlassian, x-ratelimit-complexity-* for Linear, x-rapidapi-* for RapidAPI,
// stripe-* for Stripe, X-App-Usage for Meta, ...). A numeric
// reset is then read by the vendor's documented meaning (epoch seconds at
// GitHub, Twitter/X, GitLab, SendGrid and Discord; delta seconds at Reddit,
// Zendesk and in the IETF drafts; epoch milliseconds at Linear by size). Where no vendor is known the rule is by size: a
// value of at least 1e12 is epoch milliseconds, at least 1e9 epoch seconds,
// anything smaller delta seconds; and a "delta" of 1e9 or more is an epoch
// whatever the vendor (with a warning). A reset may also be a duration string
// ("6m0s", "1m30.5s", "20ms", as OpenAI sends), an RFC 3339 time (as
// Anthropic sends), an ISO 8601 time without seconds ("2026-03-26T16:00Z",
// as Atlassian sends), an HTTP-date (also with a numeric zone, "+0100", as
// RFC 9110 §5.6.7 asks recipients to accept), or JavaScript's
// Date.prototype.toString form ("Sun Nov 22 2026 13:00:02 GMT+0100 (Central
// European Standard Time)"). A Retry-After list ("120, 120": the field
// repeated or joined by an intermediary) is read member by member; differing
// members are warned and the longest is read.
//
// Quota names. GitHub quotas are named by x-ratelimit-resource ("core",
// "search", ...) or "requests"; OpenAI's and Anthropic's by the header's
// middle part ("requests", "tokens", "input-tokens", "output-tokens");
// IETF RateLimit-Policy quotas by their policy name, or "requests" when the
// older drafts give none; Discord's by the bucket id, or "requests";
// Shopify's REST bucket is "requests" and its GraphQL bucket "cost";
// Salesforce's by the key ("api-usage"); HubSpot's "interval", "secondly"
// and "daily" (an exhausted interval or secondly quota waits its window,
// which rolls from a start the response does not give); Linear's
// "requests" and "complexity"; RapidAPI's plan quota "plan-requests" beside
// the API's "requests"; Zendesk's per-endpoint quotas by the header's
// suffix ("tickets-index"); Atlassian's Beta-RateLimit policies by name and
// its x-ratelimit-* quota by RateLimit-Reason ("jira-burst-based"); Meta's
// usage percentages as quotas of Unit "percent" and Limit 100 named
// "app/call_count", "page/total_time" or "{object id}/{type}/{metric}", the
// Business Use Case's estimated_time_to_regain_access (minutes) being their
// reset and a wait; Microsoft's by the header's suffix ("subscription-reads") or
// the policy in its value; Reddit's "requests". A quota's limit is computed
// only where the vendor defines it (Reddit: used + remaining; Shopify and
// Salesforce: used/limit); nothing is invented. Likewise a Window is set
// only where the response states it: IETF w=, HubSpot's
// interval-milliseconds, and header names such as HubSpot's "secondly" and
// "daily" or Twitter's "24hour".
//
// Parse is safe for concurrent use; it keeps no state.
package quota
