package heed_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
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
			Stores:            config.Stores{},
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

// TestRedisDownFailsOpenAndRecovers stops Redis under a Transport: requests
// keep flowing without shared limits, quickly, with a rate-limited warning;
// when Redis is back, the shared cooldown works again.
func TestRedisDownFailsOpenAndRecovers(t *testing.T) {
	t.Parallel()
	srv := testenv.RedisServer(t)
	m, url := newMock(t, mockapi.Config{})
	var logs syncBuffer
	tr, err := heed.New(heed.Config{
		Store:             "redis://" + srv.Addr() + "/0",
		Stores:            config.Stores{},
		FingerprintSecret: "a secret every process shares",
		Logger:            slog.New(slog.NewTextHandler(&logs, nil)),
		Upstreams:         []heed.Upstream{{Name: "mock", BaseURL: url, OnLimit: heed.OnLimitFail, Retry: heed.RetryPolicy{Attempts: 1}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	began := time.Now()
	srv.Stop(t)
	t.Logf("Redis stopped after %v", time.Since(began))
	for range 5 {
		start := time.Now()
		resp, err := doURL(context.Background(), tr, url, "tok")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("with Redis down: %v %v, want 200 (fail open)", resp, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("a request took %v with Redis down, want about the store timeout (250ms) at most", took)
		}
	}
	if n := strings.Count(logs.String(), "store unavailable"); n != 1 {
		t.Errorf("%d store warnings for 5 requests, want 1:\n%s", n, logs.String())
	}
	t.Logf("Redis down: 5 requests answered after %v", time.Since(began))
	srv.Start(t)
	t.Logf("Redis back after %v", time.Since(began))
	deadline := time.Now().Add(10 * time.Second)
	for { // the client reconnects by itself; then a 429 is shared again
		if err := m.Force(mockapi.Force{Credential: "tok", Status: 429, RetryAfter: 30 * time.Second}); err != nil {
			t.Fatal(err)
		}
		_, _ = doURL(context.Background(), tr, url, "tok") // the real 429
		resp, err := doURL(context.Background(), tr, url, "tok")
		if err == nil && resp.Header.Get(heed.SyntheticHeader) == heed.SyntheticCooldown {
			t.Logf("shared cooldown again after %v", time.Since(began))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis back for 10s and no shared cooldown: last %v %v", resp, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRedisDownClosedModeFailsFast: with on_store_error: closed, a request
// fails at once with ErrStoreUnavailable and never reaches the API.
func TestRedisDownClosedModeFailsFast(t *testing.T) {
	t.Parallel()
	srv := testenv.RedisServer(t)
	m, url := newMock(t, mockapi.Config{})
	tr, err := heed.New(heed.Config{
		Store:             "redis://" + srv.Addr() + "/0",
		Stores:            config.Stores{},
		FingerprintSecret: "a secret every process shares",
		OnStoreError:      heed.StoreErrorClosed,
		Upstreams:         []heed.Upstream{{Name: "mock", BaseURL: url}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	srv.Stop(t)
	start := time.Now()
	_, err = doURL(context.Background(), tr, url, "tok")
	if !errors.Is(err, heed.ErrStoreUnavailable) || time.Since(start) > time.Second {
		t.Fatalf("got %v after %v, want ErrStoreUnavailable at once", err, time.Since(start))
	}
	if strings.Contains(err.Error(), "tok") {
		t.Fatalf("the error %q quotes the credential", err)
	}
	if n := m.Stats().Total.Requests; n != 0 {
		t.Fatalf("the API saw %d requests, want none", n)
	}
}

// TestNoCredentialInRedis runs requests with tokens in several places
// through a Transport on a private Redis, with a cooldown and learned paces
// recorded, then reads every key and value back: no token may appear.
func TestNoCredentialInRedis(t *testing.T) {
	t.Parallel()
	addr := testenv.Redis(t)
	m, url := newMock(t, mockapi.Config{Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmFixed, Requests: 100, Per: time.Minute}, Dialect: mockapi.DialectGitHub})
	tr, err := heed.New(heed.Config{
		Store:             "redis://" + addr + "/0",
		Stores:            config.Stores{},
		FingerprintSecret: "a secret every process shares",
		Upstreams:         []heed.Upstream{{Name: "mock", BaseURL: url, OnLimit: heed.OnLimitFail, Retry: heed.RetryPolicy{Attempts: 1}, Concurrency: 4}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	tokens := []string{"ghp_SECRETTOKEN111", "sk-SECRETTOKEN222"}
	for _, tok := range tokens {
		for range 3 { // quota headers: learned paces
			_, _ = doURL(context.Background(), tr, url, tok)
		}
		if err := m.Force(mockapi.Force{Credential: tok, Status: 429, RetryAfter: time.Minute}); err != nil {
			t.Fatal(err)
		}
		_, _ = doURL(context.Background(), tr, url, tok) // a cooldown with replayed headers
	}
	dump := dumpRedis(t, addr)
	for _, tok := range tokens {
		if strings.Contains(dump, tok) || strings.Contains(dump, strings.TrimPrefix(tok, "ghp_")) {
			t.Fatalf("Redis holds the credential %q:\n%s", tok, dump)
		}
	}
	if !strings.Contains(dump, "mock") || !strings.Contains(dump, "cdh") || !strings.Contains(dump, "p:quota:") {
		t.Fatalf("the dump does not show the scopes, cooldowns and paces:\n%s", dump)
	}
}

// dumpRedis returns every key with its hash fields and set members.
func dumpRedis(t *testing.T, addr string) string {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	ctx := context.Background()
	var b strings.Builder
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %v %v\n", k, c.HGetAll(ctx, k).Val(), c.ZRange(ctx, k, 0, -1).Val())
	}
	return b.String()
}
