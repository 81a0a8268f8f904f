package quota

import (
	"bytes"
	"time"
)

// bodyFacts is what a response body said.
type bodyFacts struct {
	cause           Cause
	vendor          string
	wait            time.Duration
	waitSource      string // "" when the body named no wait
	githubSecondary bool
}

// bodyMarker is a string whose presence in an error body classifies it.
type bodyMarker struct {
	text   string
	cause  Cause
	vendor string
}

// errorMarkers classify error bodies (status 400 and above). Earlier
// entries win, so the more specific come first.
var errorMarkers = [...]bodyMarker{
	{`insufficient_quota`, CauseQuotaExhausted, VendorOpenAI},
	{`billing_hard_limit_reached`, CauseQuotaExhausted, VendorOpenAI},
	{`overloaded_error`, CauseOverloaded, VendorAnthropic},
	{`rate_limit_error`, CauseRateLimit, VendorAnthropic},
	{`rate_limit_exceeded`, CauseRateLimit, VendorOpenAI},
	{`secondary rate limit`, CauseRateLimit, VendorGitHub},
	{`abuse detection mechanism`, CauseRateLimit, VendorGitHub},
	{`API rate limit exceeded`, CauseRateLimit, VendorGitHub},
	{`REQUEST_LIMIT_EXCEEDED`, CauseRateLimit, VendorSalesforce},
	{`dailyLimitExceeded`, CauseQuotaExhausted, VendorGoogle},
	{`"quotaExceeded"`, CauseQuotaExhausted, VendorGoogle},
	{`rateLimitExceeded`, CauseRateLimit, VendorGoogle},
	{`RateLimitExceeded`, CauseRateLimit, VendorGoogle},
	{`RATE_LIMIT_EXCEEDED`, CauseRateLimit, VendorGoogle},
	{`RESOURCE_EXHAUSTED`, CauseRateLimit, VendorGoogle},
	{`ThrottlingException`, CauseRateLimit, VendorAWS},
	{`TooManyRequestsException`, CauseRateLimit, VendorAWS},
	{`RequestLimitExceeded`, CauseRateLimit, VendorAWS},
	{`ProvisionedThroughputExceededException`, CauseRateLimit, VendorAWS},
	{`<Code>SlowDown</Code>`, CauseRateLimit, VendorAWS},
	{`"RATE_LIMIT"`, CauseRateLimit, VendorHubSpot},
}

// facebookRateCodes are the Graph API error codes of its rate limits.
var facebookRateCodes = [...]float64{4, 17, 32, 613}

// readBody reads what the body says: error classifications, waits in the
// body (Discord's retry_after, Google's retryDelay) and GraphQL throttling
// (GitHub's RATE_LIMITED, Shopify's throttleStatus), which arrive with 200.
func (p *parser) readBody() {
	b := p.resp.Body
	if len(b) > MaxBody {
		b = b[:MaxBody]
	}
	if len(b) == 0 {
		p.readAWSHeader()
		return
	}
	p.readGraphQL(b)
	if p.resp.Status >= 400 {
		p.readErrorBody(b)
	}
	p.readAWSHeader()
}

// readAWSHeader reads x-amzn-ErrorType: "ThrottlingException:http://...".
func (p *parser) readAWSHeader() {
	t := p.hs.amznErrorType
	if p.body.cause == CauseNone && len(t) >= len("Throttling") && t[:len("Throttling")] == "Throttling" {
		p.body.cause, p.body.vendor = CauseRateLimit, VendorAWS
	}
}

// readErrorBody classifies an error body and reads the waits it names.
func (p *parser) readErrorBody(b []byte) {
	for _, m := range errorMarkers {
		if bytes.Contains(b, []byte(m.text)) {
			p.body.cause, p.body.vendor = m.cause, m.vendor
			break
		}
	}
	if p.body.vendor == VendorGitHub && !bytes.Contains(b, []byte("API rate limit exceeded")) {
		p.body.githubSecondary = true
	}
	p.readFacebook(b)
	if v, ok := jsonValue(b, "retry_after"); ok {
		if d, ok := p.rd.delay("body:retry_after", string(v), time.Second); ok {
			p.bodyWait(d, "body:retry_after")
		}
	}
	if v, ok := jsonValue(b, "retryDelay"); ok {
		if d, ok := parseDuration(string(v)); ok {
			p.bodyWait(d, "body:retryDelay")
		} else {
			p.rd.warn("body:retryDelay", string(v), probNotDuration)
		}
	}
}

// bodyWait records a wait the body names, keeping the longest.
func (p *parser) bodyWait(d time.Duration, source string) {
	if p.body.waitSource == "" || d > p.body.wait {
		p.body.wait, p.body.waitSource = d, source
	}
}

// readFacebook classifies a Graph API error by its code.
func (p *parser) readFacebook(b []byte) {
	if p.sig.Vendor != VendorFacebook && !bytes.Contains(b, []byte("fbtrace_id")) {
		return
	}
	v, ok := jsonValue(b, "code")
	if !ok {
		return
	}
	code, ok := parseNumber(string(v))
	for _, c := range facebookRateCodes {
		if ok && code == c {
			p.body.cause, p.body.vendor = CauseRateLimit, VendorFacebook
		}
	}
}

// readGraphQL reads GraphQL throttling that arrives with any status:
// GitHub's errors[].type RATE_LIMITED and Shopify's cost extension.
func (p *parser) readGraphQL(b []byte) {
	if jsonHas(b, "type", "RATE_LIMITED") {
		p.body.cause, p.body.vendor = CauseRateLimit, VendorGitHub
	}
	if bytes.Contains(b, []byte(`"throttleStatus"`)) {
		p.readShopifyCost(b)
	}
}

// readShopifyCost reads extensions.cost: the GraphQL bucket as a quota
// named "cost", and, when throttled, the time to restore the missing cost.
func (p *parser) readShopifyCost(b []byte) {
	const field = "body:throttleStatus"
	avail, okA := jsonNumber(b, "currentlyAvailable")
	maxCost, okM := jsonNumber(b, "maximumAvailable")
	rate, okR := jsonNumber(b, "restoreRate")
	if !okA && !okM {
		return
	}
	q := p.quota("cost", "cost", field)
	q.Remaining, q.HasRemaining = max(avail, 0), okA
	q.Limit, q.HasLimit = max(maxCost, 0), okM
	if okR && rate > 0 {
		q.Refill = rate
	}
	if p.sig.Vendor == "" {
		p.body.vendor = VendorShopify
	}
	if !jsonHas(b, "code", "THROTTLED") {
		return
	}
	p.body.cause, p.body.vendor = CauseRateLimit, VendorShopify
	need, okN := jsonNumber(b, "requestedQueryCost")
	if okN && okA && okR && rate > 0 && need > avail {
		if d, ok := seconds((need - avail) / rate); ok {
			p.bodyWait(d, field)
		}
	}
}
