package llm

import (
	"strings"
	"testing"
)

// Response shapes as the vendors' API references show them.
const (
	openAIChatJSON = `{
  "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
  "object": "chat.completion",
  "created": 1741570283,
  "model": "gpt-4o-2024-08-06",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "The image shows a wooden boardwalk with \"usage\": {\"prompt_tokens\": 1} in its text.", "refusal": null}, "logprobs": null, "finish_reason": "stop"}],
  "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
  "service_tier": "default",
  "system_fingerprint": "fp_fc9f1d7035"
}`
	openAIResponsesJSON = `{"id":"resp_1","object":"response","status":"completed","output":[{"type":"message","content":[{"type":"output_text","text":"hi"}]}],
 "usage":{"input_tokens":328,"input_tokens_details":{"cached_tokens":0},"output_tokens":52,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":380}}`
	anthropicJSON = `{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-sonnet-4-5",
 "content":[{"type":"text","text":"Hi! My name is Claude."}],"stop_reason":"end_turn","stop_sequence":null,
 "usage":{"input_tokens":2095,"cache_creation_input_tokens":100,"cache_read_input_tokens":1800,"output_tokens":503}}`

	openAIStream = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\n\n" +
		"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}],\"usage\":null}\n\n" +
		"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n" +
		"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n" +
		"data: [DONE]\n\n"
	anthropicStream = "event: message_start\n" +
		"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":2048,\"output_tokens\":2}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":null},\"usage\":{\"output_tokens\":15}}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	responsesStream = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\",\"usage\":null}}\n\n" +
		"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n" +
		"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"usage\":{\"input_tokens\":37,\"output_tokens\":11,\"input_tokens_details\":{\"cached_tokens\":5}}}}\n\n"
)

// writeChunks writes s in chunks of n bytes.
func writeChunks(m Meter, s string, n int) {
	for len(s) > 0 {
		k := min(n, len(s))
		if c, err := m.Write([]byte(s[:k])); c != k || err != nil {
			panic("Write short or failed")
		}
		s = s[k:]
	}
}

func TestMeter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, ct, body string
		want           Usage
		found          bool
	}{
		{"OpenAIJSON", "application/json", openAIChatJSON, Usage{Input: 1117, Output: 46, CacheRead: 1024}, true},
		{"ResponsesJSON", "application/json; charset=utf-8", openAIResponsesJSON, Usage{Input: 328, Output: 52}, true},
		{"AnthropicJSON", "application/json", anthropicJSON, Usage{Input: 2095, Output: 503, CacheRead: 1800, CacheWrite: 100}, true},
		{"OpenAIStream", "text/event-stream", openAIStream, Usage{Input: 19, Output: 10}, true},
		{"OpenAIStreamCRLF", "text/event-stream; charset=utf-8", strings.ReplaceAll(openAIStream, "\n", "\r\n"), Usage{Input: 19, Output: 10}, true},
		{"OpenAIStreamNoUsage", "text/event-stream", strings.Split(openAIStream, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],")[0], Usage{}, false},
		{"AnthropicStream", "text/event-stream", anthropicStream, Usage{Input: 472, Output: 89, CacheRead: 2048}, true},
		{"AnthropicStreamCutAfterStart", "text/event-stream", anthropicStream[:strings.Index(anthropicStream, "event: content_block_start")], Usage{Input: 472, Output: 2, CacheRead: 2048}, true},
		{"AnthropicStreamCutMidEvent", "text/event-stream", anthropicStream[:strings.Index(anthropicStream, "\"output_tokens\":89")], Usage{Input: 472, Output: 15, CacheRead: 2048}, true},
		{"ResponsesStream", "text/event-stream", responsesStream, Usage{Input: 37, Output: 11, CacheRead: 5}, true},
		{"CutJSON", "application/json", anthropicJSON[:len(anthropicJSON)-40], Usage{}, false},
		{"UsageNotTopLevel", "application/json", `{"data":{"usage":{"prompt_tokens":5}}}`, Usage{}, false},
		{"UsageNull", "application/json", `{"usage":null,"id":"x"}`, Usage{}, false},
		{"UsageGarbage", "application/json", `{"usage":{"prompt_tokens":"many","completion_tokens":-4}}`, Usage{}, true},
		{"NotJSON", "text/html", `<html><body>502 Bad Gateway</body></html>`, Usage{}, false},
		{"Garbage", "text/event-stream", "\x00\xff data: {{{\n\ndata: {\"usage\":\n\n:comment\n\n", Usage{}, false},
		{"HugeLineSkipped", "text/event-stream", "data: {\"x\":\"" + strings.Repeat("a", MaxEventBytes+10) + "\",\"usage\":{\"prompt_tokens\":99}}\n\n" + openAIStream, Usage{Input: 19, Output: 10}, true},
		{"HugeJSONBody", "application/json", `{"content":"` + strings.Repeat("x", 1<<20) + `","usage":{"input_tokens":7,"output_tokens":8}}`, Usage{Input: 7, Output: 8}, true},
		{"HugeUsageSkipped", "application/json", `{"usage":{"input_tokens":7,"pad":"` + strings.Repeat("x", MaxUsageJSON) + `"}}`, Usage{}, false},
	}
	for _, c := range cases {
		for _, chunk := range []int{1, 7, 4096} {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				m := OpenAI.Meter(c.ct)
				writeChunks(m, c.body, chunk)
				got, found := m.Usage()
				if found != c.found || got != c.want {
					t.Errorf("chunks of %d: Usage() = %+v, %v; want %+v, %v", chunk, got, found, c.want, c.found)
				}
			})
		}
	}
}

// TestMeterMonotone: Anthropic's message_delta usage is cumulative; a
// stream's Usage never goes down as it is read.
func TestMeterMonotone(t *testing.T) {
	t.Parallel()
	m := Anthropic.Meter("text/event-stream")
	var last Usage
	for i := 0; i < len(anthropicStream); i += 13 {
		m.Write([]byte(anthropicStream[i:min(i+13, len(anthropicStream))]))
		u, _ := m.Usage()
		if u.Input < last.Input || u.Output < last.Output || u.CacheRead < last.CacheRead || u.CacheWrite < last.CacheWrite {
			t.Fatalf("usage went down: %+v after %+v", u, last)
		}
		last = u
	}
}
