package mockapi

import (
	"fmt"
	"math"
	"time"
)

// Vendor names, the values of LLM.Vendor.
const (
	// VendorOpenAI serves POST /v1/chat/completions with OpenAI's shapes,
	// limits (requests and tokens per minute) and x-ratelimit-* headers.
	VendorOpenAI = "openai"
	// VendorAnthropic serves POST /v1/messages with Anthropic's shapes,
	// limits (requests, input tokens and output tokens per minute) and
	// anthropic-ratelimit-* headers.
	VendorAnthropic = "anthropic"
)

// Defaults of the LLM section's zero values.
const (
	// DefaultOutputShare is the share of a request's max tokens that a
	// response produces when LLM.OutputTokens and LLM.OutputShare are 0.
	DefaultOutputShare = 0.25
	// DefaultMaxTokens is the max output tokens of an OpenAI request that
	// names none, when LLM.DefaultMaxTokens is 0.
	DefaultMaxTokens = 4096
	// DefaultCacheTTL is how long an Anthropic prompt cache entry lives
	// after it was last written or read, when LLM.CacheTTL is 0 (Anthropic's
	// default ephemeral cache lives 5 minutes).
	DefaultCacheTTL = 5 * time.Minute
)

// maxPerMinute is the largest per-minute limit the buckets' integer
// arithmetic holds (limit × one minute in nanoseconds fits an int64).
const maxPerMinute = math.MaxInt64 / int64(time.Minute)

// LLM turns on the mock's LLM endpoints and their token buckets. Every
// limit is per credential, per minute, a continuously refilling bucket
// that is full at first; 0 means that bucket is off (no limit, no headers
// for it). The zero value is no LLM endpoints: those paths answer the echo
// like any other.
type LLM struct {
	// Vendor is VendorOpenAI, VendorAnthropic or "" (off).
	Vendor string
	// RequestsPerMinute is the request bucket (RPM) of either vendor.
	RequestsPerMinute int
	// TokensPerMinute is OpenAI's token bucket (TPM): input plus the most
	// output a request may produce at arrival, corrected to input plus the
	// actual output at the end. OpenAI only.
	TokensPerMinute int
	// InputTokensPerMinute is Anthropic's ITPM bucket: input_tokens plus
	// cache_creation_input_tokens at arrival; cache reads are free.
	// Anthropic only.
	InputTokensPerMinute int
	// OutputTokensPerMinute is Anthropic's OTPM bucket: max_tokens at
	// arrival, corrected to the actual output_tokens at the end. Anthropic
	// only.
	OutputTokensPerMinute int
	// OutputTokens, when > 0, is how many output tokens each response
	// produces, capped at the request's max tokens. 0 means OutputShare.
	OutputTokens int
	// OutputShare is the share, from 0 to 1, of the request's max tokens
	// that a response produces (rounded down, at least 1). 0 means
	// DefaultOutputShare. Set at most one of OutputTokens and OutputShare.
	// A request header Mock-Output-Tokens: N overrides both.
	OutputShare float64
	// DefaultMaxTokens is the max output tokens of an OpenAI request that
	// sets neither max_completion_tokens nor max_tokens. 0 means
	// DefaultMaxTokens. (Anthropic requires max_tokens.)
	DefaultMaxTokens int
	// ChunkTokens is how many output tokens each streamed chunk carries.
	// 0 means 1, as the vendors stream.
	ChunkTokens int
	// ChunkDelay is the wait between two streamed chunks (through
	// Config.Sleep). 0 means none.
	ChunkDelay time.Duration
	// CacheTTL is how long an Anthropic prompt cache entry lives after it
	// was last written or read. 0 means DefaultCacheTTL.
	CacheTTL time.Duration
}

// enabled reports whether the LLM endpoints are on.
func (l LLM) enabled() bool { return l.Vendor != "" }

// validate checks l and returns it with defaults filled in.
func (l LLM) validate() (LLM, error) {
	if l.Vendor == "" {
		if l != (LLM{}) {
			return l, fmt.Errorf("mockapi: LLM fields are set but LLM.Vendor is empty (off); set it to openai or anthropic")
		}
		return l, nil
	}
	if l.Vendor != VendorOpenAI && l.Vendor != VendorAnthropic {
		return l, fmt.Errorf("mockapi: LLM.Vendor %q is not one of openai, anthropic or empty", l.Vendor)
	}
	for _, check := range []func() error{l.validateLimits, l.validateVendorLimits, l.validateOutput, l.validateStream} {
		if err := check(); err != nil {
			return l, err
		}
	}
	return l.withDefaults(), nil
}

// validateLimits checks that every limit is from 0 to maxPerMinute.
func (l LLM) validateLimits() error {
	limits := []struct {
		name string
		n    int
	}{
		{"RequestsPerMinute", l.RequestsPerMinute}, {"TokensPerMinute", l.TokensPerMinute},
		{"InputTokensPerMinute", l.InputTokensPerMinute}, {"OutputTokensPerMinute", l.OutputTokensPerMinute},
	}
	for _, lim := range limits {
		if lim.n < 0 || int64(lim.n) > maxPerMinute {
			return fmt.Errorf("mockapi: LLM.%s %d is not from 0 to %d", lim.name, lim.n, maxPerMinute)
		}
	}
	return nil
}

// validateVendorLimits checks that only the vendor's own buckets are set.
func (l LLM) validateVendorLimits() error {
	switch {
	case l.Vendor == VendorOpenAI && l.InputTokensPerMinute != 0:
		return fmt.Errorf("mockapi: LLM.InputTokensPerMinute is set but openai has no input token limit; use LLM.TokensPerMinute")
	case l.Vendor == VendorOpenAI && l.OutputTokensPerMinute != 0:
		return fmt.Errorf("mockapi: LLM.OutputTokensPerMinute is set but openai has no output token limit; use LLM.TokensPerMinute")
	case l.Vendor == VendorAnthropic && l.TokensPerMinute != 0:
		return fmt.Errorf("mockapi: LLM.TokensPerMinute is set but anthropic limits input and output apart; use LLM.InputTokensPerMinute and LLM.OutputTokensPerMinute")
	}
	return nil
}

// validateOutput checks the fields that decide how much a response says.
func (l LLM) validateOutput() error {
	switch {
	case l.OutputTokens < 0:
		return fmt.Errorf("mockapi: LLM.OutputTokens %d is negative", l.OutputTokens)
	case math.IsNaN(l.OutputShare) || l.OutputShare < 0 || l.OutputShare > 1:
		return fmt.Errorf("mockapi: LLM.OutputShare %v is not from 0 to 1", l.OutputShare)
	case l.OutputTokens > 0 && l.OutputShare > 0:
		return fmt.Errorf("mockapi: LLM.OutputTokens and LLM.OutputShare are both set; set one")
	case l.DefaultMaxTokens < 0 || int64(l.DefaultMaxTokens) > maxMaxTokens:
		return fmt.Errorf("mockapi: LLM.DefaultMaxTokens %d is not from 0 to %d", l.DefaultMaxTokens, maxMaxTokens)
	}
	return nil
}

// validateStream checks the fields of streams and the cache.
func (l LLM) validateStream() error {
	switch {
	case l.ChunkTokens < 0:
		return fmt.Errorf("mockapi: LLM.ChunkTokens %d is negative", l.ChunkTokens)
	case l.ChunkDelay < 0:
		return fmt.Errorf("mockapi: LLM.ChunkDelay %v is negative", l.ChunkDelay)
	case l.CacheTTL < 0:
		return fmt.Errorf("mockapi: LLM.CacheTTL %v is negative", l.CacheTTL)
	}
	return nil
}

// withDefaults fills in the documented meaning of zero values.
func (l LLM) withDefaults() LLM {
	if l.OutputTokens == 0 && l.OutputShare == 0 {
		l.OutputShare = DefaultOutputShare
	}
	if l.DefaultMaxTokens == 0 {
		l.DefaultMaxTokens = DefaultMaxTokens
	}
	if l.ChunkTokens == 0 {
		l.ChunkTokens = 1
	}
	if l.CacheTTL == 0 {
		l.CacheTTL = DefaultCacheTTL
	}
	return l
}

// limits returns the per-minute limit of each bucket, 0 for one that is
// off.
func (l LLM) limits() [numBuckets]int64 {
	var out [numBuckets]int64
	out[bucketRequests] = int64(l.RequestsPerMinute)
	out[bucketTokens] = int64(l.TokensPerMinute)
	out[bucketInputTokens] = int64(l.InputTokensPerMinute)
	out[bucketOutputTokens] = int64(l.OutputTokensPerMinute)
	return out
}
