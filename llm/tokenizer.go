package llm

import (
	"math"
	"strings"
	"unicode/utf8"
)

// Tokenizer counts the tokens of text for a model. Count must be safe for
// concurrent use and must not retain text (Estimate passes strings that
// alias its scratch space).
type Tokenizer interface {
	Count(model, text string) int
}

// CharEstimator is the package's default Tokenizer: it estimates a count
// from the characters of the text, without a vocabulary. The zero value is
// ready; it is safe for concurrent use.
//
// Each character costs a weight by its class: ASCII letters, digits,
// spaces and punctuation; runes of 2, 3 and 4 UTF-8 bytes (Latin accents,
// Cyrillic, Greek, Arabic, Hebrew; CJK, Indic, Thai; emoji); and each
// switch inside a run of letters and digits between lower case, upper case
// and digits (identifiers, hashes and base64 split there). The sum is
// rounded up. The weights were fitted on testdata/prompts to the exact
// counts of o200k_base and of cl100k_base (by OpenAIEncoding of the model)
// so that the estimate errs high: the fit charges 30 times more for a
// token under than for one over. For Anthropic's models ("claude-..."),
// which have no published tokenizer, each weight is the larger of the
// cl100k_base weight and 1.35 times the o200k_base weight (Anthropic
// documents that Claude Opus 4.7's tokenizer uses up to 35% more tokens
// than its predecessors for the same text). The package doc gives the
// measured error.
type CharEstimator struct{}

// charWeights are tokens per character of each class.
type charWeights struct {
	alpha, digit, space, punct, rune2, rune3, rune4, switches float64
}

var (
	o200kWeights  = charWeights{alpha: 0.30, digit: 0.5, space: 0.04, punct: 0.85, rune2: 0.40, rune3: 0.75, rune4: 1.5, switches: 0.66}
	cl100kWeights = charWeights{alpha: 0.30, digit: 0.5, space: 0.03, punct: 0.86, rune2: 1.0, rune3: 1.3, rune4: 1.5, switches: 0.73}
	claudeWeights = charWeights{
		alpha: max(cl100kWeights.alpha, 1.35*o200kWeights.alpha), digit: max(cl100kWeights.digit, 1.35*o200kWeights.digit),
		space: max(cl100kWeights.space, 1.35*o200kWeights.space), punct: max(cl100kWeights.punct, 1.35*o200kWeights.punct),
		rune2: max(cl100kWeights.rune2, 1.35*o200kWeights.rune2), rune3: max(cl100kWeights.rune3, 1.35*o200kWeights.rune3),
		rune4: max(cl100kWeights.rune4, 1.35*o200kWeights.rune4), switches: max(cl100kWeights.switches, 1.35*o200kWeights.switches),
	}
)

// Count estimates the tokens of text for model.
func (CharEstimator) Count(model, text string) int {
	w := &o200kWeights
	switch {
	case isClaude(model):
		w = &claudeWeights
	case OpenAIEncoding(model) == "cl100k_base":
		w = &cl100kWeights
	}
	return w.count(text)
}

func isClaude(model string) bool {
	return len(model) >= 6 && strings.EqualFold(model[:6], "claude")
}

// Classes of ASCII bytes; the first four take part in switches.
const (
	clsNone = iota
	clsLower
	clsUpper
	clsDigit
	clsSpace
	clsPunct
)

// asciiClass classifies the ASCII bytes for count.
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		switch {
		case c >= 'a' && c <= 'z':
			t[c] = clsLower
		case c >= 'A' && c <= 'Z':
			t[c] = clsUpper
		case c >= '0' && c <= '9':
			t[c] = clsDigit
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
			t[c] = clsSpace
		default:
			t[c] = clsPunct
		}
	}
	return t
}()

func (w *charWeights) count(text string) int {
	var n [clsPunct + 1]int // by class
	var r2, r3, r4, switches int
	prev := uint8(clsNone)
	for i := 0; i < len(text); {
		c := text[i]
		if c >= utf8.RuneSelf {
			_, size := utf8.DecodeRuneInString(text[i:])
			switch size {
			case 3:
				r3++
			case 4:
				r4++
			default: // 2, and an invalid byte as a rune of its own
				r2++
			}
			i += size
			prev = clsNone
			continue
		}
		i++
		cls := asciiClass[c]
		n[cls]++
		if cls <= clsDigit {
			if prev != clsNone && prev != cls && !(prev == clsUpper && cls == clsLower) {
				switches++
			}
			prev = cls
		} else {
			prev = clsNone
		}
	}
	f := float64(n[clsLower]+n[clsUpper])*w.alpha + float64(n[clsDigit])*w.digit + float64(n[clsSpace])*w.space +
		float64(n[clsPunct])*w.punct + float64(r2)*w.rune2 + float64(r3)*w.rune3 + float64(r4)*w.rune4 +
		float64(switches)*w.switches
	return int(math.Ceil(f))
}

// count is the estimate's one call of the tokenizer.
func count(t Tokenizer, model, text string) int64 {
	if text == "" {
		return 0
	}
	return int64(max(t.Count(model, text), 0))
}
