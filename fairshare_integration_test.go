package heed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/mockapi"
)

// The fair-share scenario over loopback against heed mock (20
// requests a second, sliding window): a heavy tenant with 32 workers and a
// light one sending a request every 200 ms share one credential. The
// light tenant's waits must stay under two intervals of the limit while
// the heavy one takes the rest, nothing idle, nothing refused. Once in one
// process, once in three processes on one Redis (the heavy tenant in two
// of them, the light one in the third): the shares are the fleet's.

// fairWorkerEnv carries a fair worker's fairJob, as JSON.
const fairWorkerEnv = "HEED_FAIR_WORKER"

// fairJob is what one process of the scenario does.
type fairJob struct {
	Store string        `json:"store"` // "" for the memory store
	URL   string        `json:"url"`
	Heavy int           `json:"heavy"` // workers of the heavy tenant
	Light bool          `json:"light"` // the light tenant's one worker
	For   time.Duration `json:"for"`
}

// fairReport is what a fair worker reports.
type fairReport struct {
	Heavy      int             `json:"heavy"` // answered 200
	LightWaits []time.Duration `json:"light_waits"`
	Other      map[string]int  `json:"other"` // anything but a 200, by status or synthetic kind
	FirstErr   string          `json:"first_error,omitempty"`
}

const fairReportPrefix = "FAIR-REPORT "

// fairLimit is the mock's limit and the one heed is told.
const fairLimit = 20

// runFairJob runs job in this process.
func runFairJob(job fairJob) (fairReport, error) {
	tr, err := heed.New(heed.Config{
		Store: job.Store, Stores: config.Stores{}, FingerprintSecret: "a secret every process shares",
		Upstreams: []heed.Upstream{{Name: "mock", BaseURL: job.URL,
			Limits:   []heed.Limit{{Requests: fairLimit, Per: time.Second}},
			Fairness: &heed.FairnessPolicy{By: heed.FairByTenant}}},
	})
	if err != nil {
		return fairReport{}, err
	}
	defer tr.Close()
	// Cancelled rather than timed out: a waiting request whose deadline
	// is the run's end would be answered at once near it instead.
	ctx, cancel := context.WithCancel(context.Background())
	defer time.AfterFunc(job.For, cancel).Stop()
	var mu sync.Mutex
	rep := fairReport{Other: map[string]int{}}
	send := func(tenant string) bool {
		resp, err := doURL(heed.WithTenant(ctx, tenant), tr, job.URL, "tok-fair")
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil && ctx.Err() != nil: // the run is over
		case err != nil:
			rep.Other["error"]++
			if rep.FirstErr == "" {
				rep.FirstErr = err.Error()
			}
		case resp.Header.Get(heed.SyntheticHeader) != "":
			rep.Other["synthetic "+resp.Header.Get(heed.SyntheticHeader)]++
		case resp.StatusCode != http.StatusOK:
			rep.Other[fmt.Sprint(resp.StatusCode)]++
		default:
			return true
		}
		return false
	}
	var wg sync.WaitGroup
	for range job.Heavy {
		wg.Go(func() {
			for ctx.Err() == nil {
				if send("heavy") {
					mu.Lock()
					rep.Heavy++
					mu.Unlock()
				}
			}
		})
	}
	if job.Light {
		wg.Go(func() {
			time.Sleep(time.Second) // the heavy tenant has filled the quota
			for ctx.Err() == nil {
				start := time.Now()
				if send("light") {
					mu.Lock()
					rep.LightWaits = append(rep.LightWaits, time.Since(start))
					mu.Unlock()
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	return rep, nil
}

// TestFairWorker is one process of TestFairSharesFleetOnRedis; it skips
// unless started by it.
func TestFairWorker(t *testing.T) {
	raw := os.Getenv(fairWorkerEnv)
	if raw == "" {
		t.Skip("a worker of the fair-share fleet test; runs only when it starts it")
	}
	var job fairJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		t.Fatalf("%s: %v", fairWorkerEnv, err)
	}
	rep, err := runFairJob(job)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(rep)
	fmt.Printf("\n%s%s\n", fairReportPrefix, out)
}

// checkFairShares checks the scenario's figures: the reports of every
// process, and the mock's count.
func checkFairShares(t *testing.T, m *mockapi.Server, reports []fairReport) {
	t.Helper()
	var waits []time.Duration
	heavy := 0
	for i, r := range reports {
		heavy += r.Heavy
		waits = append(waits, r.LightWaits...)
		if len(r.Other) > 0 {
			t.Errorf("process %d: answers other than 200: %v (first error %q)", i, r.Other, r.FirstErr)
		}
	}
	slices.Sort(waits)
	if len(waits) < 10 {
		t.Fatalf("the light tenant got %d requests through, want one every 200ms plus its wait", len(waits))
	}
	st := m.Stats().Total
	span := st.LastRequest.Sub(st.FirstRequest).Seconds()
	rate := float64(st.Accepted-1) / span
	median, p90 := waits[len(waits)/2], waits[len(waits)*9/10]
	t.Logf("heavy %d, light %d (waits: median %v, p90 %v, longest %v); the mock: %.2f accepted/s over %.1fs, %d refused",
		heavy, len(waits), median.Round(time.Millisecond), p90.Round(time.Millisecond), waits[len(waits)-1].Round(time.Millisecond), rate, span, st.Limited)
	if median >= 2*time.Second/fairLimit {
		t.Errorf("the light tenant's median wait %v, want under two intervals of the limit (%v)", median, 2*time.Second/fairLimit)
	}
	if st.Limited != 0 {
		t.Errorf("the mock refused %d requests, want 0", st.Limited)
	}
	if rate < 0.9*fairLimit {
		t.Errorf("%.2f accepted/s, want at least 90%% of %d", rate, fairLimit)
	}
	if heavy < 3*len(waits) {
		t.Errorf("the heavy tenant got %d, the light %d: want the heavy to get the rest", heavy, len(waits))
	}
}

func TestFairSharesOverLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("8s of the fair-share scenario")
	}
	// Not parallel: it measures rates and waits on a machine of 2 cores.
	m, url := newMock(t, mockapi.Config{Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmSliding, Requests: fairLimit, Per: time.Second}})
	rep, err := runFairJob(fairJob{URL: url, Heavy: 32, Light: true, For: 8 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	checkFairShares(t, m, []fairReport{rep})
}

func TestFairSharesFleetOnRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("8s of three processes")
	}
	// Not parallel: it measures rates and waits on a machine of 2 cores.
	m, url := newMock(t, mockapi.Config{Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmSliding, Requests: fairLimit, Per: time.Second}})
	store := "redis://" + testenv.Redis(t) + "/0"
	reports := runEachWorker[fairReport](t, "TestFairWorker", fairWorkerEnv, []any{
		fairJob{Store: store, URL: url, Heavy: 32, For: 8 * time.Second},
		fairJob{Store: store, URL: url, Heavy: 32, For: 8 * time.Second},
		fairJob{Store: store, URL: url, Light: true, For: 8 * time.Second},
	}, fairReportPrefix)
	checkFairShares(t, m, reports)
}
