package serve_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/serve"
)

func TestValidateServeFieldsAndTimeout(t *testing.T) {
	base := func() serve.Config {
		return serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "api", BaseURL: "https://api.example.com"}}}.WithDefaults()}
	}
	tests := []struct {
		name string
		edit func(*serve.Config)
		want string // "" for valid
	}{
		{"listen ok", func(c *serve.Config) { c.Listen = "0.0.0.0:8700" }, ""},
		{"listen no port", func(c *serve.Config) { c.Listen = "localhost" }, "listen"},
		{"short token", func(c *serve.Config) { c.AdminToken = "short" }, "admin_token"},
		{"token ok", func(c *serve.Config) { c.AdminToken = "a-token-of-sixteen-bytes" }, ""},
		{"negative timeout", func(c *serve.Config) { c.Upstreams[0].Timeout = -1 }, "timeout"},
	}
	for _, tt := range tests {
		c := base()
		tt.edit(&c)
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want an error naming %s", tt.name, err, tt.want)
		case strings.Contains(fmt.Sprint(err), "short") && tt.name == "short token":
			t.Errorf("the error quotes the token: %v", err)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := func() serve.Config {
		return serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "api", BaseURL: "https://api.example.com"}}}}
	}
	tests := []struct {
		name   string
		change func(c *serve.Config)
		want   []string // every problem, in order; none for a valid Config
	}{
		{"Valid", func(c *serve.Config) {}, nil},
		{"ValidEverything", func(c *serve.Config) {
			c.Listen, c.AdminToken, c.TenantHeader = "0.0.0.0:8700", "a-token-of-sixteen-bytes", "X-Tenant"
			c.Jobs = &jobs.Config{Database: "sqlite://jobs.db", CallbackAllow: []string{"http://127.0.0.1:*"}, CallbackSecret: "0123456789abcdef"}
		}, nil},
		{"Listen", func(c *serve.Config) { c.Listen = "localhost" }, []string{`heed: listen "localhost": want host:port, such as 127.0.0.1:8700`}},
		{"AdminToken", func(c *serve.Config) { c.AdminToken = "hunter2" }, []string{`heed: admin_token: at least 16 bytes, got 7`}},
		{"TenantHeader", func(c *serve.Config) { c.TenantHeader = "X Tenant" }, []string{`heed: tenant_header "X Tenant" is not a valid header name`}},
		{"APITokens", func(c *serve.Config) {
			c.AdminToken = "hunter2-admin-token-0"
			c.APITokens = []string{"hunter2-api-token-0", "hunter2", "hunter2-api-token-0", "hunter2-admin-token-0", "hunter2-api-token-1"}
		}, []string{
			`heed: api_tokens[1]: at least 16 bytes, got 7`,
			`heed: api_tokens[2]: the same as api_tokens[0]; each token must be distinct`,
			`heed: api_tokens[3]: the same as admin_token; an API token must not open the admin surface`}},
		{"Jobs", func(c *serve.Config) { c.Jobs = &jobs.Config{Workers: -1} }, []string{
			`heed: jobs.database: want sqlite://path/to/heed-jobs.db or postgres://user@host/db`,
			`heed: jobs.workers must not be negative`}},
		{"UpstreamV1WithJobs", func(c *serve.Config) {
			c.Upstreams[0].Name = "v1"
			c.Jobs = &jobs.Config{Database: "sqlite://jobs.db"}
		}, []string{`heed: upstreams[0]: the name v1 is taken by the job API (/v1/jobs) when jobs are on`}},
		{"UpstreamV1WithoutJobs", func(c *serve.Config) { c.Upstreams[0].Name = "v1" }, nil},
		{"LibraryFirst", func(c *serve.Config) { c.Listen, c.Tenant = "nope", "a/b" }, []string{
			`heed: tenant "a/b" must match [A-Za-z0-9][A-Za-z0-9_.-]*`,
			`heed: listen "nope": want host:port, such as 127.0.0.1:8700`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tt.change(&c)
			err := c.Validate()
			if got, want := errorLines(err), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if strings.Contains(errorLines(err), "hunter2") {
				t.Errorf("got %q, which quotes the admin token", err)
			}
		})
	}
}

// TestAPITokensFromTheEnvironment: api_tokens and admin_token read from
// the environment (${NAME}); a problem names the line, never the value.
func TestAPITokensFromTheEnvironment(t *testing.T) {
	t.Setenv("HEED_TEST_ADMIN", "admin-from-the-env-0123")
	t.Setenv("HEED_TEST_API", "api-from-the-env-0123")
	t.Setenv("HEED_TEST_SHORT", "hunter2")
	const src = "admin_token: ${HEED_TEST_ADMIN}\napi_tokens:\n  - ${HEED_TEST_API}\n  - \"${HEED_TEST_SHORT}\"\n" +
		"upstreams:\n  - {name: api, base_url: https://api.example.com}\n"
	c, err := serve.ParseConfig([]byte(src), "heed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminToken != "admin-from-the-env-0123" || len(c.APITokens) != 2 || c.APITokens[0] != "api-from-the-env-0123" {
		t.Errorf("got admin %q, api %q, want the variables' values", c.AdminToken, c.APITokens)
	}
	if got, want := errorLines(c.Validate()), `heed: heed.yaml:4: api_tokens[1]: at least 16 bytes, got 7`; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	_, err = serve.ParseConfig([]byte("api_tokens: [\"${HEED_TEST_UNSET_TOKEN}\"]\n"), "heed.yaml")
	if got, want := errorLines(err), `heed: heed.yaml:1: api_tokens[0]: environment variable HEED_TEST_UNSET_TOKEN is not set`; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestValidateNamesTheLine: heed serve's own problems, like the
// library's, name the file and line of their field.
func TestValidateNamesTheLine(t *testing.T) {
	t.Parallel()
	const src = `listen: nowhere
admin_token: short
tenant_header: "X Tenant"
upstreams:
  - name: v1
    base_url: https://api.example.com
    retry: {attempts: -1}
jobs:
  database: mysql://db
  callback_allow: ["http://127.0.0.1:*", "ftp://x"]
  workers: -2
`
	c, err := serve.ParseConfig([]byte(src), "heed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`heed: heed.yaml:7: upstreams[0] "v1": retry.attempts -1 out of range [1, 20] (1 means no retry)`,
		`heed: heed.yaml:1: listen "nowhere": want host:port, such as 127.0.0.1:8700`,
		`heed: heed.yaml:2: admin_token: at least 16 bytes, got 5`,
		`heed: heed.yaml:3: tenant_header "X Tenant" is not a valid header name`,
		`heed: heed.yaml:9: jobs.database: want sqlite://path/to/heed-jobs.db or postgres://user@host/db`,
		`heed: heed.yaml:10: jobs.callback_allow[1]: pattern "ftp://x": want http:// or https:// then host[:port][/path]`,
		"heed: heed.yaml:9: jobs.callback_secret: at least 16 bytes, required with callback_allow (callbacks are signed)",
		`heed: heed.yaml:11: jobs.workers must not be negative`,
		`heed: heed.yaml:5: upstreams[0]: the name v1 is taken by the job API (/v1/jobs) when jobs are on`,
	}
	if got := errorLines(c.Validate()); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	const src = `store: memory
listen: 127.0.0.1:9000
admin_token: a-token-of-sixteen-bytes
tenant_header: X-Tenant
upstreams:
  - name: api
    base_url: https://api.example.com
jobs:
  database: sqlite://jobs.db
  workers: 2
`
	c, err := serve.ParseConfig([]byte(src), "heed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.AdminToken != "a-token-of-sixteen-bytes" || c.TenantHeader != "X-Tenant" ||
		c.Store != "memory" || len(c.Upstreams) != 1 || c.Jobs == nil || c.Jobs.Database != "sqlite://jobs.db" || c.Jobs.Workers != 2 {
		t.Errorf("got %+v (jobs %+v), want every key read", c, c.Jobs)
	}
	if c.Source == nil || c.Source.File != "heed.yaml" || c.Stores != (config.Stores{}) {
		t.Errorf("got Source %+v, Stores %#v, want the file's lines and config.Stores", c.Source, c.Stores)
	}
	// The library reads the same file, skipping heed serve's keys.
	lib, err := config.Parse([]byte(src), "heed.yaml")
	if err != nil || len(lib.Upstreams) != 1 || lib.Store != "memory" {
		t.Errorf("config.Parse: got %+v, %v, want the library's part", lib, err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"UnknownTopLevel", "lisen: :8700\n", `heed: heed.yaml:1: unknown key "lisen" at top level (did you mean "listen"?)`},
		{"UnknownLibraryKey", "tennant: acme\n", `heed: heed.yaml:1: unknown key "tennant" at top level (did you mean "tenant"?)`},
		{"UnknownInJobs", "jobs:\n  database: sqlite://j.db\n  worker: 2\n", `heed: heed.yaml:3: unknown key "worker" in jobs (did you mean "workers"?)`},
		{"JobsType", "jobs:\n  workers: many\n", `heed: heed.yaml:2: jobs.workers: want an integer, got "many"`},
		{"JobsDuration", "jobs: {retention: 1 week}\n", `heed: heed.yaml:1: jobs.retention: invalid duration "1 week": want a Go duration such as "250ms", "5s" or "1h"`},
		{"Empty", "", "heed: heed.yaml: empty config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := serve.ParseConfig([]byte(tt.yaml), "heed.yaml")
			if got := errorLines(err); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestLoadConfigExample: examples/heed.yaml, which documents every key,
// is a valid configuration for heed serve, and for the library.
func TestLoadConfigExample(t *testing.T) {
	t.Parallel()
	c, err := serve.LoadConfig("../examples/heed.yaml")
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: got %v, want nil", err)
	}
	if len(c.Upstreams) != 4 || c.Jobs == nil || c.Listen == "" {
		t.Errorf("got %d upstreams, jobs %v, listen %q; want 4, a jobs section and a listen address", len(c.Upstreams), c.Jobs, c.Listen)
	}
	if _, err := serve.CheckListen(c); err != nil {
		t.Errorf("CheckListen: %v", err)
	}
}

// TestExampleTokensUncommented: the example's commented token lines, once
// uncommented, read their tokens from the environment and make a config
// that may listen beyond loopback.
func TestExampleTokensUncommented(t *testing.T) {
	for name, v := range map[string]string{"HEED_ADMIN_TOKEN": "example-admin-0123456789", "HEED_API_TOKEN": "example-api-0123456789",
		"HEED_API_TOKEN_NEXT": "example-api-next-0123456789", "HEED_FINGERPRINT_SECRET": "example-fp-0123456789"} {
		t.Setenv(name, v)
	}
	data, err := os.ReadFile("../examples/heed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	for _, key := range []string{"admin_token", "api_tokens", "fingerprint_secret"} {
		if !strings.Contains(src, "\n# "+key+": ") {
			t.Fatalf("the example has no commented %s line", key)
		}
		src = strings.Replace(src, "\n# "+key+": ", "\n"+key+": ", 1)
	}
	c, err := serve.ParseConfig([]byte(src), "heed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminToken != "example-admin-0123456789" || len(c.APITokens) != 2 || c.APITokens[1] != "example-api-next-0123456789" ||
		c.FingerprintSecret != "example-fp-0123456789" {
		t.Errorf("got admin %q, api %q, fingerprint_secret %q, want the variables' values", c.AdminToken, c.APITokens, c.FingerprintSecret)
	}
	c.Listen = "0.0.0.0:8700"
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if _, err := serve.CheckListen(c); err != nil {
		t.Errorf("CheckListen beyond loopback: %v", err)
	}
}

func TestLoadConfigMissing(t *testing.T) {
	t.Parallel()
	_, err := serve.LoadConfig("testdata/no-such-file.yaml")
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(errorLines(err), "heed: read config: ") {
		t.Errorf("got %v, want a heed: read config error wrapping fs.ErrNotExist", err)
	}
}

// errorLines returns err's message, "" for nil.
func errorLines(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprint(err)
}
