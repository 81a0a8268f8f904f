package heed_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heedhq/heed"
)

// getAs sends a GET of https://api.test/items with token, as tenant (""
// for none), through rt, and returns the Heed-Synthetic kind ("" for a
// real answer) and the status.
func getAs(t *testing.T, rt http.RoundTripper, tenant, token string) (string, int) {
	t.Helper()
	ctx := context.Background()
	if tenant != "" {
		ctx = heed.WithTenant(ctx, tenant)
	}
	resp, err := do(ctx, rt, token)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get(heed.SyntheticHeader), resp.StatusCode
}

// TestTenantsShareACredentialsCooldown: one Transport serves two tenants
// through one credential. A per-tenant limit counts each tenant apart, a
// shared one counts them together, and a cooldown of the credential binds
// both tenants, but not another credential.
func TestTenantsShareACredentialsCooldown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &scripted{answers: []answer{{status: 200}}}
		tr := transport(t, api, heed.Upstream{OnLimit: heed.OnLimitFail, MaxWait: time.Millisecond, Limits: []heed.Limit{
			{Requests: 2, Per: time.Minute, Burst: 2, PerTenant: true},
			{Requests: 3, Per: time.Minute, Burst: 3},
		}}, nil)
		steps := []struct {
			tenant, token, want string
		}{
			{"acme", "tok", ""},
			{"acme", "tok", ""},
			{"acme", "tok", heed.SyntheticLimit},   // acme's own limit: 2
			{"globex", "tok", ""},                  // globex counts apart: its first
			{"globex", "tok", heed.SyntheticLimit}, // the credential's shared limit: 3 in all
			{"globex", "other", ""},                // another credential has its own
		}
		for i, s := range steps {
			if got, _ := getAs(t, tr, s.tenant, s.token); got != s.want {
				t.Fatalf("step %d (%s, %s): got %q, want %q", i, s.tenant, s.token, got, s.want)
			}
		}
	})
	synctest.Test(t, func(t *testing.T) {
		api := &scripted{answers: []answer{{status: 429, header: h("Retry-After", "30")}, {status: 200}}}
		tr := transport(t, api, heed.Upstream{OnLimit: heed.OnLimitFail, Retry: heed.RetryPolicy{Attempts: 1}}, nil)
		if got, status := getAs(t, tr, "acme", "tok"); got != "" || status != 429 {
			t.Fatalf("acme: got %q %d, want the API's 429", got, status)
		}
		if got, _ := getAs(t, tr, "globex", "tok"); got != heed.SyntheticCooldown {
			t.Fatalf("globex with the same credential: got %q, want the credential's cooldown", got)
		}
		if got, status := getAs(t, tr, "globex", "other"); got != "" || status != 200 {
			t.Fatalf("another credential: got %q %d, want it sent", got, status)
		}
		if n := len(api.times()); n != 2 {
			t.Fatalf("the API saw %d requests, want 2", n)
		}
	})
}

// TestWithUpstreamPicksTheNamedPolicy: two upstreams on one host, one
// below the other's prefix. A request under both goes to the longer
// prefix, unless it names the other.
func TestWithUpstreamPicksTheNamedPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &scripted{answers: []answer{{status: 429, header: h("Retry-After", "30")}}}
		tr, err := heed.New(heed.Config{Base: api, Upstreams: []heed.Upstream{
			{Name: "wait", BaseURL: "https://api.test", MaxWait: time.Minute, Retry: heed.RetryPolicy{Attempts: 1}},
			{Name: "fail", BaseURL: "https://api.test/items", OnLimit: heed.OnLimitFail, Retry: heed.RetryPolicy{Attempts: 1}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		if _, err := do(context.Background(), tr, "tok"); err != nil { // a 429: both scopes of tok learn nothing of each other
			t.Fatal(err)
		}
		// Named "wait", the next request waits out the cooldown that its
		// own policy recorded; matched by URL it would have been "fail"'s.
		start := time.Now()
		resp, err := do(heed.WithUpstream(context.Background(), "wait"), tr, "tok")
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get(heed.SyntheticHeader) != "" || time.Since(start) != 0 {
			t.Fatalf("named wait: synthetic %q after %v, want the API's answer at once (wait's scope has no cooldown yet)",
				resp.Header.Get(heed.SyntheticHeader), time.Since(start))
		}
		if resp, _ := do(context.Background(), tr, "tok"); resp.Header.Get(heed.SyntheticHeader) != heed.SyntheticCooldown {
			t.Fatalf("matched by URL: got %q, want fail's synthetic cooldown", resp.Header.Get(heed.SyntheticHeader))
		}
		for _, name := range []string{"nope", "fail"} {
			req, _ := http.NewRequestWithContext(heed.WithUpstream(context.Background(), name), http.MethodGet, "https://api.test/other", nil)
			if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("named %q for a URL it does not cover: err %v, want an error naming it", name, err)
			}
		}
	})
}

func TestValidTenant(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"acme", true}, {"Acme-2.eu_west", true}, {strings.Repeat("a", heed.MaxTenantLen), true},
		{"", false}, {"-acme", false}, {"a/b", false}, {"a b", false}, {strings.Repeat("a", heed.MaxTenantLen+1), false},
	} {
		if got := heed.ValidTenant(tt.s); got != tt.want {
			t.Errorf("ValidTenant(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
