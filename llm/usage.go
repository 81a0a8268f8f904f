package llm

import "strings"

// Usage is what the API reports a request cost, in tokens. The zero value
// is no usage.
type Usage struct {
	// Input and Output: OpenAI's prompt_tokens and completion_tokens (the
	// Responses API's input_tokens and output_tokens); Anthropic's
	// input_tokens and output_tokens. OpenAI's prompt_tokens include the
	// cached ones; Anthropic's input_tokens do not include cache reads or
	// writes.
	Input, Output int64
	// CacheRead and CacheWrite: OpenAI's prompt_tokens_details.cached_tokens
	// (input_tokens_details.cached_tokens), a part of Input; Anthropic's
	// cache_read_input_tokens and cache_creation_input_tokens, beside Input.
	// OpenAI reports no cache writes.
	CacheRead, CacheWrite int64
}

// Charged returns the usage in the units rate limits count, for the model
// that served it (Estimate.Model).
//
// OpenAI: input is prompt_tokens, cached tokens included (OpenAI's "Rate
// limits" guide counts every prompt token against TPM); output is
// completion_tokens, reasoning tokens included.
//
// Anthropic: input is input_tokens + cache_creation_input_tokens; cache
// reads do not count toward ITPM for current models (Anthropic's "Rate
// limits" page). The models that page marks as counting cache reads toward
// ITPM are the Claude 3 generation (Haiku 3, Haiku 3.5, and the retired 3.x
// Opus and Sonnet models); for every model whose name starts "claude-3"
// cache reads are added to input. This errs high for claude-3-7-sonnet,
// whose marking changed over time. Output is output_tokens.
//
// None: Input and Output as reported. Negative fields count as 0.
func (v Vendor) Charged(u Usage, model string) (input, output int64) {
	input, output = max(u.Input, 0), max(u.Output, 0)
	if v == Anthropic {
		input += max(u.CacheWrite, 0)
		if cacheReadsCount(model) {
			input += max(u.CacheRead, 0)
		}
	}
	return input, output
}

// cacheReadsCount reports whether an Anthropic model's ITPM limit counts
// cache reads.
func cacheReadsCount(model string) bool {
	return strings.HasPrefix(strings.ToLower(model), "claude-3")
}
