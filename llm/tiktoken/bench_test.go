package tiktoken_test

import (
	"strings"
	"testing"

	"github.com/heedhq/heed/llm"
	"github.com/heedhq/heed/llm/tiktoken"
)

// BenchmarkEstimateExact: the same bodies as llm's BenchmarkEstimate
// (sizes only: the text is prose repeated) priced with exact o200k counts.
func BenchmarkEstimateExact(b *testing.B) {
	var tok tiktoken.Tokenizer
	tok.Load()
	for _, c := range []struct {
		name string
		size int
	}{{"2KB", 2 << 10}, {"100KB", 100 << 10}} {
		text := strings.Repeat("The quick brown fox jumps over the lazy dog; 42 times. ", c.size/56)
		body := []byte(`{"model":"gpt-4o","max_tokens":512,"messages":[{"role":"user","content":"` + text + `"}]}`)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				llm.OpenAI.Estimate("/v1/chat/completions", body, int64(len(body)), llm.EstimateOptions{Tokenizer: &tok})
			}
		})
	}
}
