package llm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chatBody builds a Chat Completions body of about size bytes from the
// committed prompts: a system message, then user and assistant turns.
func chatBody(b *testing.B, size int) []byte {
	b.Helper()
	files, err := filepath.Glob("testdata/prompts/*.txt")
	if err != nil || len(files) == 0 {
		b.Fatal("no prompts")
	}
	msgs := []map[string]string{{"role": "system", "content": "You are a careful assistant."}}
	total := 0
	for i := 0; total < size; i++ {
		t, err := os.ReadFile(files[i%len(files)])
		if err != nil {
			b.Fatal(err)
		}
		text := string(t)
		if rest := size - total; len(text) > rest {
			text = strings.ToValidUTF8(text[:max(rest, 1)], "")
		}
		role := []string{"user", "assistant"}[i%2]
		msgs = append(msgs, map[string]string{"role": role, "content": text})
		total += len(text) + 40
	}
	body, err := json.Marshal(map[string]any{"model": "gpt-4o", "messages": msgs, "max_tokens": 512, "stream": true})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkEstimate: one Estimate of a Chat Completions body of 2 KB and of
// 100 KB with the default CharEstimator (what bench/RESULTS.md records).
func BenchmarkEstimate(b *testing.B) {
	for _, c := range []struct {
		name string
		size int
	}{{"2KB", 2 << 10}, {"100KB", 100 << 10}} {
		body := chatBody(b, c.size)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, ok := OpenAI.Estimate("/v1/chat/completions", body, int64(len(body)), EstimateOptions{}); !ok {
					b.Fatal("not ok")
				}
			}
		})
	}
}

// BenchmarkMeterSSE: metering an Anthropic stream as it passes.
func BenchmarkMeterSSE(b *testing.B) {
	body := []byte(anthropicStream)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		m := Anthropic.Meter("text/event-stream")
		m.Write(body)
		if _, ok := m.Usage(); !ok {
			b.Fatal("no usage")
		}
	}
}
