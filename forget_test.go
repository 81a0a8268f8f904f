package heed_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heedhq/heed"
)

// TestIdleScopesAreForgotten: a Transport forgets the scopes of
// credentials idle for ForgetAfter, not those with a request in flight,
// and a forgotten scope's next request starts afresh.
func TestIdleScopesAreForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		api := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Header.Get("Authorization") == "Bearer slow" {
				<-release
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		tr, err := heed.New(heed.Config{Base: api, ForgetAfter: time.Minute, Upstreams: []heed.Upstream{{Name: "api", BaseURL: "https://api.test"}}})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		for i := range 100 {
			if _, err := do(context.Background(), tr, "tok-"+strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
		go func() { _, _ = do(context.Background(), tr, "slow") }()
		synctest.Wait()
		scopes := func() int { return len(tr.Snapshot(context.Background()).Upstreams[0].Scopes) }
		if n := scopes(); n != 100 { // the snapshot lists at most 100
			t.Fatalf("%d scopes shown at first, want 100", n)
		}
		time.Sleep(30 * time.Second)
		if n := scopes(); n != 100 {
			t.Fatalf("%d scopes shown after 30s, want them all kept (ForgetAfter is 1m)", n)
		}
		time.Sleep(time.Minute)
		if n := scopes(); n != 1 {
			t.Fatalf("%d scopes shown 90s after their last request, want only the one in flight", n)
		}
		close(release)
		time.Sleep(20 * time.Second) // a sweep: the slow one, done, was last seen 110s ago
		if n := scopes(); n != 0 {
			t.Fatalf("%d scopes shown after the slow request ended and a sweep, want none", n)
		}
		if _, err := do(context.Background(), tr, "tok-7"); err != nil || scopes() != 1 {
			t.Fatalf("a forgotten credential's next request: %v, %d scopes; want it kept afresh", err, scopes())
		}
	})
}

// roundTripFunc is a function as an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// memoryWorkerEnv makes TestMemoryWorker do its part; see
// TestMemoryReturnsAfterIdle.
const memoryWorkerEnv = "HEED_MEMORY_WORKER"

// memoryReport is what the worker measures, in KiB: the resident set and
// the Go heap in use, at the start, at the peak and once idle.
type memoryReport struct {
	Credentials                    int
	Start, Peak, AfterIdle         int64
	HeapStart, HeapPeak, HeapAfter int64
}

// TestMemoryReturnsAfterIdle: 50,000 distinct credentials go through one
// Transport in a process of their own (this test binary run again, so
// that no other test shares its memory); once they have been idle for
// ForgetAfter, the process's resident memory is back within 20% of where
// it started, and its Go heap has given back at least 95% of what it grew
// by. Under the race detector, whose shadow memory is never given back,
// only the heap is held to it.
func TestMemoryReturnsAfterIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("a 50,000-credential run in a process of its own")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestMemoryWorker$", "-test.v")
	cmd.Env = append(os.Environ(), memoryWorkerEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("worker: %v\n%s", err, out)
	}
	var r memoryReport
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if raw, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "MEMORY-REPORT "); ok {
			if err := json.Unmarshal([]byte(raw), &r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r.Credentials == 0 {
		t.Fatalf("no report from the worker:\n%s", out)
	}
	t.Logf("%d credentials: RSS %d KiB at the start, %d KiB at the peak, %d KiB once idle; Go heap in use %d, %d, %d KiB",
		r.Credentials, r.Start, r.Peak, r.AfterIdle, r.HeapStart, r.HeapPeak, r.HeapAfter)
	if r.HeapPeak-r.HeapStart < 10<<10 {
		t.Errorf("the run grew the heap by only %d KiB: it did not measure what it means to", r.HeapPeak-r.HeapStart)
	}
	if grew, kept := r.HeapPeak-r.HeapStart, r.HeapAfter-r.HeapStart; float64(kept) > 0.05*float64(grew) {
		t.Errorf("the heap kept %d KiB of the %d KiB it grew by once idle, want at most 5%%", kept, grew)
	}
	if !raceDetector && float64(r.AfterIdle) > 1.2*float64(r.Start) {
		t.Errorf("RSS once idle %d KiB, want within 20%% of the %d KiB at the start", r.AfterIdle, r.Start)
	}
}

// TestMemoryWorker is TestMemoryReturnsAfterIdle's process; it skips
// unless started by it.
func TestMemoryWorker(t *testing.T) {
	if os.Getenv(memoryWorkerEnv) == "" {
		t.Skip("the worker of TestMemoryReturnsAfterIdle; runs only when it starts it")
	}
	const credentials = 50_000
	header := http.Header{"X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Remaining": {"4999"}}
	api := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: header, Body: http.NoBody, Request: req}, nil
	})
	// The Transport's clock stands still while the credentials go
	// through, so that none is forgotten before the peak is measured
	// however slowly they go (the race detector, a busy machine), and
	// steps past ForgetAfter when they are to be idle; its sleeps are
	// real, so the sweeps run every second.
	clk := &steppedClock{}
	clk.at.Store(time.Now().UnixNano())
	idle := func() { // past ForgetAfter, and a sweep or two
		clk.at.Add(int64(3 * time.Second))
		time.Sleep(2500 * time.Millisecond)
	}
	tr, err := heed.New(heed.Config{Base: api, Clock: clk, ForgetAfter: time.Second, Upstreams: []heed.Upstream{{Name: "api", BaseURL: "https://api.test",
		Limits: []heed.Limit{{Requests: 1_000_000, Per: time.Second}}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	send := func(token string) {
		req, _ := http.NewRequest(http.MethodGet, "https://api.test/items", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	for i := range 100 { // warm up: the runtime, the pools, the first maps
		send("warm-" + strconv.Itoa(i))
	}
	idle()
	r := memoryReport{Credentials: credentials, Start: settledRSS(t), HeapStart: heapInUse()}
	for i := range credentials {
		send(fmt.Sprintf("tok-%08d", i))
	}
	runtime.GC()
	r.Peak, r.HeapPeak = rss(t), heapInUse()
	idle()
	r.AfterIdle = settledRSS(t)
	r.HeapAfter = heapInUse()
	b, _ := json.Marshal(r)
	fmt.Printf("MEMORY-REPORT %s\n", b)
}

// steppedClock is a heed.Clock whose time moves only when the test says
// (at, Unix nanoseconds), and whose sleeps are real.
type steppedClock struct{ at atomic.Int64 }

func (c *steppedClock) Now() time.Time { return time.Unix(0, c.at.Load()) }

func (c *steppedClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// settledRSS returns the resident set size once the garbage is collected
// and returned to the system.
func settledRSS(t *testing.T) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return rss(t)
}

// heapInUse returns the Go heap's spans in use, in KiB.
func heapInUse() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse >> 10)
}

// rss reads VmRSS from /proc/self/status, in KiB.
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
