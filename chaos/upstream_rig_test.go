package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
)

// The rig of the upstream fault cases: the mock behind a faulty API,
// a Transport with the cases' policy, and callers that note how each call
// ended.

// fault is what faultyAPI does to the requests it gets.
type fault int

const (
	faultNone  fault = iota // pass to the mock
	faultReset              // read the request, then reset the connection
	faultStall              // never answer: hold the request until the client leaves
	fault5xx                // answer 502 Bad Gateway
)

// faultyAPI stands in front of the mock: it counts every request that
// reaches it, by path, and while a fault is on meets each with the fault
// instead of passing it on.
type faultyAPI struct {
	mock  *mockapi.Server
	fault atomic.Int32

	mu       sync.Mutex // guards sends, met and heldMost
	sends    map[string]int
	met      int           // requests that met a fault
	heldMost time.Duration // the longest a stalled request was held
}

func (a *faultyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := fault(a.fault.Load())
	a.mu.Lock()
	a.sends[r.URL.Path]++
	if f != faultNone {
		a.met++
	}
	a.mu.Unlock()
	switch f {
	case faultReset:
		_, _ = io.Copy(io.Discard, r.Body)
		hijackReset(w)
	case faultStall:
		start := time.Now()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		a.mu.Lock()
		a.heldMost = max(a.heldMost, time.Since(start))
		a.mu.Unlock()
	case fault5xx:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `{"error":"bad_gateway"}`)
	default:
		a.mock.ServeHTTP(w, r)
	}
}

// hijackReset takes the connection from net/http and resets it (RST).
func hijackReset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	reset(conn)
}

// counts returns the sends by path, the sends that met a fault and the
// longest hold.
func (a *faultyAPI) counts() (sends map[string]int, met int, heldMost time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	sends = make(map[string]int, len(a.sends))
	for k, v := range a.sends {
		sends[k] = v
	}
	return sends, a.met, a.heldMost
}

// upstreamRig is a Transport on an upstream behind a faultyAPI (and,
// when proxied, a Proxy in front of it), and the callers' results.
type upstreamRig struct {
	api *faultyAPI
	px  *Proxy // nil unless proxied
	tr  *heed.Transport
	url string // the upstream's base URL as the Transport sees it

	mu      sync.Mutex // guards results
	results []call
}

// call is one caller's request and how it ended.
type call struct {
	path       string
	start, end time.Time
	answer
}

// newUpstreamRig starts the mock, the faulty API in front of it and a
// Transport with the fault cases' policy, through a Proxy when proxied.
func newUpstreamRig(t *testing.T, proxied bool) *upstreamRig {
	t.Helper()
	m, err := mockapi.New(mockapi.Config{LogSize: 100000})
	if err != nil {
		t.Fatal(err)
	}
	rig := &upstreamRig{api: &faultyAPI{mock: m, sends: make(map[string]int)}}
	srv := httptest.NewServer(rig.api)
	t.Cleanup(srv.Close)
	rig.url = srv.URL
	if proxied {
		rig.px = newProxy(t, strings.TrimPrefix(srv.URL, "http://"))
		rig.url = "http://" + rig.px.Addr()
	}
	rig.tr, err = heed.New(heed.Config{Upstreams: []heed.Upstream{{
		Name: "mock", BaseURL: rig.url, Timeout: faultTimeout,
		Retry:   heed.RetryPolicy{Attempts: faultAttempts, Base: 20 * time.Millisecond, Max: 100 * time.Millisecond},
		Breaker: heed.BreakerPolicy{Failures: faultFailures, OpenFor: faultOpenFor, Probes: faultProbes},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rig.tr.Close() })
	return rig
}

// newProxy starts a Proxy to target, closed when the test ends.
func newProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	px, err := NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = px.Close() })
	return px
}

// run sends calls from faultWorkers callers, each call a new path, for
// the whole of the phases, switching the API's fault at each phase.
func (rig *upstreamRig) run(phases []phase) { rig.start(phases)() }

// start is run in the background; the function it returns waits for the
// end of the last phase. The phases must not be read before.
func (rig *upstreamRig) start(phases []phase) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		rig.runPhases(phases)
	}()
	return func() { <-done }
}

// runPhases is run.
func (rig *upstreamRig) runPhases(phases []phase) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	var wg sync.WaitGroup
	for range faultWorkers {
		wg.Go(func() {
			for ctx.Err() == nil {
				path := fmt.Sprintf("/upstream/call-%d", n.Add(1))
				c := call{path: path, start: time.Now()}
				c.answer = send(ctx, rig.tr, rig.url+path, fleetToken)
				c.end = time.Now()
				if c.err != nil && ctx.Err() != nil {
					return
				}
				rig.mu.Lock()
				rig.results = append(rig.results, c)
				rig.mu.Unlock()
				time.Sleep(faultPause)
			}
		})
	}
	for i := range phases {
		phases[i].start = time.Now()
		rig.api.fault.Store(int32(phases[i].fault))
		if phases[i].proxyRefuse {
			rig.px.SetRefuse(true)
			rig.px.Drop() // the kept-alive connections too
		}
		time.Sleep(phases[i].length)
		if phases[i].proxyRefuse {
			rig.px.SetRefuse(false)
		}
		phases[i].end = time.Now()
	}
	cancel()
	wg.Wait()
}

// phase is a stretch of a fault case.
type phase struct {
	name        string
	fault       fault
	proxyRefuse bool // the proxy resets every connection
	length      time.Duration
	start, end  time.Time
}

// outcomes counts the calls that started in p by how they ended.
type outcomes struct {
	calls, ok, circuitOpen, timeouts, errors, statuses int
	lastOK                                             time.Time
}

// outcomesIn counts the calls that started in [from, to) and, when
// within, ended there too.
func (rig *upstreamRig) outcomesIn(from, to time.Time, within bool) outcomes {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	var o outcomes
	for _, c := range rig.results {
		if c.start.Before(from) || !c.start.Before(to) || (within && !c.end.Before(to)) {
			continue
		}
		o.calls++
		switch {
		case c.err != nil && errors.Is(c.err, heed.ErrUpstreamTimeout):
			o.timeouts++
		case c.err != nil:
			o.errors++
		case c.synthetic == heed.SyntheticCircuitOpen:
			o.circuitOpen++
		case c.status == http.StatusOK:
			o.ok++
		default:
			o.statuses++
		}
	}
	return o
}

// firstOKAfter returns how long after t the first call that started
// after it succeeded, or false.
func (rig *upstreamRig) firstOKAfter(t time.Time) (time.Duration, bool) {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	var first time.Time
	for _, c := range rig.results {
		if c.start.After(t) && c.err == nil && c.status == http.StatusOK && (first.IsZero() || c.end.Before(first)) {
			first = c.end
		}
	}
	return first.Sub(t), !first.IsZero()
}

// startedIn and endedIn report whether the call of path started or ended
// within p.
func (rig *upstreamRig) startedIn(path string, p phase) bool {
	c, ok := rig.find(path)
	return ok && !c.start.Before(p.start) && c.start.Before(p.end)
}

func (rig *upstreamRig) endedIn(path string, p phase) bool {
	c, ok := rig.find(path)
	return ok && c.end.Before(p.end)
}

// find returns the call of path.
func (rig *upstreamRig) find(path string) (call, bool) {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	for _, c := range rig.results {
		if c.path == path {
			return c, true
		}
	}
	return call{}, false
}
