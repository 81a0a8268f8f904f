package heed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/mockapi"
)

// The multi-process fleet test: separate OS processes, each a Transport
// with its own Redis connections, share one Redis and one credential.
// The processes are this test binary run again with fleetWorkerEnv set,
// which makes TestFleetWorker do a worker's part instead of skipping.

// fleetWorkerEnv carries a worker's fleetJob, as JSON.
const fleetWorkerEnv = "HEED_FLEET_WORKER"

// fleetJob is what one worker process does.
type fleetJob struct {
	Store      string        `json:"store"`
	URL        string        `json:"url"`
	Token      string        `json:"token"`
	Goroutines int           `json:"goroutines"`
	For        time.Duration `json:"for"`
	Rate       int64         `json:"rate"` // configured limit, per second; 0: none, learned from the headers
}

// fleetReport is what a worker prints, after fleetReportPrefix.
type fleetReport struct {
	Status    map[int]int `json:"status"` // final statuses of real answers
	Synthetic int         `json:"synthetic"`
	Errors    int         `json:"errors"` // all but those of the deadline
	FirstErr  string      `json:"first_error,omitempty"`
}

const fleetReportPrefix = "FLEET-REPORT "

// TestFleetWorker is one worker of the multi-process tests; it skips unless
// started by them.
func TestFleetWorker(t *testing.T) {
	raw := os.Getenv(fleetWorkerEnv)
	if raw == "" {
		t.Skip("a worker of the multi-process fleet tests; runs only when they start it")
	}
	var job fleetJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		t.Fatalf("%s: %v", fleetWorkerEnv, err)
	}
	up := heed.Upstream{Name: "mock", BaseURL: job.URL}
	if job.Rate > 0 {
		up.Limits = []heed.Limit{{Requests: job.Rate, Per: time.Second}}
	}
	tr, err := heed.New(heed.Config{
		Store:             job.Store,
		Stores:            config.Stores{},
		FingerprintSecret: "a secret every process shares",
		Upstreams:         []heed.Upstream{up},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	// Cancelled rather than timed out: with the run's end as their
	// deadline, requests near it are answered at once (they could not wait
	// in time), and 16 goroutines asking again at once load the machine
	// the other processes measure on.
	ctx, cancel := context.WithCancel(context.Background())
	defer time.AfterFunc(job.For, cancel).Stop()
	var mu sync.Mutex
	rep := fleetReport{Status: map[int]int{}}
	var wg sync.WaitGroup
	for range job.Goroutines {
		wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := doURL(ctx, tr, job.URL, job.Token)
				mu.Lock()
				switch {
				case err != nil && ctx.Err() != nil: // the run is over
				case err != nil:
					rep.Errors++
					if rep.FirstErr == "" {
						rep.FirstErr = err.Error()
					}
				case resp.Header.Get(heed.SyntheticHeader) != "":
					rep.Synthetic++
				default:
					rep.Status[resp.StatusCode]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	out, _ := json.Marshal(rep)
	fmt.Printf("\n%s%s\n", fleetReportPrefix, out)
}

// runFleet starts n worker processes on job and returns their reports.
func runFleet(t *testing.T, n int, job fleetJob) []fleetReport {
	t.Helper()
	reports := runWorkers[fleetReport](t, n, "TestFleetWorker", fleetWorkerEnv, job, fleetReportPrefix)
	for i, r := range reports {
		t.Logf("worker %d: %+v", i, r)
		if r.Errors > 0 {
			t.Errorf("worker %d: %d errors, the first: %s", i, r.Errors, r.FirstErr)
		}
		if r.Status[http.StatusOK] == 0 {
			t.Errorf("worker %d: no request went through", i)
		}
	}
	return reports
}

// runWorkers runs n processes of this test binary at once, each running
// only the test named test with env set to job as JSON, and returns the
// report, JSON after prefix on a line of its own, that each printed.
func runWorkers[R any](t *testing.T, n int, test, env string, job any, prefix string) []R {
	t.Helper()
	return runEachWorker[R](t, test, env, slices.Repeat([]any{job}, n), prefix)
}

// runEachWorker is runWorkers with a job of its own for each process.
func runEachWorker[R any](t *testing.T, test, env string, jobs []any, prefix string) []R {
	t.Helper()
	n := len(jobs)
	reports := make([]R, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		raw, _ := json.Marshal(jobs[i])
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v=false")
			cmd.Env = append(os.Environ(), env+"="+string(raw))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("worker %d: %w\nstdout:\n%s\nstderr:\n%s", i, err, stdout.Bytes(), stderr.Bytes())
				return
			}
			_, line, ok := bytes.Cut(stdout.Bytes(), []byte(prefix))
			line, _, _ = bytes.Cut(line, []byte("\n"))
			if !ok || json.Unmarshal(line, &reports[i]) != nil {
				errs[i] = fmt.Errorf("worker %d printed no report:\n%s", i, stdout.Bytes())
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return reports
}

// fleetLimit is the mock's limit in the multi-process tests, and the limit
// the workers are configured with.
const fleetLimit = 20

// testFleetOfProcesses is the multi-process acceptance test on the store
// named by storeURL: three processes of 16 goroutines each, for 10s, on a
// mock limited to 20 requests per second (sliding window), then a forced
// 429 with Retry-After: 3 that one of them receives.
func testFleetOfProcesses(t *testing.T, storeURL string) {
	t.Run("Rate", func(t *testing.T) {
		m, url := newMock(t, mockapi.Config{Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmSliding, Requests: fleetLimit, Per: time.Second}})
		runFleet(t, 3, fleetJob{Store: storeURL, URL: url, Token: "tok-rate", Goroutines: 16, For: 10 * time.Second, Rate: fleetLimit})
		st := m.Stats().Total
		span := st.LastRequest.Sub(st.FirstRequest).Seconds()
		rate := float64(st.Accepted-1) / span
		t.Logf("the mock: %+v; %.2f accepted/s over %.2fs", st, rate, span)
		if st.Limited != 0 {
			t.Errorf("the mock refused %d requests, want 0", st.Limited)
		}
		if rate > fleetLimit+1 { // the limit plus the burst of one
			t.Errorf("%.2f accepted/s, want at most %d", rate, fleetLimit+1)
		}
		if rate < 0.9*fleetLimit {
			t.Errorf("%.2f accepted/s, want at least 90%% of %d", rate, fleetLimit)
		}
	})
	t.Run("SharedCooldown", func(t *testing.T) {
		m, url := newMock(t, mockapi.Config{Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmSliding, Requests: fleetLimit, Per: time.Second}})
		go func() {
			time.Sleep(2 * time.Second) // all three are running by then
			if err := m.Force(mockapi.Force{Credential: "tok-cool", Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second}); err != nil {
				t.Error(err)
			}
		}()
		runFleet(t, 3, fleetJob{Store: storeURL, URL: url, Token: "tok-cool", Goroutines: 16, For: 8 * time.Second, Rate: fleetLimit})
		st := m.Stats().Total
		t.Logf("the mock: %+v", st)
		if st.Limited != 1 {
			t.Errorf("the mock refused %d requests, want only the forced one", st.Limited)
		}
		if st.DuringWait != 0 {
			t.Errorf("%d requests arrived inside the Retry-After window, want 0", st.DuringWait)
		}
		// about 8s of sending less the 3s wait, at about 20/s
		if st.Accepted < 4*fleetLimit {
			t.Errorf("%d requests accepted, want the fleet to resume after the wait", st.Accepted)
		}
	})
}

// TestFleetOfProcessesOnRedis: three OS processes share one redis-server.
func TestFleetOfProcessesOnRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("18s of three processes")
	}
	// Not parallel: it measures a rate on a machine of 2 cores.
	testFleetOfProcesses(t, "redis://"+testenv.Redis(t)+"/0")
}

// TestFleetLearnsOnRedis is issue 15's learning, fleet-wide: three
// processes told no limit share one redis-server and one credential of a
// mock limited to 20 a second, for 4 seconds from a cold start. Under a
// sliding window with GitHub's whole-second resets only the first answer
// finds the quota whole, so only one process can learn the window from
// what it saw: the others learn it from the store. The fleet gets at
// least 85% of the quota (measured 90-97%: three cold starts at once
// spend the first window less evenly than one) and the API refuses under
// 0.5% of the requests.
func TestFleetLearnsOnRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("12s of three processes")
	}
	// Not parallel: it measures a rate on a machine of 2 cores.
	storeURL := "redis://" + testenv.Redis(t) + "/0"
	for _, c := range []struct{ alg, dialect string }{
		{mockapi.AlgorithmSliding, mockapi.DialectGitHub},
		{mockapi.AlgorithmFixed, mockapi.DialectAnthropic},
		{mockapi.AlgorithmToken, mockapi.DialectOpenAI},
	} {
		t.Run(c.alg+"/"+c.dialect, func(t *testing.T) {
			m, url := newMock(t, mockapi.Config{Limit: mockapi.Limit{Algorithm: c.alg, Requests: fleetLimit, Per: time.Second}, Dialect: c.dialect})
			runFleet(t, 3, fleetJob{Store: storeURL, URL: url, Token: "tok-learn-" + c.alg + c.dialect, Goroutines: 16, For: 4 * time.Second})
			st := m.Stats().Total
			span := st.LastRequest.Sub(st.FirstRequest).Seconds()
			share := float64(st.Accepted) / (fleetLimit * span)
			refused := float64(st.Limited) / float64(max(st.Requests, 1))
			t.Logf("the mock: %+v; %.1f%% of the quota over %.2fs, %.2f%% refused", st, 100*share, span, 100*refused)
			if share < 0.85 {
				t.Errorf("the fleet got %.1f%% of the quota, want at least 85%%", 100*share)
			}
			if refused >= 0.005 {
				t.Errorf("the API refused %.2f%% of the requests, want under 0.5%%", 100*refused)
			}
		})
	}
}

// TestFleetOfProcessesOnRedisCluster: the same on a three-node Redis
// Cluster, every process with its own cluster client.
func TestFleetOfProcessesOnRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("18s of three processes")
	}
	// Not parallel: it measures a rate on a machine of 2 cores.
	testFleetOfProcesses(t, "redis-cluster://"+strings.Join(testenv.RedisCluster(t).Addrs(), ","))
}
