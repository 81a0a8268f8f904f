package heed_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
)

// TestSnapshot sends requests of two credentials through a Transport over
// the mock API, one of them into a cooldown, and reads the snapshot: the
// limits, both scopes by fingerprint, the quota headers last seen, the
// cooldown, and never a token.
func TestSnapshot(t *testing.T) {
	t.Parallel()
	m, url := newMock(t, mockapi.Config{Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmFixed, Requests: 100, Per: time.Minute}, Dialect: mockapi.DialectGitHub})
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{Name: "mock", BaseURL: url, OnLimit: heed.OnLimitFail,
		Retry: heed.RetryPolicy{Attempts: 1}, Limits: []heed.Limit{{Requests: 50, Per: time.Second, Path: "/items"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	for _, tok := range []string{"ghp_SNAPSHOTONE", "ghp_SNAPSHOTTWO"} {
		if _, err := doURL(context.Background(), tr, url, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Force(mockapi.Force{Credential: "ghp_SNAPSHOTTWO", Status: 429, RetryAfter: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	_, _ = doURL(context.Background(), tr, url, "ghp_SNAPSHOTTWO")

	s := tr.Snapshot(context.Background())
	if len(s.Upstreams) != 1 || s.Store != "memory" {
		t.Fatalf("snapshot %+v, want one upstream on the memory store", s)
	}
	u := s.Upstreams[0]
	if u.Name != "mock" || u.Breaker != heed.BreakerClosed || len(u.Limits) != 1 || u.Limits[0].Requests != 50 || u.Limits[0].Path != "/items" {
		t.Fatalf("upstream %+v", u)
	}
	if len(u.Scopes) != 2 {
		t.Fatalf("scopes %+v, want two", u.Scopes)
	}
	var cooling int
	for _, sc := range u.Scopes {
		if len(sc.Scope) != 8 || sc.InFlight != 0 || len(sc.Quotas) == 0 {
			t.Errorf("scope %+v: want a short fingerprint, nothing in flight, quotas seen", sc)
		}
		if sc.Cooldown != nil {
			cooling++
			if sc.Cooldown.RemainingSeconds < 29 || sc.Cooldown.RemainingSeconds > 30 || sc.Cooldown.Status != 429 {
				t.Errorf("cooldown %+v, want about 30s after a 429", sc.Cooldown)
			}
		}
	}
	if cooling != 1 {
		t.Errorf("%d scopes cooling down, want 1", cooling)
	}
	b, _ := json.Marshal(s)
	if strings.Contains(string(b), "SNAPSHOT") {
		t.Fatalf("the snapshot quotes a token: %s", b)
	}
}

// TestSnapshotCache reads each upstream's cache and coalescing in a
// snapshot: what is configured, its defaults filled in, and nothing for an
// upstream with neither.
func TestSnapshotCache(t *testing.T) {
	t.Parallel()
	no := false
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{
		{Name: "github", BaseURL: "https://api.github.com", Cache: heed.CachePolicy{Enabled: true}, Coalesce: true},
		{Name: "costly", BaseURL: "https://api.example.com", Cache: heed.CachePolicy{Enabled: true, Free304: &no}},
		{Name: "flights", BaseURL: "https://flights.example.com", Coalesce: true},
		{Name: "plain", BaseURL: "https://plain.example.com"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	want := map[string]*heed.CacheState{
		"github":  {Enabled: true, Coalesce: true, Free304: true}, // free_304's default for api.github.com
		"costly":  {Enabled: true},
		"flights": {Coalesce: true},
		"plain":   nil,
	}
	for _, u := range tr.Snapshot(context.Background()).Upstreams {
		got, w := u.Cache, want[u.Name]
		if (got == nil) != (w == nil) || got != nil && *got != *w {
			t.Errorf("%s: cache %+v, want %+v", u.Name, got, w)
		}
	}
	b, _ := json.Marshal(tr.Snapshot(context.Background()).Upstreams[3])
	if strings.Contains(string(b), `"cache"`) {
		t.Errorf("an upstream without a cache: %s, want no cache field", b)
	}
}
