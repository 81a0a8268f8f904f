package heed_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/mockapi"
)

// fleetTransport is one process of a fleet on the Redis at addr, whose
// requests wait (heed.OnLimitWait) or are answered at once
// (heed.OnLimitFail) while the credential cools down.
func fleetTransport(t *testing.T, addr, url string, onLimit heed.OnLimit) *heed.Transport {
	t.Helper()
	tr, err := heed.New(heed.Config{
		Store: "redis://" + addr + "/0", Stores: config.Stores{}, FingerprintSecret: "a secret every process shares",
		Upstreams: []heed.Upstream{{Name: "mock", BaseURL: url, OnLimit: onLimit, Retry: heed.RetryPolicy{Attempts: 1}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// hammerUntil runs 8 workers that send requests of tok through tr until
// stop is closed.
func hammerUntil(tr *heed.Transport, url string, stop <-chan struct{}) *sync.WaitGroup {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-stop; cancel() }()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if resp, err := doURL(ctx, tr, url, "tok"); err == nil && resp.StatusCode >= 500 {
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	return &wg
}

// TestCooldownRecordedDuringAnOutageIsWrittenBack: Redis is stopped; the
// API asks the credential to wait 6s; the process keeps to it from its
// fallback; Redis comes back empty (a restart without persistence), and
// the process writes the cooldown back before it shares again, so that a
// process that starts only then keeps to it too. No request reaches the
// API inside the wait (before this, 55 did inside a Retry-After of 10s).
func TestCooldownRecordedDuringAnOutageIsWrittenBack(t *testing.T) {
	t.Parallel()
	srv := testenv.RedisServer(t)
	m, url := newMock(t, mockapi.Config{})
	a := fleetTransport(t, srv.Addr(), url, heed.OnLimitWait)
	stop := make(chan struct{})
	var hammers []*sync.WaitGroup
	defer func() {
		close(stop)
		for _, wg := range hammers {
			wg.Wait()
		}
	}()
	hammers = append(hammers, hammerUntil(a, url, stop))
	time.Sleep(300 * time.Millisecond)

	srv.Stop(t)
	time.Sleep(300 * time.Millisecond) // the process notices
	if err := m.Force(mockapi.Force{Credential: "tok", Status: 429, RetryAfter: 6 * time.Second}); err != nil {
		t.Fatal(err)
	}
	forcedAt := time.Now()
	waitFor(t, 2*time.Second, "the forced 429 to be answered", func() bool { return m.Stats().Total.Limited >= 1 })
	// Requests that the 8 workers had sent before the 429 came back arrive
	// inside the wait; from here on heed knows, and none may.
	time.Sleep(200 * time.Millisecond)
	inFlight := m.Stats().Total.DuringWait
	time.Sleep(300 * time.Millisecond)
	srv.Start(t) // empty
	waitFor(t, 4*time.Second, "the process to share again", func() bool { return !a.Snapshot(context.Background()).StoreDown })
	t.Logf("sharing again %v after the 429", time.Since(forcedAt))
	if time.Since(forcedAt) > 5*time.Second {
		t.Skipf("Redis came back after the wait had ended (%v): the machine is too slow for this test's timing", time.Since(forcedAt))
	}
	before := m.Stats().Total.DuringWait
	b := fleetTransport(t, srv.Addr(), url, heed.OnLimitWait) // a process that never saw the 429
	hammers = append(hammers, hammerUntil(b, url, stop))
	time.Sleep(time.Until(forcedAt.Add(7 * time.Second)))
	st := m.Stats().Total
	t.Logf("the API saw %d requests, %d refused; inside the declared wait: %d already on their way when the 429 came back, %d by the time B started, %d at the end",
		st.Requests, st.Limited, inFlight, before, st.DuringWait)
	if st.DuringWait != inFlight || st.Limited != 1 {
		t.Errorf("%d requests inside the wait after heed knew of it, %d refused; want 0 and only the forced one", st.DuringWait-inFlight, st.Limited)
	}
	if st.Accepted == 0 {
		t.Error("no request went through after the wait")
	}
}

// TestCooldownKnownFromRedisBindsWhenRedisDies: one process records the
// API's 4s wait in Redis; another process, whose callers ask again and
// again (on_limit: fail), learns of it only from Redis, and keeps to it
// after Redis dies during the wait (before this, 30 requests went out
// inside a Retry-After of 6s).
func TestCooldownKnownFromRedisBindsWhenRedisDies(t *testing.T) {
	t.Parallel()
	srv := testenv.RedisServer(t)
	m, url := newMock(t, mockapi.Config{})
	a, b := fleetTransport(t, srv.Addr(), url, heed.OnLimitWait), fleetTransport(t, srv.Addr(), url, heed.OnLimitFail)
	if err := m.Force(mockapi.Force{Credential: "tok", Status: 429, RetryAfter: 4 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if resp, err := doURL(context.Background(), a, url, "tok"); err != nil || resp.StatusCode != 429 {
		t.Fatalf("through A: %v %v, want the forced 429", resp, err)
	}
	forcedAt := time.Now()
	stop := make(chan struct{})
	wg := hammerUntil(b, url, stop) // B waits on the cooldown it reads from Redis
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(500 * time.Millisecond)
	srv.Stop(t)
	time.Sleep(time.Until(forcedAt.Add(5 * time.Second)))
	st := m.Stats().Total
	t.Logf("the API saw %d requests, %d refused, %d inside the declared wait", st.Requests, st.Limited, st.DuringWait)
	if st.DuringWait != 0 || st.Limited != 1 {
		t.Errorf("%d requests inside the wait and %d refused, want 0 and only the forced one", st.DuringWait, st.Limited)
	}
	if st.Accepted == 0 {
		t.Error("no request went through after the wait, with Redis down (fail open)")
	}
}
