package heed_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/mockapi"
)

// TestRedisStoppedMidRunFallsBackToShare is the fault test of a fleet of
// two processes (two Transports, each with its own Redis client) limited to
// 10 requests a second together. Redis is stopped in the middle of a run:
// requests keep flowing, each Transport at its share (5/s, the limit
// divided by the two live processes its heartbeats counted), so together
// they still keep about 10/s, not 20. Redis comes back: shared limiting
// resumes by itself. Afterwards no goroutine is left behind.
//
// It is not parallel, so that the goroutine count is its own.
func TestRedisStoppedMidRunFallsBackToShare(t *testing.T) {
	srv := testenv.RedisServer(t)
	m, url := newMock(t, mockapi.Config{})
	before := runtime.NumGoroutine()
	const rate = 10
	var recs [2]*recorder
	var trs [2]*heed.Transport
	for i := range trs {
		recs[i] = new(recorder)
		tr, err := heed.New(heed.Config{
			Store:             "redis://" + srv.Addr() + "/0",
			Stores:            config.Stores{},
			FingerprintSecret: "a secret every process shares",
			Metrics:           recs[i],
			Upstreams: []heed.Upstream{{Name: "mock", BaseURL: url, Retry: heed.RetryPolicy{Attempts: 1},
				Limits: []heed.Limit{{Requests: rate, Per: time.Second}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		trs[i] = tr
	}
	// Each Transport counts the other at its next heartbeat, 5s at most.
	waitFor(t, 7*time.Second, "both Transports count two live processes", func() bool {
		for _, r := range recs {
			fs := r.of("FleetSize")
			if len(fs) == 0 || fs[len(fs)-1].v != 2 {
				return false
			}
		}
		return true
	})

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, tr := range trs {
		for range 8 {
			wg.Go(func() {
				for ctx.Err() == nil {
					_, _ = doURL(ctx, tr, url, "tok")
				}
			})
		}
	}
	sent := func() int { return m.Stats().Total.Requests }
	phase := func(name string, d time.Duration, lo, hi int) {
		t.Helper()
		start := sent()
		time.Sleep(d)
		n := sent() - start
		t.Logf("%s: %d requests in %v", name, n, d)
		if n < lo || n > hi {
			t.Errorf("%s: %d requests in %v, want %d to %d", name, n, d, lo, hi)
		}
	}
	phase("Redis up", 3*time.Second, 2*rate, 3*rate+3)
	srv.Stop(t)
	// Down: each at 5/s plus a fresh burst of one; 20/s if each took the
	// whole limit.
	phase("Redis down", 3*time.Second, 2*rate, 3*rate+4)
	srv.Start(t)
	time.Sleep(2 * time.Second) // reconnect: the next try of the shared store succeeds
	phase("Redis back", 3*time.Second, 2*rate, 3*rate+3)
	stop()
	wg.Wait()
	// Shared again: a 429 through one stops the other.
	if err := m.Force(mockapi.Force{Credential: "tok", Status: 429, RetryAfter: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if resp, err := doURL(context.Background(), trs[0], url, "tok"); err != nil || resp.StatusCode != 429 {
		t.Fatalf("forced 429 through the first: %v %v", resp, err)
	}
	short, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if resp, err := doURL(short, trs[1], url, "tok"); err != nil || resp.Header.Get(heed.SyntheticHeader) != heed.SyntheticCooldown {
		t.Fatalf("the second after Redis came back: %v %v, want the shared cooldown", resp, err)
	}

	for i, r := range recs {
		if len(r.of("StoreError")) == 0 {
			t.Errorf("Transport %d reported no store error", i)
		}
	}
	if st := m.Stats().Total; st.Limited != 1 {
		t.Errorf("the API refused %d requests, want only the forced one", st.Limited)
	}
	for _, tr := range trs {
		if err := tr.Close(); err != nil {
			t.Error(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("%d goroutines after, %d before:\n%s", n, before, buf)
	}
}

// waitFor polls cond every 50ms until it holds or d has passed, when it
// fails t naming what it waited for.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
