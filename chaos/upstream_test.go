package chaos

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
)

// Upstream faults: an API that resets connections, never answers, or
// answers 5xx for a while, between two stretches of good service. heed
// must stay within its retry policy (Attempts per call, counted at the
// API) and let its breaker cut the sends down while the fault lasts, then
// come back by itself; no panic, no goroutine left.

// The policy of the upstream in these cases.
const (
	faultAttempts = 3
	faultFailures = 5
	faultOpenFor  = 500 * time.Millisecond
	faultProbes   = 1
	faultTimeout  = 200 * time.Millisecond
	// faultWorkers is how many callers send at once.
	faultWorkers = 4
	// faultPause is how long a caller pauses between calls, so that the
	// calls keep the machine busy but not flat out (a breaker's refusals
	// come at once).
	faultPause = 10 * time.Millisecond
)

// sendBound is the most sends a fault lasting d may meet under the
// policy: the breaker's Failures, plus a send of every other caller
// already on its way when it opened, plus one probe per OpenFor (and one
// more for the edges).
func sendBound(d time.Duration) int {
	return faultFailures + faultWorkers - 1 + faultProbes*(int(d/faultOpenFor)+2)
}

// checkFaultCase checks a fault case after run: no call reached the API
// more than perCall times; the sends that met the fault stay within
// sendBound (times the sends one attempt may make, perCall / Retry.Attempts);
// good service before and after; the breaker is closed again.
// met is the sends that met the fault, as counted where they met it.
func checkFaultCase(t *testing.T, f *figures, rig *upstreamRig, phases []phase, met, perCall int) {
	t.Helper()
	sends, _, _ := rig.api.counts()
	most, over := 0, 0
	for _, n := range sends {
		most = max(most, n)
		if n > faultAttempts {
			over++
		}
	}
	if most > perCall {
		t.Errorf("a call reached the API %d times, want at most %d (Retry.Attempts %d)", most, perCall, faultAttempts)
	}
	before, faulty, after := phases[0], phases[1], phases[2]
	ob, of := rig.outcomesIn(before.start, before.end, true), rig.outcomesIn(faulty.start, faulty.end, false)
	if ob.ok != ob.calls || ob.calls == 0 {
		t.Errorf("%s: %+v, want every call a 200", before.name, ob)
	}
	// Each of heed's attempts is as many sends as a call may make per
	// attempt (perCall / Retry.Attempts).
	bound := sendBound(faulty.end.Sub(faulty.start)) * perCall / faultAttempts
	if met > bound {
		t.Errorf("%s: %d sends met the fault in %v, want at most %d (breaker: %d failures, open %v, %d probe)",
			faulty.name, met, faulty.end.Sub(faulty.start).Round(time.Millisecond), bound, faultFailures, faultOpenFor, faultProbes)
	}
	if of.circuitOpen == 0 {
		t.Errorf("%s: %+v: the breaker never opened", faulty.name, of)
	}
	back, ok := rig.firstOKAfter(after.start)
	if !ok {
		t.Errorf("%s: no call succeeded after the fault ended", after.name)
	}
	if st := rig.tr.Snapshot(context.Background()).Upstreams[0].Breaker; st != heed.BreakerClosed {
		t.Errorf("the breaker is %s at the end, want closed", st)
	}
	f.add("all", "calls, sends (Retry.Attempts 3, breaker 5 failures, open 500ms)", "%d calls, %d sends, at most %d per call", len(rig.results), sum(sends), most)
	f.add("all", "calls that reached the API more than Retry.Attempts times", "%d", over)
	f.add(faulty.name, "calls during the fault: ok / circuit-open / timeout / other error / 5xx", "%d / %d / %d / %d / %d", of.ok, of.circuitOpen, of.timeouts, of.errors, of.statuses)
	f.add(faulty.name, "sends that met the fault (bound)", "%d in %v (%d)", met, faulty.end.Sub(faulty.start).Round(time.Millisecond), bound)
	f.add(after.name, "first success after the fault ended", "%v", back.Round(time.Millisecond))
}

// sum adds m's values.
func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// faultPhases is a fault case's three stretches.
func faultPhases(name string, f fault) []phase {
	return []phase{
		{name: "before", length: suite.goodFor},
		{name: name, fault: f, length: suite.faultFor},
		{name: "after", length: suite.goodFor + faultOpenFor},
	}
}

// TestUpstreamFaults runs each upstream fault between two stretches of
// good service.
func TestUpstreamFaults(t *testing.T) {
	skipShort(t)
	t.Run("ResetAfterRequest", func(t *testing.T) {
		f := newFigures(t)
		checkGoroutines(t, f)
		rig := newUpstreamRig(t, false)
		phases := faultPhases("resets", faultReset)
		rig.run(phases)
		_, met, _ := rig.api.counts()
		// Not Retry.Attempts, which says it counts every send: heed's base
		// transport (net/http's) sends a GET once more, on a new
		// connection, when a kept-alive one dies after the request went
		// out and before any answer, so each of heed's attempts may reach
		// the API twice (see the report of issue 11's chaos suite).
		checkFaultCase(t, f, rig, phases, met, 2*faultAttempts)
	})
	t.Run("ResetAtConnect", func(t *testing.T) {
		f := newFigures(t)
		checkGoroutines(t, f)
		rig := newUpstreamRig(t, true)
		phases := faultPhases("refused", faultNone)
		phases[1].proxyRefuse = true
		rig.run(phases)
		sends, _, _ := rig.api.counts()
		for path, n := range sends {
			if n > 0 && rig.startedIn(path, phases[1]) && rig.endedIn(path, phases[1]) {
				t.Errorf("call %s, made and ended while every connection was reset, reached the API", path)
			}
		}
		checkFaultCase(t, f, rig, phases, int(rig.px.Stats().Refused), faultAttempts)
	})
	t.Run("Timeout", func(t *testing.T) {
		f := newFigures(t)
		checkGoroutines(t, f)
		rig := newUpstreamRig(t, false)
		phases := faultPhases("timeouts", faultStall)
		rig.run(phases)
		_, met, held := rig.api.counts()
		checkFaultCase(t, f, rig, phases, met, faultAttempts)
		if held > faultTimeout+time.Second {
			t.Errorf("a request that got no answer was held %v, want about Upstream.Timeout (%v)", held, faultTimeout)
		}
		if o := rig.outcomesIn(phases[1].start, phases[1].end, false); o.timeouts == 0 {
			t.Errorf("timeouts: %+v: no call failed with ErrUpstreamTimeout", o)
		}
		f.add("timeouts", "longest a stalled request was held (Upstream.Timeout 200ms)", "%v", held.Round(time.Millisecond))
	})
	t.Run("ServerErrors", func(t *testing.T) {
		f := newFigures(t)
		checkGoroutines(t, f)
		rig := newUpstreamRig(t, false)
		phases := faultPhases("5xx", fault5xx)
		rig.run(phases)
		_, met, _ := rig.api.counts()
		checkFaultCase(t, f, rig, phases, met, faultAttempts)
	})
	t.Run("UnavailableWithRetryAfter", func(t *testing.T) {
		f := newFigures(t)
		checkGoroutines(t, f)
		rig := newUpstreamRig(t, false)
		phases := []phase{{name: "503 with Retry-After", length: 2*suite.goodFor + suite.wait}}
		wait := rig.start(phases)
		time.Sleep(suite.goodFor)
		w := forceWait(t, rig.api.mock, phases[0].name, http.StatusServiceUnavailable, suite.wait, baseGrace)
		wait()
		checkWaits(t, f, rig.api.mock, []told{w}, nil)
		if o := rig.outcomesIn(phases[0].start, phases[0].end, false); o.ok == 0 {
			t.Errorf("%+v: no call succeeded", o)
		}
	})
	t.Run("CutMidStream", func(t *testing.T) { testCutMidStream(t) })
}

// testCutMidStream: a stream's connection is reset while its body flows.
// The caller's read fails (it got the headers, so heed cannot send the
// request again); the API saw it once; the next call goes through.
func testCutMidStream(t *testing.T) {
	f := newFigures(t)
	checkGoroutines(t, f)
	rig := newUpstreamRig(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rig.url+"/stream?events=200&interval=10ms", nil)
	req.Header.Set("Authorization", "Bearer "+fleetToken)
	resp, err := rig.tr.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the stream: %v %v, want a 200", resp, err)
	}
	first := make([]byte, 64)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("the stream's first bytes: %v", err)
	}
	dropped := rig.px.Drop()
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	var ne net.Error
	if err == nil {
		t.Errorf("the stream ended cleanly after %d more bytes; want the cut to show as an error", n)
	} else if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &ne) && !strings.Contains(err.Error(), "reset") {
		t.Logf("the cut stream's error: %v", err)
	}
	if a := send(ctx, rig.tr, rig.url+"/upstream/after-cut", fleetToken); a.err != nil || a.status != http.StatusOK {
		t.Errorf("a call after the cut: %+v, want a 200", a)
	}
	sends, _, _ := rig.api.counts()
	if sends["/stream"] != 1 {
		t.Errorf("the API got the stream's request %d times, want once", sends["/stream"])
	}
	f.add("all", "connections cut mid-stream; the caller's error; sends of the stream", "%d; %v; %d", dropped, err, sends["/stream"])
}
