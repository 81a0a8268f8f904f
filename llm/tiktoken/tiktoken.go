// Package tiktoken is an llm.Tokenizer that counts exactly as OpenAI's
// models do, with the o200k_base and cl100k_base encodings of
// github.com/tiktoken-go/tokenizer (compiled in: nothing is downloaded at
// run time).
//
// It lives apart from package llm because of its weight: importing it adds
// about 10 MB to a binary (the two vocabularies), and the first Count of an
// encoding loads it: about 40-100 ms and 7 MB of heap for o200k_base, 15-25
// ms and 3.5 MB more for cl100k_base (measured on the project's 2-core CI
// machine; see the llm package doc). Importing it costs nothing at init
// (under 0.2 ms, 40 KB). Programs that price OpenAI requests exactly (heed
// serve) wire it in with EstimateOptions.Tokenizer for OpenAI upstreams,
// and may call Load at start so that the first request does not wait.
package tiktoken

import (
	"sync"

	"github.com/heedhq/heed/llm"
	"github.com/tiktoken-go/tokenizer/codec"
)

// Tokenizer counts tokens with the encoding of each model
// (llm.OpenAIEncoding). The zero value is ready: each encoding is loaded
// on its first use. It is safe for concurrent use.
type Tokenizer struct {
	o200k, cl100k lazy
}

var _ llm.Tokenizer = (*Tokenizer)(nil)

type lazy struct {
	once  sync.Once
	codec *codec.Codec
}

func (l *lazy) get(load func() *codec.Codec) *codec.Codec {
	l.once.Do(func() { l.codec = load() })
	return l.codec
}

// Load loads both encodings now (each is otherwise loaded on first use).
func (t *Tokenizer) Load() {
	t.o200k.get(codec.NewO200kBase)
	t.cl100k.get(codec.NewCl100kBase)
}

// Count returns the number of tokens of text in the model's encoding. Text
// that is not valid UTF-8 is counted byte-wise as the encodings do; the
// special-token text "<|endoftext|>" is counted as ordinary text.
func (t *Tokenizer) Count(model, text string) int {
	c := t.o200k.get(codec.NewO200kBase)
	if llm.OpenAIEncoding(model) == "cl100k_base" {
		c = t.cl100k.get(codec.NewCl100kBase)
	}
	n, err := c.Count(text)
	if err != nil { // the codec's regexp failed: fall back to an estimate
		return llm.CharEstimator{}.Count(model, text)
	}
	return n
}
