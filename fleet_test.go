package heed_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/mockapi"
)

// TestTwoTransportsShareACooldownThroughRedis stands for two processes of a
// fleet: two Transports, each with its own connections, on one private
// redis-server. A 429 seen by one stops the other for that credential.
func TestTwoTransportsShareACooldownThroughRedis(t *testing.T) {
	t.Parallel()
	addr := testenv.Redis(t)
	m, url := newMock(t, mockapi.Config{})
	newFleetClient := func() *heed.Transport {
		tr, err := heed.New(heed.Config{
			Store:             "redis://" + addr + "/0?prefix=fleettest:",
			FingerprintSecret: "a secret every process shares",
			Upstreams:         []heed.Upstream{{Name: "mock", BaseURL: url, OnLimit: heed.OnLimitFail, Retry: heed.RetryPolicy{Attempts: 1}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		return tr
	}
	a, b := newFleetClient(), newFleetClient()
	if err := m.Force(mockapi.Force{Credential: "tok", Status: 429, RetryAfter: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if resp, err := doURL(context.Background(), a, url, "tok"); err != nil || resp.StatusCode != 429 {
		t.Fatalf("through A: %v %v, want the real 429", resp, err)
	}
	resp, err := doURL(context.Background(), b, url, "tok")
	if err != nil || resp.Header.Get(heed.SyntheticHeader) != heed.SyntheticCooldown {
		t.Fatalf("through B: %v %v, want B to know of A's cooldown", resp, err)
	}
	if resp, _ := doURL(context.Background(), b, url, "other"); resp.StatusCode != 200 {
		t.Fatalf("another credential through B: got %d, want 200", resp.StatusCode)
	}
	if n := m.Stats().Credentials[mockapi.CredID("tok")].Requests; n != 1 {
		t.Fatalf("the mock saw %d requests of tok, want 1", n)
	}
}

// doURL sends a GET of base+"/items" with a bearer token through rt and
// drains the answer.
func doURL(ctx context.Context, rt http.RoundTripper, base, token string) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/items", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := rt.RoundTrip(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	return resp, err
}
