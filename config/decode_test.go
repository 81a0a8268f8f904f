package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
)

// sidecar is a struct that embeds heed.Config inline and adds keys, as
// serve.Config does.
type sidecar struct {
	heed.Config `yaml:",inline"`
	Listen      string         `yaml:"listen"`
	Section     *sidecarJobs   `yaml:"section"`
	Extra       inlineSettings `yaml:",inline"`
	hidden      string         // unexported: never read
}

type sidecarJobs struct {
	Workers int           `yaml:"workers"`
	Every   time.Duration `yaml:"every"`
}

type inlineSettings struct {
	Color string `yaml:"color"`
}

func TestDecodeInline(t *testing.T) {
	t.Parallel()
	const doc = `listen: 127.0.0.1:8700
tenant: acme
color: blue
section: {workers: 3, every: 1s}
upstreams:
  - name: a
    base_url: https://a.example.com
`
	var got sidecar
	src, err := Decode([]byte(doc), "heed.yaml", &got)
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	want := sidecar{
		Config:  heed.Config{Tenant: "acme", Upstreams: []heed.Upstream{{Name: "a", BaseURL: "https://a.example.com"}}},
		Listen:  "127.0.0.1:8700",
		Section: &sidecarJobs{Workers: 3, Every: time.Second},
		Extra:   inlineSettings{Color: "blue"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for path, line := range map[string]int{"listen": 1, "tenant": 2, "color": 3, "section.workers": 4, "upstreams[0].base_url": 7} {
		if got, ok := src.Line(path); !ok || got != line {
			t.Errorf("Line(%q): got (%d, %v), want %d", path, got, ok, line)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"UnknownSuggestsInline", "tennant: acme\n", `heed: x.yaml:1: unknown key "tennant" at top level (did you mean "tenant"?)`},
		{"UnknownSuggestsOwn", "lisen: :1\n", `heed: x.yaml:1: unknown key "lisen" at top level (did you mean "listen"?)`},
		{"UnknownInSection", "section: {workerz: 1}\n", `heed: x.yaml:1: unknown key "workerz" in section (did you mean "workers"?)`},
		{"InlineNotAKey", "Config: {}\n", `heed: x.yaml:1: unknown key "Config" at top level`},
		{"UnexportedNotAKey", "hidden: x\n", `heed: x.yaml:1: unknown key "hidden" at top level`},
		{"EmptyKey", "\"\": 1\n", `heed: x.yaml:1: unknown key "" at top level`},
		{"DuplicateAcrossInline", "tenant: a\ncolor: b\ntenant: c\n", `heed: x.yaml:3: duplicate key "tenant" at top level`},
		{"SectionType", "section: {workers: many}\n", `heed: x.yaml:1: section.workers: want an integer, got "many"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v sidecar
			_, err := Decode([]byte(tt.yaml), "x.yaml", &v)
			if got := errorLines(err); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestDecodeProblemsAreConfigErrors(t *testing.T) {
	t.Parallel()
	var v sidecar
	_, err := Decode([]byte("section:\n  workers: many\n"), "x.yaml", &v)
	ce, ok := err.(interface{ Unwrap() []error })
	if !ok || len(ce.Unwrap()) != 1 {
		t.Fatalf("got %v (%T), want one joined problem", err, err)
	}
	got, ok := ce.Unwrap()[0].(*heed.ConfigError)
	if !ok || got.Path != "section.workers" || got.File != "x.yaml" || got.Line != 2 {
		t.Errorf("got %+v, want a *heed.ConfigError about section.workers at x.yaml:2", got)
	}
}

func TestDecodeWantsPointerToStruct(t *testing.T) {
	t.Parallel()
	var c heed.Config
	var nilConfig *heed.Config
	for _, v := range []any{c, nilConfig, new(int), nil} {
		if _, err := Decode([]byte("tenant: a\n"), "x.yaml", v); err == nil || !strings.HasPrefix(err.Error(), "config: Decode: want a non-nil pointer to a struct") {
			t.Errorf("Decode into %T: got %v, want a programming error", v, err)
		}
	}
}
