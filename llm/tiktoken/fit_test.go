package tiktoken_test

import (
	"fmt"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/heedhq/heed/llm/tiktoken"
)

// TestWriteFitFeatures writes, for refitting llm.CharEstimator's weights,
// one CSV line per prompt: name, its character classes (letters, digits,
// spaces, punctuation, 2-, 3- and 4-byte runes, case/digit switches) and
// its exact o200k_base and cl100k_base counts. It runs only when
// HEED_FIT_FEATURES names the file to write.
func TestWriteFitFeatures(t *testing.T) {
	path := os.Getenv("HEED_FIT_FEATURES")
	if path == "" {
		t.Skip("set HEED_FIT_FEATURES=file.csv to write the features for refitting the estimator")
	}
	var tok tiktoken.Tokenizer
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, b := range prompts(t) {
		s := string(b)
		var alpha, digit, space, punct, r2, r3, r4, sw int
		prev := 0
		for _, r := range s {
			cls := 0
			switch {
			case r >= 'a' && r <= 'z':
				cls = 1
			case r >= 'A' && r <= 'Z':
				cls = 2
			case r >= '0' && r <= '9':
				cls = 3
			}
			if cls != 0 && prev != 0 && cls != prev && !(prev == 2 && cls == 1) {
				sw++
			}
			prev = cls
			switch n := utf8.RuneLen(r); {
			case r >= '0' && r <= '9':
				digit++
			case r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
				alpha++
			case r == ' ' || r == '\n' || r == '\t' || r == '\r':
				space++
			case r < 128:
				punct++
			case n == 2:
				r2++
			case n == 3:
				r3++
			default:
				r4++
			}
		}
		fmt.Fprintf(f, "%s,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d\n", name, alpha, digit, space, punct, r2, r3, r4, sw, tok.Count("gpt-4o", s), tok.Count("gpt-4", s))
	}
}
