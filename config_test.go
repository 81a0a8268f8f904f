package heed

import (
	"net/url"
	"reflect"
	"testing"
	"time"
)

// defaultUpstream is an upstream named name with every default filled in.
func defaultUpstream(name string) Upstream {
	return Upstream{
		Name:     name,
		OnLimit:  OnLimitWait,
		MaxWait:  2 * time.Minute,
		Headroom: 0.02,
		Cooldown: CooldownPolicy{Default: 5 * time.Second, Max: time.Hour},
		Retry: RetryPolicy{Attempts: 4, Backoff: "exponential", Base: 250 * time.Millisecond,
			Max: 30 * time.Second, MaxElapsed: 2 * time.Minute, ClientRetryHeaders: []string{"X-Stainless-Retry-Count"}},
		Breaker:  BreakerPolicy{Failures: 5, OpenFor: 30 * time.Second, Probes: 1},
		Adaptive: ptr(true),
		Cache:    CachePolicy{MaxBytes: 64 << 20, MaxEntryBytes: 1 << 20, Free304: ptr(false)},
	}
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	explicit := Upstream{
		Name: "x", Vendor: "openai", Concurrency: 3, OnLimit: OnLimitFail, MaxWait: time.Second, Headroom: 0.1,
		Limits:   []Limit{{Requests: 1, Per: time.Second}, {Requests: 2, Per: time.Minute, Burst: 5, PerTenant: true}},
		Cooldown: CooldownPolicy{Default: time.Second, Max: time.Minute},
		Retry: RetryPolicy{Attempts: 1, Backoff: "constant", Base: time.Second, Max: 2 * time.Second,
			MaxElapsed: time.Minute, NonIdempotent: true, ClientRetryHeaders: []string{}},
		Breaker:     BreakerPolicy{Failures: 2, OpenFor: time.Second, Probes: 3, Disabled: true},
		Adaptive:    ptr(false),
		Credentials: CredentialPolicy{Headers: []string{"X-T"}, Query: []string{"k"}},
	}
	wantExplicit := explicit
	wantExplicit.Limits = []Limit{{Requests: 1, Per: time.Second, Burst: 1}, {Requests: 2, Per: time.Minute, Burst: 5, PerTenant: true}}
	wantExplicit.Cache = CachePolicy{MaxBytes: 64 << 20, MaxEntryBytes: 1 << 20, Free304: ptr(false)}
	tests := []struct {
		name string
		in   Config
		want Config
	}{
		{"Zero", Config{}, Config{Store: "memory", OnStoreError: StoreErrorOpen, ForgetAfter: 10 * time.Minute}},
		{"ZeroUpstream", Config{Upstreams: []Upstream{{Name: "a"}}},
			Config{Store: "memory", OnStoreError: StoreErrorOpen, ForgetAfter: 10 * time.Minute, Upstreams: []Upstream{defaultUpstream("a")}}},
		{"ExplicitKept", Config{Store: "memory", OnStoreError: StoreErrorClosed, Tenant: "t", FingerprintSecret: "s", ForgetAfter: time.Minute, Upstreams: []Upstream{explicit}},
			Config{Store: "memory", OnStoreError: StoreErrorClosed, Tenant: "t", FingerprintSecret: "s", ForgetAfter: time.Minute, Upstreams: []Upstream{wantExplicit}}},
		{"OtherStoreKept", Config{Store: "redis://localhost"}, Config{Store: "redis://localhost", OnStoreError: StoreErrorOpen, ForgetAfter: 10 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.in.WithDefaults()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if again := got.WithDefaults(); !reflect.DeepEqual(again, got) {
				t.Errorf("second WithDefaults: got %+v, want %+v", again, got)
			}
			for i, u := range got.Upstreams {
				if in := tt.in.Upstreams[i].Retry.ClientRetryHeaders; in != nil && len(in) == 0 && u.Retry.ClientRetryHeaders == nil {
					t.Errorf("upstreams[%d]: an empty client_retry_headers became nil, which means the default", i)
				}
			}
		})
	}
}

func TestWithDefaultsDoesNotShare(t *testing.T) {
	t.Parallel()
	adaptive := false
	in := Config{Upstreams: []Upstream{{
		Name:        "a",
		Limits:      []Limit{{Requests: 1, Per: time.Second}},
		Retry:       RetryPolicy{ClientRetryHeaders: []string{"X-Retry"}},
		Adaptive:    &adaptive,
		Credentials: CredentialPolicy{Headers: []string{"X-T"}, Query: []string{"k"}},
	}}}
	out := in.WithDefaults()
	out.Upstreams[0].Name = "changed"
	out.Upstreams[0].Limits[0].Requests = 99
	*out.Upstreams[0].Adaptive = true
	out.Upstreams[0].Credentials.Headers[0] = "changed"
	out.Upstreams[0].Credentials.Query[0] = "changed"
	out.Upstreams[0].Retry.ClientRetryHeaders[0] = "changed"
	u := in.Upstreams[0]
	if u.Name != "a" || u.Limits[0] != (Limit{Requests: 1, Per: time.Second}) || adaptive ||
		u.Credentials.Headers[0] != "X-T" || u.Credentials.Query[0] != "k" || u.Retry.ClientRetryHeaders[0] != "X-Retry" {
		t.Errorf("got receiver %+v after changing the copy, want it unchanged", u)
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	c := Config{Upstreams: []Upstream{
		{Name: "github", BaseURL: "https://api.github.com"},
		{Name: "openai", BaseURL: "https://api.openai.com/v1/"},
		{Name: "openai-files", BaseURL: "https://api.openai.com/v1/files"},
		{Name: "local", BaseURL: "http://LOCALHOST:8080/api"},
		{Name: "plain", BaseURL: "http://example.com:80"},
		{Name: "v6", BaseURL: "https://[2001:db8::1]:443/"},
		{Name: "broken", BaseURL: "https://user:pw@broken.example.com"},
		{Name: "translate", BaseURL: "grpc://translate.googleapis.com:443/google.cloud.translation.v3.TranslationService/"},
		{Name: "health", BaseURL: "grpcs://127.0.0.1:50051/grpc.health.v1.Health"},
	}}
	tests := []struct {
		url    string
		want   int
		wantOK bool
	}{
		{"https://api.github.com/repos/x/y", 0, true},
		{"https://api.github.com", 0, true},
		{"https://API.GitHub.COM:443/user", 0, true},
		{"https://api.github.com./user", 0, true},
		{"http://api.github.com/user", 0, false},
		{"https://api.github.com:8443/user", 0, false},
		{"https://uploads.github.com/x", 0, false},
		{"https://api.openai.com/v1", 1, true},
		{"https://api.openai.com/v1/", 1, true},
		{"https://api.openai.com/v1/chat/completions", 1, true},
		{"https://api.openai.com/v10/chat", 0, false},
		{"https://api.openai.com/", 0, false},
		{"https://api.openai.com/v1/files", 2, true},
		{"https://api.openai.com/v1/files/abc", 2, true},
		{"https://api.openai.com/v1/filesystem", 1, true},
		{"http://localhost:8080/api/x", 3, true},
		{"http://localhost/api/x", 0, false},
		{"http://example.com/x", 4, true},
		{"https://[2001:DB8::1]/x", 5, true},
		{"https://broken.example.com/", 0, false},
		{"/relative/only", 0, false},
		{"grpc://translate.googleapis.com/google.cloud.translation.v3.TranslationService/TranslateText", 7, true},
		{"grpc://translate.googleapis.com:443/google.cloud.translation.v3.TranslationService/TranslateText", 7, true},
		{"grpcs://Translate.GoogleAPIs.com/google.cloud.translation.v3.TranslationService/TranslateText", 7, true},
		{"grpc://translate.googleapis.com/google.cloud.translation.v3.TranslationServiceBeta/TranslateText", 0, false},
		{"grpc://translate.googleapis.com:8443/google.cloud.translation.v3.TranslationService/TranslateText", 0, false},
		{"https://translate.googleapis.com/google.cloud.translation.v3.TranslationService/TranslateText", 0, false},
		{"grpc://127.0.0.1:50051/grpc.health.v1.Health/Check", 8, true},
		{"grpc://127.0.0.1/grpc.health.v1.Health/Check", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := c.Match(u)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("got (%d, %v), want (%d, %v)", got, ok, tt.want, tt.wantOK)
			}
		})
	}
	t.Run("Nil", func(t *testing.T) {
		t.Parallel()
		if i, ok := c.Match(nil); ok {
			t.Errorf("got (%d, true), want (0, false)", i)
		}
	})
}

func TestLimitMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		path    string
		want    bool
	}{
		{"", "/anything", true},
		{"", "", true},
		{"/search/*", "/search/code", true},
		{"/search/*", "/search/code/deeper/still", true},
		{"/search/*", "/search/", true},
		{"/search/*", "/search", false},
		{"/search/*", "/searching/code", false},
		{"/search/*", "/api/search/code", false},
		{"/search", "/search", true},
		{"/search", "/search/code", false},
		{"/repos/*/*/issues", "/repos/a/b/issues", true},
		{"/repos/*/*/issues", "/repos/a/b/c/issues", false},
		{"/repos/*/*/issues/*", "/repos/a/b/issues/1/comments", true},
		{"/repos/*/*/issues/*", "/repos/a/issues/1", false},
		{"/v1/chat/completion?", "/v1/chat/completions", true},
		{"/v[12]/*", "/v2/x", true},
		{"/*", "/x/y", true},
		{"/*", "", false},
		{"/bad[", "/bad[", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"|"+tt.path, func(t *testing.T) {
			t.Parallel()
			if got := (Limit{Path: tt.pattern}).Matches(tt.path); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
