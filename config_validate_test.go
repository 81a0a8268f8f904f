package heed

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed/store"
	"github.com/heedhq/heed/store/memory"
)

// validConfig returns a minimal valid Config with two upstreams.
func validConfig() Config {
	return Config{Upstreams: []Upstream{
		{Name: "api", BaseURL: "https://api.example.com"},
		{Name: "github", BaseURL: "https://api.github.com", Limits: []Limit{{Requests: 5000, Per: time.Hour}}},
	}}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	const gh = `heed: upstreams[1] "github": `
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string // every problem, in order; none for a valid Config
	}{
		{"Valid", func(c *Config) {}, nil},
		{"ValidZero", func(c *Config) { *c = Config{} }, nil},
		{"ValidEverything", func(c *Config) {
			c.Store, c.Tenant, c.FingerprintSecret = "memory", "Acme-1", "0123456789abcdef"
			c.Upstreams[1] = Upstream{Name: "gh_2.x-y", BaseURL: "http://h:8080/v1/", Concurrency: 4, OnLimit: OnLimitFail,
				Limits:      []Limit{{Requests: 1, Per: time.Second, Burst: 3, Path: "/search/*"}},
				Headroom:    0.49,
				Retry:       RetryPolicy{Attempts: 20, Backoff: "fibonacci", ClientRetryHeaders: []string{"X-Stainless-Retry-Count", "X-Retry-Attempt"}},
				Credentials: CredentialPolicy{Headers: []string{"X-Token"}, Query: []string{"key"}}}
		}, nil},
		{"StoreWithoutOpener", func(c *Config) { c.Store, c.FingerprintSecret = "redis://:hunter2@cache:6379/0", "0123456789abcdef" }, []string{
			`heed: store "redis://REDACTED@cache:6379/0": nothing to open it with: read the config with package config (config.Load or config.Parse), ` +
				`or set Config.Stores (config.Stores{} opens Redis URLs) or Config.StoreImpl`}},
		{"StoreOpenerRefuses", func(c *Config) {
			c.Store, c.FingerprintSecret, c.Stores = "tape://bob:hunter2@drive", "0123456789abcdef", refusingOpener{}
		}, []string{`heed: store "tape://REDACTED@drive": cannot open tapes`}},
		{"StoreOpenerAccepts", func(c *Config) {
			c.Store, c.FingerprintSecret, c.Stores = "tape://drive", "0123456789abcdef", acceptingOpener{}
		}, nil},
		{"StoreImplNeedsNoOpener", func(c *Config) {
			c.Store, c.FingerprintSecret, c.StoreImpl = "redis://cache:6379/0", "0123456789abcdef", memory.New(memory.Options{})
		}, nil},
		{"SharedStoreNeedsSecret", func(c *Config) { c.Store, c.Stores = "tape://drive", acceptingOpener{} }, []string{
			`heed: store "tape://drive": fingerprint_secret is required: every process sharing the store must use the same one`}},
		{"OnStoreError", func(c *Config) { c.OnStoreError = "maybe" }, []string{
			`heed: on_store_error "maybe": want open or closed`}},
		{"ShortSecret", func(c *Config) { c.FingerprintSecret = "hunter2" }, []string{
			`heed: fingerprint_secret must be at least 16 bytes`}},
		{"Tenant", func(c *Config) { c.Tenant = "a/b" }, []string{`heed: tenant "a/b" must match [A-Za-z0-9][A-Za-z0-9_.-]*`}},
		{"NameMissing", func(c *Config) { c.Upstreams[1].Name = "" }, []string{`heed: upstreams[1] "": name is required`}},
		{"NameInvalid", func(c *Config) { c.Upstreams[1].Name = "Git/Hub" }, []string{
			`heed: upstreams[1] "Git/Hub": name must match [a-z0-9][a-z0-9_.-]*`}},
		{"NameLeadingDash", func(c *Config) { c.Upstreams[1].Name = "-gh" }, []string{
			`heed: upstreams[1] "-gh": name must match [a-z0-9][a-z0-9_.-]*`}},
		{"NameDuplicate", func(c *Config) { c.Upstreams[1].Name = "api" }, []string{`heed: upstreams[1] "api": name duplicates upstreams[0]`}},
		{"VendorOpenAI", func(c *Config) { c.Upstreams[1].Vendor = "openai" }, nil},
		{"VendorAnthropic", func(c *Config) { c.Upstreams[1].Vendor = "anthropic" }, nil},
		{"VendorGitHub", func(c *Config) { c.Upstreams[1].Vendor = "github" }, nil},
		{"VendorGeneric", func(c *Config) { c.Upstreams[1].Vendor = "generic" }, nil},
		{"VendorUnknown", func(c *Config) { c.Upstreams[1].Vendor = "OpenAI" }, []string{
			gh + `vendor "OpenAI": want openai, anthropic, github or generic (or none: by the host, or learned from the answers)`}},
		{"PerTenant", func(c *Config) { c.Upstreams[1].Limits[0].PerTenant = true }, nil},
		{"ClientRetryHeadersNone", func(c *Config) { c.Upstreams[1].Retry.ClientRetryHeaders = []string{} }, nil},
		{"ClientRetryHeaderInvalid", func(c *Config) { c.Upstreams[1].Retry.ClientRetryHeaders = []string{"X-Ok", "X Retry", ""} }, []string{
			gh + `retry.client_retry_headers[1] "X Retry" is not a valid header name`,
			gh + `retry.client_retry_headers[2] "" is not a valid header name`}},
		{"BaseURLMissing", func(c *Config) { c.Upstreams[1].BaseURL = "" }, []string{gh + "base_url is required"}},
		{"BaseURLUnparsable", func(c *Config) { c.Upstreams[1].BaseURL = "https://h:port/" }, []string{
			gh + `base_url is not a valid URL: invalid port ":port" after host`}},
		{"BaseURLScheme", func(c *Config) { c.Upstreams[1].BaseURL = "ftp://h" }, []string{gh + "base_url: scheme must be http, https, grpc or grpcs"}},
		{"BaseURLNoScheme", func(c *Config) { c.Upstreams[1].BaseURL = "api.github.com" }, []string{gh + "base_url: scheme must be http, https, grpc or grpcs"}},
		{"BaseURLGRPC", func(c *Config) {
			c.Upstreams[1].BaseURL = "grpc://translate.googleapis.com:443/google.cloud.translation.v3.TranslationService/"
		}, nil},
		{"BaseURLGRPCS", func(c *Config) { c.Upstreams[1].BaseURL = "grpcs://127.0.0.1:50051/" }, nil},
		{"BaseURLGRPCDuplicate", func(c *Config) {
			c.Upstreams[0].BaseURL, c.Upstreams[1].BaseURL = "grpc://h/pkg.Service", "grpcs://h:443/pkg.Service/"
		}, []string{gh + `base_url duplicates upstreams[0] "api"`}},
		{"BaseURLNoHost", func(c *Config) { c.Upstreams[1].BaseURL = "https:///v1" }, []string{gh + "base_url must have a host"}},
		{"BaseURLUserinfo", func(c *Config) { c.Upstreams[1].BaseURL = "https://bob:hunter2@h" }, []string{
			gh + "base_url must not contain user info: credentials belong in the requests"}},
		{"BaseURLQuery", func(c *Config) { c.Upstreams[1].BaseURL = "https://h/?key=hunter2" }, []string{gh + "base_url must not have a query"}},
		{"BaseURLFragment", func(c *Config) { c.Upstreams[1].BaseURL = "https://h/#x" }, []string{gh + "base_url must not have a fragment"}},
		{"BaseURLDuplicate", func(c *Config) { c.Upstreams[1].BaseURL = "https://API.example.com:443/" }, []string{
			gh + `base_url duplicates upstreams[0] "api"`}},
		{"BaseURLOtherPrefix", func(c *Config) { c.Upstreams[1].BaseURL = "https://api.example.com/v1" }, nil},
		{"LimitRequests", func(c *Config) { c.Upstreams[1].Limits[0].Requests = 0 }, []string{
			gh + "limits[0]: requests must be positive (or set one of tokens, input_tokens, output_tokens)"}},
		{"LimitTokensUnpriced", func(c *Config) { c.Upstreams[1].Limits[0] = Limit{Tokens: 90000, Per: time.Minute} }, []string{
			gh + "limits[0]: tokens: the upstream's cost is none, so nothing counts its tokens: set cost: openai or anthropic"}},
		{"LimitTokensPriced", func(c *Config) {
			c.Upstreams[1].Cost = "anthropic"
			c.Upstreams[1].Limits = []Limit{{Requests: 50, Per: time.Minute}, {InputTokens: 20000, Per: time.Minute},
				{OutputTokens: 4000, Per: time.Minute, Burst: 2000}, {Tokens: 90000, Per: time.Minute, Path: "/v1/messages"}}
		}, nil},
		{"LimitTwoKinds", func(c *Config) { c.Upstreams[1].Cost = "openai"; c.Upstreams[1].Limits[0].Tokens = 1000 }, []string{
			gh + "limits[0]: a limit counts one of requests, tokens, input_tokens, output_tokens, not requests and tokens"}},
		{"LimitTokensNegative", func(c *Config) {
			c.Upstreams[1].Cost = "openai"
			c.Upstreams[1].Limits[0] = Limit{OutputTokens: -1, Per: time.Minute}
		}, []string{
			gh + "limits[0]: output_tokens must be positive"}},
		{"DefaultOutputTokens", func(c *Config) { c.Upstreams[1].DefaultOutputTokens = -1 }, []string{gh + "default_output_tokens must not be negative"}},
		{"LimitPer", func(c *Config) { c.Upstreams[1].Limits[0].Per = -time.Second }, []string{gh + "limits[0]: per must be positive"}},
		{"LimitBurst", func(c *Config) { c.Upstreams[1].Limits[0].Burst = -1 }, []string{gh + "limits[0]: burst must not be negative"}},
		{"LimitPathRelative", func(c *Config) { c.Upstreams[1].Limits[0].Path = "search/*" }, []string{
			gh + `limits[0]: path "search/*" must start with "/"`}},
		{"LimitPathPattern", func(c *Config) { c.Upstreams[1].Limits[0].Path = "/search/[" }, []string{
			gh + `limits[0]: path "/search/[" is not a valid pattern`}},
		{"Concurrency", func(c *Config) { c.Upstreams[1].Concurrency = -1 }, []string{gh + "concurrency must not be negative"}},
		{"OnLimit", func(c *Config) { c.Upstreams[1].OnLimit = "queue" }, []string{gh + `on_limit "queue": want wait or fail`}},
		{"MaxWait", func(c *Config) { c.Upstreams[1].MaxWait = -1 }, []string{gh + "max_wait must not be negative"}},
		{"HeadroomNegative", func(c *Config) { c.Upstreams[1].Headroom = -0.1 }, []string{gh + "headroom -0.1 out of range [0, 0.5)"}},
		{"HeadroomHalf", func(c *Config) { c.Upstreams[1].Headroom = 0.5 }, []string{gh + "headroom 0.5 out of range [0, 0.5)"}},
		{"CooldownNegative", func(c *Config) { c.Upstreams[1].Cooldown = CooldownPolicy{Default: -1, Max: -1} }, []string{
			gh + "cooldown.default must not be negative", gh + "cooldown.max must not be negative"}},
		{"CooldownOrder", func(c *Config) { c.Upstreams[1].Cooldown.Default = 2 * time.Hour }, []string{
			gh + "cooldown.default (2h0m0s) must not exceed cooldown.max (1h0m0s)"}},
		{"RetryAttemptsLow", func(c *Config) { c.Upstreams[1].Retry.Attempts = -1 }, []string{
			gh + "retry.attempts -1 out of range [1, 20] (1 means no retry)"}},
		{"RetryAttemptsHigh", func(c *Config) { c.Upstreams[1].Retry.Attempts = 21 }, []string{
			gh + "retry.attempts 21 out of range [1, 20] (1 means no retry)"}},
		{"RetryBackoff", func(c *Config) { c.Upstreams[1].Retry.Backoff = "random" }, []string{
			gh + `retry.backoff "random": want exponential, constant, linear or fibonacci`}},
		{"RetryDurations", func(c *Config) { c.Upstreams[1].Retry = RetryPolicy{Base: -1, Max: -2, MaxElapsed: -3} }, []string{
			gh + "retry.base must not be negative", gh + "retry.max must not be negative", gh + "retry.max_elapsed must not be negative"}},
		{"RetryBaseOverMax", func(c *Config) { c.Upstreams[1].Retry.Base = time.Minute }, []string{
			gh + "retry.base (1m0s) must not exceed retry.max (30s)"}},
		{"Breaker", func(c *Config) {
			c.Upstreams[1].Breaker = BreakerPolicy{Failures: -1, OpenFor: -1, Probes: -1, Disabled: true}
		}, []string{
			gh + "breaker.failures must not be negative", gh + "breaker.open_for must not be negative", gh + "breaker.probes must not be negative"}},
		{"CredentialHeader", func(c *Config) { c.Upstreams[1].Credentials.Headers = []string{"X-Ok", "X Bad"} }, []string{
			gh + `credentials.headers[1] "X Bad" is not a valid header name`}},
		{"CredentialQuery", func(c *Config) { c.Upstreams[1].Credentials.Query = []string{""} }, []string{
			gh + "credentials.query[0] must not be empty"}},
		{"SeveralUpstreams", func(c *Config) {
			c.Upstreams[0].Limits = []Limit{{Requests: 1}}
			c.Upstreams[1].OnLimit = "never"
		}, []string{`heed: upstreams[0] "api": limits[0]: per must be positive`, gh + `on_limit "never": want wait or fail`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.change(&c)
			err := c.Validate()
			if got, want := errorLines(err), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			for _, secret := range []string{"hunter2", "bob"} {
				if strings.Contains(errorLines(err), secret) {
					t.Errorf("got %q, which contains a credential", err)
				}
			}
		})
	}
}

func TestValidateKeepsReceiver(t *testing.T) {
	t.Parallel()
	c := validConfig()
	_ = c.Validate()
	if c.Store != "" || c.Upstreams[1].Limits[0].Burst != 0 || c.Upstreams[0].Adaptive != nil {
		t.Errorf("got %+v after Validate, want the receiver unchanged", c)
	}
}

// acceptingOpener accepts every store name.
type acceptingOpener struct{}

func (acceptingOpener) Check(string) error               { return nil }
func (acceptingOpener) Open(string) (store.Store, error) { return memory.New(memory.Options{}), nil }

// refusingOpener refuses every store name.
type refusingOpener struct{}

func (refusingOpener) Check(string) error { return errors.New("cannot open tapes") }
func (refusingOpener) Open(string) (store.Store, error) {
	return nil, errors.New("cannot open tapes")
}

// errorLines returns err's message, "" for nil.
func errorLines(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
