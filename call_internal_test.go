package heed

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// names lists the layers' names.
func names(layers []layer) []string {
	out := make([]string, len(layers))
	for i, l := range layers {
		out[i] = l.name
	}
	return out
}

// TestPipelineOrder pins the order of the layers, and shows that a new one
// goes in at a named position and runs there, the others untouched.
func TestPipelineOrder(t *testing.T) {
	want := []string{layerRetry, layerBreaker, layerAdmit, layerRecord, layerRead}
	if got := names(pipeline()); !slices.Equal(got, want) {
		t.Fatalf("pipeline %v, want %v", got, want)
	}
	var trail []string
	trace := func(name string) layer {
		return layer{name: name, wrap: func(next handler) handler {
			return func(c *call) outcome {
				trail = append(trail, name+" down")
				out := next(c)
				trail = append(trail, name+" up")
				return out
			}
		}}
	}
	layers := []layer{trace("a"), trace("b")}
	withCache := withLayer(layers, "a", trace("cache"))
	withInner := withLayer(layers, "b", trace("inner"))
	if got := names(layers); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("withLayer changed its argument: %v", got)
	}
	if got := names(withCache); !slices.Equal(got, []string{"cache", "a", "b"}) {
		t.Fatalf("above a: %v", got)
	}
	if got := names(withInner); !slices.Equal(got, []string{"a", "inner", "b"}) {
		t.Fatalf("above b: %v", got)
	}
	h := compose(withInner, func(*call) outcome { trail = append(trail, "send"); return outcome{} })
	h(&call{})
	if want := []string{"a down", "inner down", "b down", "send", "b up", "inner up", "a up"}; !slices.Equal(trail, want) {
		t.Fatalf("trail %v, want %v", trail, want)
	}
}

// TestReplayedHeadersCountFromNow: a cooldown's replayed headers that
// count time from their response say the time left when replayed.
func TestReplayedHeadersCountFromNow(t *testing.T) {
	orig := http.Header{
		"Retry-After":                      {"30"},
		"Retry-After-Ms":                   {"30000"},
		"X-Ratelimit-Reset-Requests":       {"6m0s"},
		"X-Ratelimit-Reset-Tokens":         {"1.5s"},
		"Ratelimit-Reset":                  {"30"},
		"X-Ratelimit-Reset":                {"1795350000"}, // a Unix time: as it is
		"X-Ms-Retry-After-Ms":              {"30000"},
		"X-Ratelimit-Reset-After":          {"29.5"},
		"X-Ratelimit-Remaining-Requests":   {"0"},
		"Anthropic-Ratelimit-Tokens-Reset": {"2026-12-02T12:00:30Z"},
	}
	got := replayed(orig, 10*time.Second, false)
	want := map[string]string{
		"Retry-After": "", "Retry-After-Ms": "", // set from the cooldown's time left
		"X-Ratelimit-Reset-Requests":       "5m50s",
		"X-Ratelimit-Reset-Tokens":         "0s",
		"Ratelimit-Reset":                  "20",
		"X-Ratelimit-Reset":                "1795350000",
		"X-Ms-Retry-After-Ms":              "20000",
		"X-Ratelimit-Reset-After":          "19.500",
		"X-Ratelimit-Remaining-Requests":   "0",
		"Anthropic-Ratelimit-Tokens-Reset": "2026-12-02T12:00:30Z",
	}
	for k, v := range want {
		if g := got.Get(k); g != v {
			t.Errorf("%s: got %q, want %q", k, g, v)
		}
	}
	if unknown := replayed(orig, 0, true); unknown.Get("X-Ratelimit-Reset-Requests") != "" || unknown.Get("X-Ratelimit-Remaining-Requests") != "0" {
		t.Errorf("with no receipt time: %v, want the relative headers dropped and the others kept", unknown)
	}
	orig.Set("X-Ratelimit-Remaining-Requests", "changed")
	if got.Get("X-Ratelimit-Remaining-Requests") != "0" {
		t.Error("the replayed headers share the original's slices")
	}
}

// FuzzReplayedHeaders: restating a replayed header never panics, keeps
// what it does not know as it was, and never says more time is left than
// the header said.
func FuzzReplayedHeaders(f *testing.F) {
	for _, seed := range []struct {
		name, value string
		elapsedMs   int64
	}{
		{"X-Ratelimit-Reset-Tokens", "6m0s", 1500},
		{"X-Ratelimit-Reset-Requests", "120ms", 10},
		{"Ratelimit-Reset", "30", 10_000},
		{"X-Ratelimit-Reset", "1795350000", 1},
		{"X-Ratelimit-Reset-After", "1e308", 1},
		{"X-Ms-Retry-After-Ms", "NaN", 0},
		{"X-Ratelimit-Reset", "-5", 3},
		{"Anthropic-Ratelimit-Tokens-Reset", "2026-12-02T12:00:30Z", 1},
	} {
		f.Add(seed.name, seed.value, seed.elapsedMs)
	}
	f.Fuzz(func(t *testing.T, name, value string, elapsedMs int64) {
		orig := http.Header{}
		orig[name] = []string{value}
		elapsed := time.Duration(elapsedMs) * time.Millisecond
		got := replayed(orig, elapsed, false)
		rel, isRelative := relativeHeaders[http.CanonicalHeaderKey(name)]
		switch {
		case !isRelative:
			if g := got[name]; len(g) != 1 || g[0] != value {
				t.Fatalf("%s: %q replayed as %q, want it as it was", name, value, g)
			}
		case rel == nil:
			if len(got) != 0 {
				t.Fatalf("%s is heed's to set, but was replayed: %v", name, got)
			}
		}
		if d, err := time.ParseDuration(value); err == nil && isRelative && strings.HasPrefix(http.CanonicalHeaderKey(name), "X-Ratelimit-Reset-") {
			if g, err := time.ParseDuration(got.Get(name)); err == nil && g > max(d, 0)+time.Millisecond {
				t.Fatalf("%s: %q restated as %q, more than it said", name, value, got.Get(name))
			}
		}
	})
}
