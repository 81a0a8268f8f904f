package heed_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heedhq/heed"
)

// TestFairFlowsByHeader: with by: header:X-Customer, the header's values
// are the flows: a customer of one worker beside one of eight gets an
// equal share while both want more than half.
func TestFairFlowsByHeader(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		up := fairUpstream()
		up.Fairness = &heed.FairnessPolicy{By: "header:X-Customer"}
		tr := transport(t, okServer, up, nil)
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		var counts [2]atomic.Int64
		for i, workers := range []int{8, 2} {
			for range workers {
				wg.Go(func() {
					for ctx.Err() == nil {
						req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.test/x", nil)
						req.Header.Set("Authorization", "Bearer shared-key")
						req.Header.Set("X-Customer", []string{"big", "small"}[i])
						resp, err := tr.RoundTrip(req)
						if err != nil {
							continue
						}
						_ = resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							counts[i].Add(1)
						}
					}
				})
			}
		}
		time.Sleep(10 * time.Second)
		cancel()
		wg.Wait()
		big, small := counts[0].Load(), counts[1].Load()
		t.Logf("big (8 workers) %d, small (2 workers) %d", big, small)
		if d := big - small; d < -3 || d > 3 {
			t.Errorf("by header: big %d, small %d, want equal shares (within a request or two each)", big, small)
		}
	})
}

// TestFairFlowsByCredential: with by: credential, each credential is its
// own flow and its own quota; the classes alone divide each.
func TestFairFlowsByCredential(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		up := fairUpstream()
		up.Fairness.By = heed.FairByCredential
		tr := transport(t, okServer, up, nil)
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		var interactive, batch atomic.Int64
		loop(t, ctx, &wg, tr, 8, "acme", "interactive", &interactive)
		loop(t, ctx, &wg, tr, 8, "globex", "batch", &batch)
		time.Sleep(10 * time.Second)
		cancel()
		wg.Wait()
		i, b := interactive.Load(), batch.Load()
		t.Logf("interactive %d, batch %d", i, b)
		// SFQ's bound while both wait, and the start, when the first few
		// go in the order they came: two batch requests' worth either way.
		if i < 3*b-8 || i > 3*b+8 {
			t.Errorf("by credential: interactive %d, batch %d, want 3:1 (the tenants do not matter)", i, b)
		}
		st := tr.Snapshot(t.Context())
		if f := st.Upstreams[0].Fairness; f == nil || f.By != heed.FairByCredential || len(f.Classes) != 2 {
			t.Errorf("Snapshot's fairness: %+v", f)
		}
	})
}
