package mockapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// openAI is OpenAI's Chat Completions API.
type openAI struct{}

func (openAI) path() string { return "/v1/chat/completions" }

// openAIChatBody is the part of a Chat Completions request the mock reads.
type openAIChatBody struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Name    string          `json:"name"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	MaxTokens           *int64 `json:"max_tokens"`
	MaxCompletionTokens *int64 `json:"max_completion_tokens"`
	N                   *int64 `json:"n"`
	Stream              bool   `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools json.RawMessage `json:"tools"`
}

// parse reads a Chat Completions body. max_completion_tokens wins over the
// deprecated max_tokens; with neither, l.DefaultMaxTokens applies.
func (openAI) parse(body []byte, l LLM) (llmRequest, error) {
	var b openAIChatBody
	if err := json.Unmarshal(body, &b); err != nil {
		return llmRequest{}, errors.New("the body is not a JSON chat completion request")
	}
	if b.Model == "" || len(b.Messages) == 0 {
		return llmRequest{}, errors.New("model and messages are required")
	}
	req := llmRequest{model: b.Model, maxTokens: int64(l.DefaultMaxTokens), choices: 1, stream: b.Stream}
	req.includeUsage = b.Stream && b.StreamOptions != nil && b.StreamOptions.IncludeUsage
	if err := openAILimits(b, &req); err != nil {
		return llmRequest{}, err
	}
	p := newPromptCounter()
	for _, m := range b.Messages {
		p.message(m.Role)
		if m.Name != "" {
			p.add(m.Name, []byte(m.Name), false)
			p.tokens++
		}
		if err := p.addContent(m.Content); err != nil {
			return llmRequest{}, err
		}
	}
	if len(b.Tools) > 0 {
		p.add(string(b.Tools), b.Tools, false)
	}
	req.input = p.total()
	return req, nil
}

// openAILimits reads max tokens and n into req.
func openAILimits(b openAIChatBody, req *llmRequest) error {
	switch {
	case b.MaxCompletionTokens != nil:
		req.maxTokens = *b.MaxCompletionTokens
		if err := checkMaxTokens("max_completion_tokens", req.maxTokens); err != nil {
			return err
		}
	case b.MaxTokens != nil:
		req.maxTokens = *b.MaxTokens
		if err := checkMaxTokens("max_tokens", req.maxTokens); err != nil {
			return err
		}
	}
	if b.N != nil {
		if *b.N < 1 || *b.N > maxChoices {
			return fmt.Errorf("n: %d is not from 1 to %d", *b.N, maxChoices)
		}
		req.choices = *b.N
	}
	return nil
}

// arrivalCost charges a request and the input plus the most output it may
// produce (n × max tokens) to TPM.
func (openAI) arrivalCost(req llmRequest, in Usage) cost {
	var c cost
	c[bucketRequests] = 1
	c[bucketTokens] = in.InputTokens + req.choices*req.maxTokens
	return c
}

// finalCost charges the request and its input plus its actual output.
func (openAI) finalCost(u Usage) cost {
	var c cost
	c[bucketRequests] = 1
	c[bucketTokens] = u.InputTokens + u.OutputTokens
	return c
}

// describe sets x-ratelimit-{limit,remaining,reset}-{requests,tokens}; the
// reset, when the bucket is full again, is a Go duration ("6m0s", "20ms")
// rounded up to the millisecond.
func (openAI) describe(h http.Header, views [numBuckets]bucketView, now time.Time) {
	for _, b := range [...]bucket{bucketRequests, bucketTokens} {
		v := views[b]
		if !v.on {
			continue
		}
		h.Set("X-Ratelimit-Limit-"+b.String(), strconv.FormatInt(v.limit, 10))
		h.Set("X-Ratelimit-Remaining-"+b.String(), strconv.FormatInt(v.remaining, 10))
		h.Set("X-Ratelimit-Reset-"+b.String(), ceilDuration(v.full.Sub(now), time.Millisecond).String())
	}
}

// refuse answers 429 with retry-after (unless the request can never fit)
// and OpenAI's rate_limit_exceeded body, naming the first bucket that
// lacked room.
func (openAI) refuse(w http.ResponseWriter, call *llmCall, v verdict) int {
	b := firstShort(v)
	name := map[bucket]string{bucketRequests: "requests per min (RPM)", bucketTokens: "tokens per min (TPM)"}[b]
	view, asked := v.views[b], call.arrival[b]
	msg := fmt.Sprintf("Rate limit reached for %s in organization org-heed-mock on %s: Limit %d, Used %d, Requested %d. Please try again in %s.",
		call.req.model, name, view.limit, view.limit-view.remaining, asked, ceilDuration(v.wait, time.Millisecond))
	if v.never {
		msg = fmt.Sprintf("Request too large for %s in organization org-heed-mock on %s: Limit %d, Requested %d. The input or output tokens must be reduced in order to run successfully.",
			call.req.model, name, view.limit, asked)
	} else {
		setRetryAfter(w.Header(), v.wait)
	}
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
		"message": msg, "type": b.String(), "param": nil, "code": "rate_limit_exceeded",
	}})
	return http.StatusTooManyRequests
}

// invalid answers 400 with OpenAI's invalid_request_error body.
func (openAI) invalid(w http.ResponseWriter, msg string) int {
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
		"message": msg, "type": "invalid_request_error", "param": nil, "code": nil,
	}})
	return http.StatusBadRequest
}

// openAIUsage is OpenAI's usage object.
type openAIUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func newOpenAIUsage(u Usage) openAIUsage {
	return openAIUsage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens,
		TotalTokens: u.InputTokens + u.OutputTokens}
}

// finishReason is "length" when the output reached max tokens, else "stop".
func (call *llmCall) finishReason() string {
	if call.output >= call.req.maxTokens {
		return "length"
	}
	return "stop"
}

// reply answers a whole chat.completion.
func (openAI) reply(w http.ResponseWriter, call *llmCall) int {
	text := generatedText(0, call.output)
	choices := make([]map[string]any, call.req.choices)
	for i := range choices {
		choices[i] = map[string]any{
			"index":         i,
			"message":       map[string]any{"role": "assistant", "content": text, "refusal": nil, "annotations": []any{}},
			"logprobs":      nil,
			"finish_reason": call.finishReason(),
		}
	}
	call.usage.OutputTokens = call.output * call.req.choices
	writeJSON(w, http.StatusOK, map[string]any{
		"id": call.id, "object": "chat.completion", "created": call.created.Unix(), "model": call.req.model,
		"choices": choices, "usage": newOpenAIUsage(call.usage),
		"service_tier": "default", "system_fingerprint": "fp_heed_mock",
	})
	return http.StatusOK
}

// stream answers chat.completion.chunk events: a role chunk, content
// chunks of ChunkTokens, a finish_reason chunk per choice, with
// include_usage a last chunk with empty choices and the usage (every
// other chunk then says "usage": null), and data: [DONE].
func (openAI) stream(sw *sseWriter, call *llmCall) error {
	chunk := func(choices []map[string]any) map[string]any {
		c := map[string]any{"id": call.id, "object": "chat.completion.chunk", "created": call.created.Unix(),
			"model": call.req.model, "service_tier": "default", "system_fingerprint": "fp_heed_mock", "choices": choices}
		if call.req.includeUsage {
			c["usage"] = nil
		}
		return c
	}
	each := func(delta map[string]any, finish any) []map[string]any {
		out := make([]map[string]any, call.req.choices)
		for i := range out {
			out[i] = map[string]any{"index": i, "delta": delta, "logprobs": nil, "finish_reason": finish}
		}
		return out
	}
	if err := sw.event("", chunk(each(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil))); err != nil {
		return err
	}
	err := sw.chunks(call.output, func(from, to int64) error {
		if err := sw.event("", chunk(each(map[string]any{"content": generatedText(from, to)}, nil))); err != nil {
			return err
		}
		call.usage.OutputTokens += (to - from) * call.req.choices
		return nil
	})
	if err != nil {
		return err
	}
	if err := sw.event("", chunk(each(map[string]any{}, call.finishReason()))); err != nil {
		return err
	}
	if call.req.includeUsage {
		last := chunk([]map[string]any{})
		last["usage"] = newOpenAIUsage(call.usage)
		if err := sw.event("", last); err != nil {
			return err
		}
	}
	return sw.raw("data: [DONE]\n\n")
}
