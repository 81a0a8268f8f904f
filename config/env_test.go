package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
)

// envSidecar has string fields of every shape an environment reference may
// fill: top level, inline, in a section, in a list, behind a pointer.
type envSidecar struct {
	heed.Config `yaml:",inline"`
	Token       string        `yaml:"token"`
	Tokens      []string      `yaml:"tokens"`
	Section     *envSection   `yaml:"section"`
	Workers     int           `yaml:"workers"`
	Every       time.Duration `yaml:"every"`
}

type envSection struct {
	Secret string `yaml:"secret"`
}

// fakeEnv is an environment for DecodeOptions.LookupEnv.
func fakeEnv(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestDecodeEnvReferences(t *testing.T) {
	t.Parallel()
	const doc = `token: ${HEED_TOKEN}
tokens: ["${A_1}", '${_b}', literal]
section: {secret: "${SECRET}"}
store: ${STORE_URL}
fingerprint_secret: ${FP}
tenant: $TENANT
upstreams:
  - name: a
    base_url: x${A_1}
  - name: b
    base_url: ${A_1}${_b}
`
	env := fakeEnv(map[string]string{"HEED_TOKEN": "tok-0123456789abcdef", "A_1": "one", "_b": "two",
		"SECRET": "s3cret", "STORE_URL": "redis://:pw@cache:6379/0", "FP": "fp-secret-0123456789"})
	var got envSidecar
	if _, err := (DecodeOptions{LookupEnv: env}).Decode([]byte(doc), "x.yaml", &got); err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	want := envSidecar{
		Config: heed.Config{Store: "redis://:pw@cache:6379/0", FingerprintSecret: "fp-secret-0123456789", Tenant: "$TENANT",
			Upstreams: []heed.Upstream{{Name: "a", BaseURL: "x${A_1}"}, {Name: "b", BaseURL: "${A_1}${_b}"}}},
		Token:   "tok-0123456789abcdef",
		Tokens:  []string{"one", "two", "literal"},
		Section: &envSection{Secret: "s3cret"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestDecodeEnvReferenceErrors(t *testing.T) {
	t.Parallel()
	env := fakeEnv(map[string]string{"EMPTY": "", "SET": "the-secret-value"})
	tests := []struct {
		name, yaml, want string
	}{
		{"Unset", "token: ${UNSET}\n", `heed: x.yaml:1: token: environment variable UNSET is not set`},
		{"Empty", "section:\n  secret: ${EMPTY}\n", `heed: x.yaml:2: section.secret: environment variable EMPTY is empty`},
		{"InList", "tokens:\n  - ok\n  - ${UNSET}\n", `heed: x.yaml:3: tokens[1]: environment variable UNSET is not set`},
		{"Every", "token: ${UNSET}\ntokens: [\"${EMPTY}\"]\n", "heed: x.yaml:1: token: environment variable UNSET is not set\n" +
			"heed: x.yaml:2: tokens[0]: environment variable EMPTY is empty"},
		{"NotAString", "workers: ${SET}\n", `heed: x.yaml:1: workers: want an integer, got "${SET}" (an environment reference ${NAME} is read only into a string field)`},
		{"NotADuration", "every: ${SET}\n", `heed: x.yaml:1: every: invalid duration "${SET}": want a Go duration such as "250ms", "5s" or "1h" (an environment reference ${NAME} is read only into a string field)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v envSidecar
			_, err := (DecodeOptions{LookupEnv: env}).Decode([]byte(tt.yaml), "x.yaml", &v)
			got := errorLines(err)
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if strings.Contains(got, "the-secret-value") {
				t.Errorf("the error quotes a variable's value: %s", got)
			}
		})
	}
}

// TestDecodeReadsTheProcessEnvironment: Decode, without options, reads
// os.LookupEnv.
func TestDecodeReadsTheProcessEnvironment(t *testing.T) {
	t.Setenv("HEED_CONFIG_TEST_TOKEN", "from-the-environment")
	var v envSidecar
	if _, err := Decode([]byte("token: ${HEED_CONFIG_TEST_TOKEN}\n"), "x.yaml", &v); err != nil || v.Token != "from-the-environment" {
		t.Errorf("got %q, %v, want the variable's value", v.Token, err)
	}
}

// TestParseSkipsServeKeysWithReferences: the library's Parse skips heed
// serve's keys whatever they hold, so a Go program reading heed serve's file
// needs none of heed serve's variables.
func TestParseSkipsServeKeysWithReferences(t *testing.T) {
	t.Parallel()
	const doc = "admin_token: ${HEED_UNSET_ADMIN}\napi_tokens: [\"${HEED_UNSET_API}\"]\nupstreams:\n  - {name: a, base_url: https://a.example.com}\n"
	if _, err := Parse([]byte(doc), "x.yaml"); err != nil {
		t.Errorf("got %v, want heed serve's keys skipped", err)
	}
}
