package mockapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// anthropic is Anthropic's Messages API.
type anthropic struct{}

func (anthropic) path() string { return "/v1/messages" }

// anthropicBody is the part of a Messages request the mock reads.
type anthropicBody struct {
	Model     string          `json:"model"`
	MaxTokens *int64          `json:"max_tokens"`
	System    json.RawMessage `json:"system"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools  []json.RawMessage `json:"tools"`
	Stream bool              `json:"stream"`
}

// parse reads a Messages body, counting the prompt in the order of its
// cache prefix: tools, system, messages.
func (anthropic) parse(body []byte, _ LLM) (llmRequest, error) {
	var b anthropicBody
	if err := json.Unmarshal(body, &b); err != nil {
		return llmRequest{}, errors.New("the body is not a JSON messages request")
	}
	switch {
	case b.Model == "":
		return llmRequest{}, errors.New("model: Field required")
	case b.MaxTokens == nil:
		return llmRequest{}, errors.New("max_tokens: Field required")
	case len(b.Messages) == 0:
		return llmRequest{}, errors.New("messages: at least one message is required")
	}
	if err := checkMaxTokens("max_tokens", *b.MaxTokens); err != nil {
		return llmRequest{}, err
	}
	p := newPromptCounter()
	if err := countAnthropicPrompt(p, b); err != nil {
		return llmRequest{}, err
	}
	return llmRequest{model: b.Model, maxTokens: *b.MaxTokens, choices: 1, stream: b.Stream,
		input: p.total(), prefixes: p.prefixes}, nil
}

// countAnthropicPrompt counts tools (by their JSON), system and messages.
func countAnthropicPrompt(p *promptCounter, b anthropicBody) error {
	for _, tool := range b.Tools {
		var t struct {
			CacheControl json.RawMessage `json:"cache_control"`
		}
		if err := json.Unmarshal(tool, &t); err != nil {
			return errors.New("tools: a tool is not an object")
		}
		p.add(string(tool), tool, hasCacheControl(t.CacheControl))
	}
	if err := p.addContent(b.System); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	for i, m := range b.Messages {
		p.message(m.Role)
		if err := p.addContent(m.Content); err != nil {
			return fmt.Errorf("messages.%d.content: %w", i, err)
		}
	}
	return nil
}

// arrivalCost charges a request, the uncached input (input_tokens plus
// cache_creation_input_tokens; cache reads are free) to ITPM and max_tokens
// to OTPM.
func (anthropic) arrivalCost(req llmRequest, in Usage) cost {
	var c cost
	c[bucketRequests] = 1
	c[bucketInputTokens] = in.InputTokens + in.CacheCreationInputTokens
	c[bucketOutputTokens] = req.maxTokens
	return c
}

// finalCost charges the request, the same input and the actual output.
func (anthropic) finalCost(u Usage) cost {
	var c cost
	c[bucketRequests] = 1
	c[bucketInputTokens] = u.InputTokens + u.CacheCreationInputTokens
	c[bucketOutputTokens] = u.OutputTokens
	return c
}

// describe sets anthropic-ratelimit-{requests,input-tokens,output-tokens}-
// {limit,remaining,reset} and the tokens-* of the most restrictive token
// bucket (the one with the fewest remaining); the reset, when the bucket is
// full again, is RFC 3339 in UTC rounded up to the second. Unlike
// Anthropic, which rounds remaining tokens to thousands, the mock tells
// them exactly.
func (anthropic) describe(h http.Header, views [numBuckets]bucketView, _ time.Time) {
	set := func(name string, v bucketView) {
		h.Set("Anthropic-Ratelimit-"+name+"-Limit", strconv.FormatInt(v.limit, 10))
		h.Set("Anthropic-Ratelimit-"+name+"-Remaining", strconv.FormatInt(v.remaining, 10))
		h.Set("Anthropic-Ratelimit-"+name+"-Reset", ceilToSecond(v.full).UTC().Format(time.RFC3339))
	}
	for _, b := range [...]bucket{bucketRequests, bucketInputTokens, bucketOutputTokens} {
		if views[b].on {
			set(b.String(), views[b])
		}
	}
	in, out := views[bucketInputTokens], views[bucketOutputTokens]
	switch {
	case in.on && (!out.on || in.remaining <= out.remaining):
		set("Tokens", in)
	case out.on:
		set("Tokens", out)
	}
}

// refuse answers 429 with retry-after (unless the request can never fit)
// and Anthropic's rate_limit_error body, naming the first bucket that
// lacked room.
func (anthropic) refuse(w http.ResponseWriter, call *llmCall, v verdict) int {
	b := firstShort(v)
	name := map[bucket]string{bucketRequests: "requests", bucketInputTokens: "input tokens",
		bucketOutputTokens: "output tokens"}[b]
	msg := fmt.Sprintf("This request would exceed the rate limit for your organization (heed-mock) of %d %s per minute. "+
		"For details, refer to: https://docs.claude.com/en/api/rate-limits.", v.views[b].limit, name)
	if v.never {
		msg = fmt.Sprintf("This request asks for %d %s, more than the rate limit of %d per minute allows at once; it can never succeed.",
			call.arrival[b], name, v.views[b].limit)
	} else {
		setRetryAfter(w.Header(), v.wait)
	}
	writeJSON(w, http.StatusTooManyRequests, anthropicError("rate_limit_error", msg, call.id))
	return http.StatusTooManyRequests
}

// anthropicError is Anthropic's error body.
func anthropicError(kind, msg, requestID string) map[string]any {
	return map[string]any{"type": "error", "error": map[string]string{"type": kind, "message": msg},
		"request_id": requestID}
}

// invalid answers 400 with Anthropic's invalid_request_error body.
func (anthropic) invalid(w http.ResponseWriter, msg string) int {
	writeJSON(w, http.StatusBadRequest, anthropicError("invalid_request_error", msg, ""))
	return http.StatusBadRequest
}

// anthropicUsage is Anthropic's usage object.
type anthropicUsage struct {
	InputTokens              int64  `json:"input_tokens"`
	CacheCreationInputTokens int64  `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64  `json:"cache_read_input_tokens"`
	OutputTokens             int64  `json:"output_tokens"`
	ServiceTier              string `json:"service_tier,omitempty"`
}

func newAnthropicUsage(u Usage) anthropicUsage {
	return anthropicUsage{InputTokens: u.InputTokens, CacheCreationInputTokens: u.CacheCreationInputTokens,
		CacheReadInputTokens: u.CacheReadInputTokens, OutputTokens: u.OutputTokens, ServiceTier: "standard"}
}

// stopReason is "max_tokens" when the output reached max_tokens, else
// "end_turn".
func (call *llmCall) stopReason() string {
	if call.output >= call.req.maxTokens {
		return "max_tokens"
	}
	return "end_turn"
}

// message returns the message object with content and stop reason.
func (call *llmCall) message(content []map[string]any, stopReason any) map[string]any {
	return map[string]any{"id": call.id, "type": "message", "role": "assistant", "model": call.req.model,
		"content": content, "stop_reason": stopReason, "stop_sequence": nil, "usage": newAnthropicUsage(call.usage)}
}

// reply answers a whole message.
func (anthropic) reply(w http.ResponseWriter, call *llmCall) int {
	call.usage.OutputTokens = call.output
	text := map[string]any{"type": "text", "text": generatedText(0, call.output)}
	writeJSON(w, http.StatusOK, call.message([]map[string]any{text}, call.stopReason()))
	return http.StatusOK
}

// stream answers Anthropic's event sequence: message_start (with the input
// usage and 1 output token), content_block_start, a ping, text_delta
// content_block_deltas of ChunkTokens, content_block_stop, message_delta
// (stop_reason and the cumulative usage) and message_stop.
func (anthropic) stream(sw *sseWriter, call *llmCall) error {
	start := call.message([]map[string]any{}, nil)
	start["usage"] = newAnthropicUsage(Usage{InputTokens: call.usage.InputTokens,
		CacheCreationInputTokens: call.usage.CacheCreationInputTokens,
		CacheReadInputTokens:     call.usage.CacheReadInputTokens, OutputTokens: min(1, call.output)})
	events := []struct {
		name string
		data any
	}{
		{"message_start", map[string]any{"type": "message_start", "message": start}},
		{"content_block_start", map[string]any{"type": "content_block_start", "index": 0,
			"content_block": map[string]any{"type": "text", "text": ""}}},
		{"ping", map[string]any{"type": "ping"}},
	}
	for _, e := range events {
		if err := sw.event(e.name, e.data); err != nil {
			return err
		}
	}
	err := sw.chunks(call.output, func(from, to int64) error {
		delta := map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": generatedText(from, to)}}
		if err := sw.event("content_block_delta", delta); err != nil {
			return err
		}
		call.usage.OutputTokens += to - from
		return nil
	})
	if err != nil {
		return err
	}
	return anthropicStreamEnd(sw, call)
}

// anthropicStreamEnd sends content_block_stop, message_delta and
// message_stop.
func anthropicStreamEnd(sw *sseWriter, call *llmCall) error {
	if err := sw.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}); err != nil {
		return err
	}
	delta := map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": call.stopReason(), "stop_sequence": nil},
		"usage": newAnthropicUsage(call.usage)}
	if err := sw.event("message_delta", delta); err != nil {
		return err
	}
	return sw.event("message_stop", map[string]any{"type": "message_stop"})
}
