package llm

import (
	"encoding/json"
	"testing"
)

func TestUnescape(t *testing.T) {
	t.Parallel()
	for _, want := range []string{"plain", "a\nb\tc\"d\\e/f", "é😀 and \u2028", "\x00\x1f", "trailing\\", ""} {
		raw, _ := json.Marshal(want)
		s := scanner{b: raw}
		if got, ok := s.str(); !ok || got != want {
			t.Errorf("str(%s) = %q %v, want %q", raw, got, ok, want)
		}
	}
	s := scanner{b: []byte(`"\ud83d\ude00 \u00e9\q"`)}
	if got, _ := s.str(); got != "😀 éq" {
		t.Errorf("surrogates and a bad escape: %q", got)
	}
}
