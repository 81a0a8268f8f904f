package heedgrpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/internal/testenv"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The multi-process test: separate OS processes, each with its own
// Interceptor and Redis connections, share one Redis and call one gRPC
// server as two credentials. The processes are this test binary run again
// with fleetWorkerEnv set, which makes TestFleetWorker do a worker's part
// instead of skipping.

// fleetWorkerEnv carries a worker's fleetJob, as JSON.
const fleetWorkerEnv = "HEEDGRPC_FLEET_WORKER"

// fleetReportPrefix starts the line of a worker's fleetReport.
const fleetReportPrefix = "HEEDGRPC-FLEET-REPORT "

// fleetJob is what one worker process does: call the server at Addr as
// each of Creds, with Goroutines goroutines each, for For, under a limit
// of Rate calls per second per credential, sharing Store.
type fleetJob struct {
	Store      string        `json:"store"`
	Addr       string        `json:"addr"`
	Creds      []string      `json:"creds"`
	Goroutines int           `json:"goroutines"`
	For        time.Duration `json:"for"`
	Rate       int64         `json:"rate"`
}

// fleetReport is what a worker saw, by credential.
type fleetReport struct {
	OK        map[string]int `json:"ok"`
	Exhausted map[string]int `json:"exhausted"` // the server's RESOURCE_EXHAUSTED
	Refused   map[string]int `json:"refused"`   // heed's own answers
	Errors    int            `json:"errors"`
	FirstErr  string         `json:"first_error,omitempty"`
}

// TestFleetWorker is one worker of the multi-process test; it skips
// unless started by it.
func TestFleetWorker(t *testing.T) {
	raw := os.Getenv(fleetWorkerEnv)
	if raw == "" {
		t.Skip("a worker of the multi-process fleet test; runs only when it starts it")
	}
	var job fleetJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		t.Fatalf("%s: %v", fleetWorkerEnv, err)
	}
	ic := newInterceptor(t, job.Addr, heed.Upstream{Limits: []heed.Limit{{Requests: job.Rate, Per: time.Second}}}, job.Store)
	c := dial(t, job.Addr, ic)
	// Cancelled rather than timed out, so that calls waiting near the end
	// are not answered at once for want of time.
	ctx, cancel := context.WithCancel(context.Background())
	defer time.AfterFunc(job.For, cancel).Stop()
	var mu sync.Mutex
	rep := fleetReport{OK: map[string]int{}, Exhausted: map[string]int{}, Refused: map[string]int{}}
	var wg sync.WaitGroup
	for _, cred := range job.Creds {
		for range job.Goroutines {
			wg.Go(func() {
				for ctx.Err() == nil {
					err := check(ctx, c, cred)
					mu.Lock()
					rep.count(cred, err, ctx.Err() != nil)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	out, _ := json.Marshal(rep)
	fmt.Printf("\n%s%s\n", fleetReportPrefix, out)
}

// count adds one call's outcome; over says the run is over.
func (r *fleetReport) count(cred string, err error, over bool) {
	var ref *heed.Refusal
	switch {
	case err == nil:
		r.OK[cred]++
	case over: // the run's end cancelled it
	case errors.As(err, &ref):
		r.Refused[cred]++
	case status.Code(err) == codes.ResourceExhausted:
		r.Exhausted[cred]++
	default:
		r.Errors++
		if r.FirstErr == "" {
			r.FirstErr = err.Error()
		}
	}
}

// runWorkers runs n processes of this test binary at once, each running
// only TestFleetWorker on job, and returns their reports.
func runWorkers(t *testing.T, n int, job fleetJob) []fleetReport {
	t.Helper()
	raw, _ := json.Marshal(job)
	reports := make([]fleetReport, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFleetWorker$", "-test.count=1", "-test.v=false")
			cmd.Env = append(os.Environ(), fleetWorkerEnv+"="+string(raw))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("worker %d: %w\nstdout:\n%s\nstderr:\n%s", i, err, stdout.Bytes(), stderr.Bytes())
				return
			}
			_, line, ok := bytes.Cut(stdout.Bytes(), []byte(fleetReportPrefix))
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

// inFlightGrace is how long after the refusal left the server calls may
// still arrive that were let go before any process knew of it: at most
// one admission of the fleet's pace, on loopback a millisecond or so.
const inFlightGrace = 100 * time.Millisecond

// TestOneRefusalStopsTheFleet: three OS processes sharing a Redis call as
// credentials A and B; one RESOURCE_EXHAUSTED with a RetryInfo of 2s,
// sent to one of them for A, stops every call of A in all three for the
// delay (none reaches the server), while B's go on, and A's resume after.
func TestOneRefusalStopsTheFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("7s of three processes")
	}
	// Not parallel: the workers are paced in real time on a small machine.
	store := "redis://" + testenv.Redis(t) + "/0"
	hs, addr := newServer(t)
	const delay = 2 * time.Second
	refusal := exhausted(t, delay, "")
	go func() {
		for len(hs.calls("A")) < 20 { // the fleet is running
			time.Sleep(10 * time.Millisecond)
		}
		hs.force("A", refusal)
	}()
	reports := runWorkers(t, 3, fleetJob{Store: store, Addr: addr, Creds: []string{"A", "B"}, Goroutines: 4, For: 7 * time.Second, Rate: 20})
	exhaustedA := 0
	for i, r := range reports {
		t.Logf("worker %d: %+v", i, r)
		if r.Errors > 0 {
			t.Errorf("worker %d: %d errors, the first: %s", i, r.Errors, r.FirstErr)
		}
		exhaustedA += r.Exhausted["A"]
	}
	refused := hs.refused("A")
	if refused.IsZero() {
		t.Fatal("the server never refused A")
	}
	if exhaustedA != 1 {
		t.Errorf("the callers saw %d RESOURCE_EXHAUSTED for A, want the one forced", exhaustedA)
	}
	a, b := hs.calls("A"), hs.calls("B")
	inGrace := countIn(a, refused.Add(time.Nanosecond), refused.Add(inFlightGrace))
	during := countIn(a, refused.Add(inFlightGrace), refused.Add(delay))
	t.Logf("A: %d calls, %d in flight within %v of the refusal, %d during the rest of the delay; B: %d calls, %d during the delay",
		len(a), inGrace, inFlightGrace, during, len(b), countIn(b, refused, refused.Add(delay)))
	if during != 0 {
		t.Errorf("%d calls of A reached the server during the RetryInfo delay, want 0", during)
	}
	if n := countIn(b, refused, refused.Add(delay)); n < 20 {
		t.Errorf("%d calls of B during A's delay, want B unaffected (about 40)", n)
	}
	if n := countIn(a, refused.Add(delay), refused.Add(delay+2*time.Second)); n < 20 {
		t.Errorf("%d calls of A in the 2s after the delay, want A resumed (about 40)", n)
	}
}

// countIn returns how many of times are in [from, to).
func countIn(times []time.Time, from, to time.Time) int {
	n := 0
	for _, at := range times {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}
