package tiktoken_test

import (
	"testing"

	"github.com/heedhq/heed/llm"
	"github.com/heedhq/heed/llm/tiktoken"
)

// The examples of the OpenAI cookbook's "How to count tokens with
// tiktoken" (examples/How_to_count_tokens_with_tiktoken.ipynb), with the
// prompt_tokens the OpenAI API reported for them there.
const (
	cookbookMessages = `[
 {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
 {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
 {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
 {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
 {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
 {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."}]`
	cookbookTools = `[{"type": "function", "function": {"name": "get_current_weather",
  "description": "Get the current weather in a given location",
  "parameters": {"type": "object", "properties": {
    "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
    "unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]}},
   "required": ["location"]}}}]`
	cookbookToolMessages = `[
 {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
 {"role": "user", "content": "What's the weather like in San Francisco?"}]`
)

func TestCookbookExamples(t *testing.T) {
	t.Parallel()
	var tok tiktoken.Tokenizer
	cases := []struct {
		name, body string
		want       int64
	}{
		{"ChatGPT4o", `{"model": "gpt-4o", "max_tokens": 1, "messages": ` + cookbookMessages + `}`, 124},
		{"ChatGPT4oMini", `{"model": "gpt-4o-mini", "max_tokens": 1, "messages": ` + cookbookMessages + `}`, 124},
		{"ChatGPT4", `{"model": "gpt-4-0613", "max_tokens": 1, "messages": ` + cookbookMessages + `}`, 129},
		{"ChatGPT35Turbo", `{"messages": ` + cookbookMessages + `, "model": "gpt-3.5-turbo", "max_tokens": 1}`, 129},
		{"ToolsGPT4o", `{"model": "gpt-4o", "messages": ` + cookbookToolMessages + `, "tools": ` + cookbookTools + `}`, 101},
		{"ToolsGPT4", `{"model": "gpt-4", "messages": ` + cookbookToolMessages + `, "tools": ` + cookbookTools + `}`, 105},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e, ok := llm.OpenAI.Estimate("/v1/chat/completions", []byte(c.body), int64(len(c.body)), llm.EstimateOptions{Tokenizer: &tok})
			if !ok || e.Input != c.want {
				t.Errorf("Input = %d (ok %v), want %d (the cookbook's count from the OpenAI API)", e.Input, ok, c.want)
			}
		})
	}
}
