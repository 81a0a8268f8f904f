package mockapi

import (
	"strings"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// o200k is the mock's "true" tokenizer for both vendors, OpenAI's
// o200k_base, compiled into the binary (no download) and loaded on first
// use.
var o200k = sync.OnceValue(func() tokenizer.Codec {
	codec, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		return nil // cannot happen for an encoding the module compiles in
	}
	return codec
})

// countTokens returns the o200k_base tokens of s. Should the encoding be
// missing, it counts 4 bytes a token, rounded up.
func countTokens(s string) int64 {
	if s == "" {
		return 0
	}
	if codec := o200k(); codec != nil {
		if n, err := codec.Count(s); err == nil {
			return int64(n)
		}
	}
	return int64(len(s)+3) / 4
}

// outputWords are what generated text is made of: common English words,
// each one o200k_base token with its leading space, so that n words are n
// tokens.
var outputWords = [...]string{
	" the", " quick", " answer", " is", " that", " every", " request", " has",
	" a", " cost", " and", " a", " limit", " per", " minute", ",", " so",
	" we", " wait", " for", " it", ".",
}

// generatedText returns output tokens from..to-1 of every generated
// answer: the same text for every request, so that answers are
// deterministic.
func generatedText(from, to int64) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		b.WriteString(outputWords[i%int64(len(outputWords))])
	}
	return b.String()
}
