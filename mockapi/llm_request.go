package mockapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// Bounds of what an LLM request may ask for.
const (
	// maxMaxTokens bounds max_tokens and its kin, so that every charge
	// fits the buckets' arithmetic.
	maxMaxTokens = 1 << 24
	// maxChoices bounds OpenAI's n, as OpenAI does.
	maxChoices = 128
)

// perMessageTokens is what each message costs beyond its content, and
// replyTokens what priming the reply costs once per request: the rule of
// OpenAI's cookbook ("How to count tokens with tiktoken") for its current
// chat models, which the mock applies to both vendors.
const (
	perMessageTokens = 3
	replyTokens      = 3
)

// outputTokensHeader is the request header with which a test picks how
// many output tokens a response produces (capped at its max tokens).
const outputTokensHeader = "Mock-Output-Tokens"

// llmRequest is what the mock reads from an LLM request body.
type llmRequest struct {
	model string
	// maxTokens is the most output tokens of each choice; choices is
	// OpenAI's n (1 for Anthropic).
	maxTokens, choices   int64
	stream, includeUsage bool
	// input is every input token, cached prefixes included.
	input int64
	// prefixes are the Anthropic cache breakpoints, shortest first.
	prefixes []cachePrefix
}

// cachePrefix is the prompt up to one cache_control breakpoint.
type cachePrefix struct {
	sum    [sha256.Size]byte
	tokens int64
}

// errMaxTokens says what max_tokens may be.
var errMaxTokens = fmt.Errorf("must be a whole number from 1 to %d", maxMaxTokens)

// checkMaxTokens checks a max tokens field named name.
func checkMaxTokens(name string, n int64) error {
	if n < 1 || n > maxMaxTokens {
		return fmt.Errorf("%s: %d %w", name, n, errMaxTokens)
	}
	return nil
}

// promptCounter adds up a prompt's tokens in the order of its parts, and
// notes the prefix at every cache breakpoint.
type promptCounter struct {
	// hash is the running SHA-256 of the prompt so far.
	hash     hash.Hash
	tokens   int64
	prefixes []cachePrefix
}

func newPromptCounter() *promptCounter {
	return &promptCounter{hash: sha256.New()}
}

// total returns the prompt's tokens with the reply's priming.
func (p *promptCounter) total() int64 { return p.tokens + replyTokens }

// add counts one part of the prompt: its text, in tokens, and its raw
// JSON, in the prefix's identity. breakpoint marks the end of a cached
// prefix.
func (p *promptCounter) add(text string, raw []byte, breakpoint bool) {
	p.tokens += countTokens(text)
	p.hash.Write(raw)
	p.hash.Write([]byte{0})
	if breakpoint {
		var c cachePrefix
		copy(c.sum[:], p.hash.Sum(nil))
		c.tokens = p.tokens
		p.prefixes = append(p.prefixes, c)
	}
}

// message counts one message's overhead and its role.
func (p *promptCounter) message(role string) {
	p.tokens += perMessageTokens
	p.hash.Write([]byte("role:" + role))
}

// contentPart is a block of message content, OpenAI's or Anthropic's.
type contentPart struct {
	Type         string          `json:"type"`
	Text         string          `json:"text"`
	CacheControl json.RawMessage `json:"cache_control"`
}

// addContent counts content that is a string or an array of parts: text
// parts by their text, any other part (images, tool calls and results) by
// its whole JSON, a conservative stand-in.
func (p *promptCounter) addContent(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		var s string
		if len(raw) > 0 && string(raw) != "null" {
			if err := json.Unmarshal(raw, &s); err != nil {
				return errors.New("content is neither a string nor an array of blocks")
			}
		}
		p.add(s, raw, false)
		return nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return errors.New("content is neither a string nor an array of blocks")
	}
	for _, partRaw := range parts {
		var part contentPart
		if err := json.Unmarshal(partRaw, &part); err != nil {
			return errors.New("a content block is not an object")
		}
		text := part.Text
		if part.Type != "text" {
			text = string(partRaw)
		}
		p.add(text, partRaw, hasCacheControl(part.CacheControl))
	}
	return nil
}

// hasCacheControl reports whether a block's cache_control is set.
func hasCacheControl(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && string(raw) != "null"
}

// outputTokens returns how many output tokens each choice of req
// produces: the Mock-Output-Tokens header if given, else l's rule; never
// more than req.maxTokens.
func (l LLM) outputTokens(req llmRequest, header string) (int64, error) {
	if header = strings.TrimSpace(header); header != "" {
		n, err := strconv.ParseInt(header, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s: %q is not a whole number >= 0", outputTokensHeader, header)
		}
		return min(n, req.maxTokens), nil
	}
	if l.OutputTokens > 0 {
		return min(int64(l.OutputTokens), req.maxTokens), nil
	}
	return max(int64(l.OutputShare*float64(req.maxTokens)), 1), nil
}
