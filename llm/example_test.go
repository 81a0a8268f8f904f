package llm_test

import (
	"fmt"
	"strings"

	"github.com/heedhq/heed/llm"
)

func ExampleVendor_Estimate() {
	body := []byte(`{"model": "gpt-4o", "n": 2, "max_completion_tokens": 300, "stream": true,
		"messages": [{"role": "user", "content": "Write a haiku about rate limits."}]}`)
	e, ok := llm.OpenAI.Estimate("/v1/chat/completions", body, int64(len(body)), llm.EstimateOptions{})
	fmt.Println(ok, e.Model, e.Output, e.Stream, e.UsageReported)

	// Listing models costs only a request.
	_, ok = llm.OpenAI.Estimate("/v1/models", nil, 0, llm.EstimateOptions{})
	fmt.Println(ok)
	// Output:
	// true gpt-4o 600 true false
	// false
}

func ExampleVendor_Meter() {
	stream := "event: message_start\n" +
		`data: {"type":"message_start","message":{"usage":{"input_tokens":472,"cache_read_input_tokens":2048,"output_tokens":2}}}` + "\n\n" +
		"event: message_delta\n" +
		`data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":89}}` + "\n\n"
	m := llm.Anthropic.Meter("text/event-stream")
	for chunk := range strings.SplitSeq(stream, "\n") { // as the body passes to the caller
		m.Write([]byte(chunk + "\n"))
	}
	u, ok := m.Usage()
	in, out := llm.Anthropic.Charged(u, "claude-sonnet-4-5")
	fmt.Println(ok, u.Input, u.Output, u.CacheRead, "charged:", in, out)
	// Output:
	// true 472 89 2048 charged: 472 89
}
