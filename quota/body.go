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

// bodyMarker is what a word of an error body says about it.
type bodyMarker struct {
	rank   int // a lower rank wins over a higher one
	cause  Cause
	vendor string
}

// markerOf classifies one word of an error body. The ranks put billing and
// overload errors before generic rate-limit words.
func markerOf(word []byte) (bodyMarker, bool) {
	switch string(word) {
	case "insufficient_quota", "billing_hard_limit_reached":
		return bodyMarker{0, CauseQuotaExhausted, VendorOpenAI}, true
	case "overloaded_error":
		return bodyMarker{1, CauseOverloaded, VendorAnthropic}, true
	case "rate_limit_error":
		return bodyMarker{2, CauseRateLimit, VendorAnthropic}, true
	case "rate_limit_exceeded":
		return bodyMarker{3, CauseRateLimit, VendorOpenAI}, true
	case "REQUEST_LIMIT_EXCEEDED":
		return bodyMarker{4, CauseRateLimit, VendorSalesforce}, true
	case "dailyLimitExceeded", "quotaExceeded":
		return bodyMarker{5, CauseQuotaExhausted, VendorGoogle}, true
	case "rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED":
		return bodyMarker{6, CauseRateLimit, VendorGoogle}, true
	case "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
		"ProvisionedThroughputExceededException", "SlowDown":
		return bodyMarker{7, CauseRateLimit, VendorAWS}, true
	case "RATE_LIMIT":
		return bodyMarker{8, CauseRateLimit, VendorHubSpot}, true
	case "RATELIMITED":
		return bodyMarker{9, CauseRateLimit, VendorLinear}, true
	}
	return bodyMarker{}, false
}

// bodyWords is what one pass over an error body's words found.
type bodyWords struct {
	marker                                    bodyMarker
	marked, secondary, retryAfter, retryDelay bool
	facebook, graphQLLimited, throttleStatus  bool
}

// scanWords reads b's words (runs of letters, digits and '_') once.
func scanWords(b []byte) bodyWords {
	var bw bodyWords
	for i := 0; i < len(b); {
		if !isWordByte(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && isWordByte(b[j]) {
			j++
		}
		bw.add(b[i:j], b[j:])
		i = j
	}
	return bw
}

// Word bytes as bit sets: '0'-'9' in the low 64 code points; 'A'-'Z', '_'
// and 'a'-'z' in the next 64.
const (
	wordBytesLow  = 0x03ff000000000000
	wordBytesHigh = 0x07fffffe87fffffe
)

func isWordByte(c byte) bool {
	if c < 64 {
		return wordBytesLow>>c&1 == 1
	}
	return c < 128 && wordBytesHigh>>(c-64)&1 == 1
}

// minMarkedWord is the length of the shortest word add looks at ("abuse").
const minMarkedWord = 5

// add records one word; rest is the body after it.
func (bw *bodyWords) add(w, rest []byte) {
	if len(w) < minMarkedWord {
		return
	}
	if m, ok := markerOf(w); ok {
		if !bw.marked || m.rank < bw.marker.rank {
			bw.marker, bw.marked = m, true
		}
		return
	}
	switch string(w) {
	case "secondary":
		bw.secondary = bw.secondary || bytes.HasPrefix(rest, []byte(" rate limit"))
	case "abuse":
		bw.secondary = bw.secondary || bytes.HasPrefix(rest, []byte(" detection"))
	case "retry_after":
		bw.retryAfter = true
	case "retryDelay":
		bw.retryDelay = true
	case "fbtrace_id":
		bw.facebook = true
	case "RATE_LIMITED", "graphql_rate_limit":
		bw.graphQLLimited = true
	case "throttleStatus":
		bw.throttleStatus = true
	}
}

// facebookRateCodes are the Graph API error codes of its rate limits.
// The 800xx codes are the Business Use Case limits (Marketing API, Pages,
// Instagram, WhatsApp, ...).
var facebookRateCodes = [...]float64{4, 17, 32, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009, 80014}

// readBody reads what the body says: error classifications, waits in the
// body (Discord's retry_after, Google's retryDelay) and GraphQL throttling
// (GitHub's RATE_LIMITED, Shopify's throttleStatus), which arrive with 200.
// An error body is read word by word in one pass; other bodies, which may be
// large and rarely matter, are only searched for the GraphQL markers.
func (p *parser) readBody() {
	b := p.resp.Body
	if len(b) > MaxBody {
		b = b[:MaxBody]
	}
	switch {
	case len(b) == 0:
	case p.resp.Status >= 400:
		p.readErrorBody(b)
	default:
		p.readSuccessBody(b)
	}
	p.readAWSHeader()
}

// readSuccessBody reads GraphQL throttling from a body that came with a
// status below 400.
func (p *parser) readSuccessBody(b []byte) {
	limited := bytes.Contains(b, []byte("RATE_LIMITED")) || bytes.Contains(b, []byte("graphql_rate_limit"))
	p.readGraphQL(b, limited, bytes.Contains(b, []byte(`"throttleStatus"`)))
	if bytes.Contains(b, []byte("secondary rate limit")) && bytes.Contains(b, []byte(`"errors"`)) {
		p.body.cause, p.body.vendor, p.body.githubSecondary = CauseRateLimit, VendorGitHub, true
	}
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
	bw := scanWords(b)
	p.readGraphQL(b, bw.graphQLLimited, bw.throttleStatus)
	if bw.marked {
		p.body.cause, p.body.vendor = bw.marker.cause, bw.marker.vendor
	}
	if bw.secondary {
		p.body.cause, p.body.vendor, p.body.githubSecondary = CauseRateLimit, VendorGitHub, true
	}
	if bw.facebook || p.sig.Vendor == VendorFacebook {
		p.readFacebook(b)
	}
	if bw.retryAfter {
		p.readBodyDelay(b, "retry_after", "body:retry_after")
	}
	if bw.retryDelay {
		p.readBodyDelay(b, "retryDelay", "body:retryDelay")
	}
}

// readBodyDelay reads a wait from the body's key: seconds as a number
// (Discord's retry_after) or a duration string (Google's retryDelay "30s").
func (p *parser) readBodyDelay(b []byte, key, source string) {
	v, ok := jsonValue(b, key)
	if !ok {
		return
	}
	if d, ok := parseDuration(string(v)); ok {
		p.bodyWait(d, source)
		return
	}
	if d, ok := p.rd.delay(source, string(v), time.Second); ok {
		p.bodyWait(d, source)
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

// readGraphQL reads GraphQL throttling, which arrives with any status:
// GitHub's errors[].type RATE_LIMITED (RATE_LIMIT with code
// graphql_rate_limit in newer responses) and Shopify's cost extension. The
// flags say whether their words occur in b at all.
func (p *parser) readGraphQL(b []byte, limitedWord, throttleStatus bool) {
	if limitedWord && (jsonHas(b, "type", "RATE_LIMITED") || jsonHas(b, "code", "graphql_rate_limit")) {
		p.body.cause, p.body.vendor = CauseRateLimit, VendorGitHub
	}
	if throttleStatus {
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
