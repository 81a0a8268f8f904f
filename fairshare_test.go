package heed_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heedhq/heed"
)

// These tests run in synctest bubbles: the limit's arithmetic and every
// wait pass on the bubble's clock, so shares come out exactly;
// fairshare_integration_test.go runs the scenarios over loopback.

// fairUpstream is a limit of 20 requests a second shared by interactive
// (share 3) and batch (share 1), flows by tenant.
func fairUpstream() heed.Upstream {
	return heed.Upstream{
		Limits:  []heed.Limit{{Requests: 20, Per: time.Second}},
		MaxWait: time.Minute,
		Fairness: &heed.FairnessPolicy{Priorities: []heed.Priority{{Name: "interactive", Share: 3}, {Name: "batch", Share: 1}},
			DefaultPriority: "interactive"},
	}
}

// okServer answers every request 200.
var okServer = handlerTransport{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}

// fairGet sends a GET of tenant and class through rt and returns its status.
func fairGet(t *testing.T, ctx context.Context, rt http.RoundTripper, tenant, class string) int {
	t.Helper()
	ctx = heed.WithPriority(heed.WithTenant(ctx, tenant), class)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.test/x", nil)
	req.Header.Set("Authorization", "Bearer shared-key")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		t.Errorf("%s/%s: %v", tenant, class, err)
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// loop sends requests of tenant and class from workers goroutines until ctx
// ends, counting those answered 200 in n.
func loop(t *testing.T, ctx context.Context, wg *sync.WaitGroup, rt http.RoundTripper, workers int, tenant, class string, n *atomic.Int64) {
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if fairGet(t, ctx, rt, tenant, class) == http.StatusOK {
					n.Add(1)
				} else { // refused at once near the end (its deadline is the context's)
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
}

func TestFairLightTenantWaitsLittleBesideHeavy(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		tr := transport(t, okServer, fairUpstream(), nil)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		var heavy atomic.Int64
		loop(t, ctx, &wg, tr, 32, "heavy", "", &heavy)
		var waits []time.Duration
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				if fairGet(t, ctx, tr, "light", "") == http.StatusOK {
					waits = append(waits, time.Since(start))
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
		wg.Wait()
		slices.Sort(waits)
		total := heavy.Load() + int64(len(waits))
		t.Logf("heavy %d, light %d, light's median wait %v, longest %v", heavy.Load(), len(waits), waits[len(waits)/2], waits[len(waits)-1])
		// At 20/s, one request every 50 ms: the light tenant goes next
		// whenever it asks, so waits at most one interval.
		if med := waits[len(waits)/2]; med > 100*time.Millisecond {
			t.Errorf("light tenant's median wait %v, want at most 2 intervals (100ms)", med)
		}
		if len(waits) < 35 {
			t.Errorf("light tenant got %d requests in 10s, want about 38 (one each 200ms plus its waits)", len(waits))
		}
		if total < 188 || total > 193 { // one each 52.3ms (see TestFairClassesShareThreeToOne)
			t.Errorf("%d admitted in 10s, want the whole limit (191)", total)
		}
	})
}

func TestFairClassesShareThreeToOne(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		tr := transport(t, okServer, fairUpstream(), nil)
		var wg sync.WaitGroup
		var interactive, batch atomic.Int64
		batchCtx, stopBatch := context.WithCancel(t.Context())
		defer stopBatch()
		both, stopInteractive := context.WithTimeout(t.Context(), 20*time.Second)
		defer stopInteractive()
		loop(t, both, &wg, tr, 8, "acme", "interactive", &interactive)
		loop(t, batchCtx, &wg, tr, 8, "acme", "batch", &batch)
		<-both.Done()
		i, b := interactive.Load(), batch.Load()
		t.Logf("while both want it: interactive %d, batch %d", i, b)
		// 20/s paced with 2% headroom and 25ms of jitter per second: one
		// each 52.3ms, 382 in 20s; 3:1 of them, give or take one each
		// (SFQ's bound) and those in flight when the time ran out.
		if i+b < 378 || i+b > 384 || i < 3*b-6 || i > 3*b+6 {
			t.Errorf("interactive %d, batch %d: want 3:1 of 382 (20/s less headroom, for 20s)", i, b)
		}
		time.Sleep(10 * time.Second)
		stopBatch()
		wg.Wait()
		alone := batch.Load() - b
		t.Logf("batch alone for 10s: %d", alone)
		if alone < 188 || alone > 193 {
			t.Errorf("batch alone got %d in 10s, want the whole limit (191)", alone)
		}
	})
}

func TestFairFloodOnlyDelaysItself(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		up := fairUpstream()
		up.Fairness.MaxQueue = 4
		tr := transport(t, okServer, up, nil)
		var wg sync.WaitGroup
		var refused, ok atomic.Int64
		for range 12 {
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(heed.WithTenant(t.Context(), "flood"), http.MethodGet, "https://api.test/x", nil)
				req.Header.Set("Authorization", "Bearer shared-key")
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Error(err)
					return
				}
				_ = resp.Body.Close()
				if resp.Header.Get(heed.SyntheticHeader) == "limit" {
					refused.Add(1)
					if resp.Header.Get("Retry-After") == "" {
						t.Error("a refusal for a full queue has no Retry-After")
					}
				} else {
					ok.Add(1)
				}
			})
		}
		synctest.Wait() // every flooding request is in (one head, four queued, the rest refused)
		start := time.Now()
		if s := fairGet(t, t.Context(), tr, "calm", ""); s != http.StatusOK {
			t.Errorf("the calm tenant's request: %d", s)
		}
		// SFQ's bound: the head already asking, then at most one request
		// of each other flow before the calm one: 3 intervals of 50ms.
		if d := time.Since(start); d > 160*time.Millisecond { // 52.3ms each, with headroom and jitter
			t.Errorf("the calm tenant waited %v behind a flood, want at most 3 intervals (about 157ms)", d)
		}
		wg.Wait()
		// One goes at once; then one head and four queued wait; the rest
		// are refused at once (one more goes at once when the first was
		// done before the others came).
		if r := refused.Load(); r < 6 || r > 7 || r+ok.Load() != 12 {
			t.Errorf("flood: %d refused, %d let go; want 6 or 7 refused at once (beyond the head and a queue of 4)", r, ok.Load())
		}
	})
}

func TestFairUnknownPriority(t *testing.T) {
	t.Parallel()
	tr := transport(t, okServer, fairUpstream(), nil)
	req, _ := http.NewRequestWithContext(heed.WithPriority(t.Context(), "urgent"), http.MethodGet, "https://api.test/x", nil)
	_, err := tr.RoundTrip(req)
	if !errors.Is(err, heed.ErrUnknownPriority) {
		t.Fatalf("RoundTrip of class urgent: %v, want ErrUnknownPriority", err)
	}
	t.Log(err)
	// A job's priority stands for a class: 1 the first, 2 and on the second.
	for _, p := range []string{"1", "2", "4"} {
		req, _ := http.NewRequestWithContext(heed.WithPriority(t.Context(), p), http.MethodGet, "https://api.test/x", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("priority %s: %v", p, err)
		}
		_ = resp.Body.Close()
	}
}

func TestFairWaiterRefusedAtItsDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		up := fairUpstream()
		up.Limits = []heed.Limit{{Requests: 1, Per: time.Second}}
		tr := transport(t, okServer, up, nil)
		var wg sync.WaitGroup
		for range 4 { // one goes, three wait up to a minute
			wg.Go(func() { fairGet(t, t.Context(), tr, "a", "") })
		}
		synctest.Wait()
		start := time.Now()
		req, _ := http.NewRequestWithContext(heed.WithMaxWait(heed.WithTenant(t.Context(), "a"), 1500*time.Millisecond), http.MethodGet, "https://api.test/x", nil)
		req.Header.Set("Authorization", "Bearer shared-key")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		waited := time.Since(start)
		if resp.Header.Get(heed.SyntheticHeader) != "limit" || waited > 1500*time.Millisecond {
			t.Fatalf("a request behind three of its flow with 1.5s to wait: %d %q after %v, want a synthetic limit answer by its deadline",
				resp.StatusCode, resp.Header.Get(heed.SyntheticHeader), waited)
		}
		ra, err := time.ParseDuration(resp.Header.Get("Retry-After") + "s")
		if err != nil || ra < time.Second {
			t.Errorf("Retry-After %q, want the time until its turn (at least a second)", resp.Header.Get("Retry-After"))
		}
		wg.Wait()
	})
}

func TestFairWaiterRefusedAtOnceWhenTheHeadWaitsPastIt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		up := fairUpstream()
		up.Limits = []heed.Limit{{Requests: 1, Per: time.Minute}}
		up.MaxWait = 5 * time.Minute
		tr := transport(t, okServer, up, nil)
		var wg sync.WaitGroup
		fairGet(t, t.Context(), tr, "a", "") // the minute's one
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		wg.Go(func() { fairGet(t, ctx, tr, "a", "") }) // the head: told to wait a minute
		synctest.Wait()
		start := time.Now()
		req, _ := http.NewRequestWithContext(heed.WithMaxWait(heed.WithTenant(t.Context(), "b"), 2*time.Second), http.MethodGet, "https://api.test/x", nil)
		req.Header.Set("Authorization", "Bearer shared-key")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.Header.Get(heed.SyntheticHeader) != "limit" || time.Since(start) != 0 {
			t.Errorf("a request with 2s to wait behind a head told to wait a minute: %q after %v, want a synthetic limit answer at once",
				resp.Header.Get(heed.SyntheticHeader), time.Since(start))
		}
		if ra := resp.Header.Get("Retry-After"); ra < "50" || len(ra) != 2 {
			t.Errorf("Retry-After %q, want the head's wait (about 60s)", ra)
		}
		cancel()
		wg.Wait()
	})
}
