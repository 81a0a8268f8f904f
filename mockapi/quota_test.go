package mockapi

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/heedhq/heed/quota"
)

// heed's own parser must read back what the mock meant, for every dialect
// and algorithm: whether a request was refused, how long to wait, what
// remains and when it resets. The truth is a second limiter fed the same
// arrivals.
func TestQuotaParseReadsEveryDialect(t *testing.T) {
	t.Parallel()
	dialects := []struct {
		name, vendor string
		describes    bool
	}{
		{DialectGitHub, quota.VendorGitHub, true},
		{DialectOpenAI, quota.VendorOpenAI, true},
		{DialectAnthropic, quota.VendorAnthropic, true},
		{DialectIETF, "", true},
		{DialectRetryAfter, "", false},
		{DialectNone, "", false},
	}
	limits := []Limit{
		{Algorithm: AlgorithmFixed, Requests: 3, Per: 2 * time.Second},
		{Algorithm: AlgorithmSliding, Requests: 3, Per: 2 * time.Second},
		{Algorithm: AlgorithmToken, Requests: 3, Per: 2 * time.Second, Burst: 3},
	}
	for _, dl := range dialects {
		for _, l := range limits {
			t.Run(dl.name+"/"+l.Algorithm, func(t *testing.T) {
				t.Parallel()
				rt := roundTrip{dialect: dl.name, vendor: dl.vendor, describes: dl.describes}
				rt.run(t, l)
			})
		}
	}
}

// roundTrip sends arrivals to a mock and parses each answer with quota.
type roundTrip struct {
	dialect, vendor string
	describes       bool
}

// run sends 40 requests 170ms apart, from t0+0.3s, and checks each answer
// against a reference limiter; both accepted and refused answers must occur.
func (rt roundTrip) run(t *testing.T, l Limit) {
	clock := newFakeClock(t0)
	s := newTestServer(t, Config{Limit: l, Dialect: rt.dialect}, clock)
	ref := newLimiter(l)
	seen := map[bool]int{}
	for i := range 40 {
		now := t0.Add(300*time.Millisecond + time.Duration(i)*170*time.Millisecond)
		clock.Set(now)
		want := ref.take(now)
		seen[want.allowed]++
		resp := get(s, "/v1/x", "key")
		body, _ := io.ReadAll(resp.Body)
		sig := quota.Parse(quota.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, now)
		rt.check(t, fmt.Sprintf("request %d at +%v", i, now.Sub(t0)), sig, want, now)
	}
	if seen[true] == 0 || seen[false] == 0 {
		t.Fatalf("got %d accepted and %d refused requests, want some of each", seen[true], seen[false])
	}
}

// check compares what quota read with the reference decision.
func (rt roundTrip) check(t *testing.T, at string, sig quota.Signal, want decision, now time.Time) {
	t.Helper()
	if sig.Limited != !want.allowed {
		t.Errorf("%s: got Limited %v, want %v", at, sig.Limited, !want.allowed)
	}
	if sig.Vendor != rt.vendor {
		t.Errorf("%s: got vendor %q, want %q", at, sig.Vendor, rt.vendor)
	}
	rt.checkWait(t, at, sig, want, now)
	if !rt.describes {
		if len(sig.Quotas) != 0 {
			t.Errorf("%s: got quotas %+v, want none", at, sig.Quotas)
		}
		return
	}
	if len(sig.Quotas) != 1 {
		t.Fatalf("%s: got %d quotas, want 1: %+v", at, len(sig.Quotas), sig.Quotas)
	}
	q := sig.Quotas[0]
	if !q.HasLimit || q.Limit != float64(want.limit) || !q.HasRemaining || q.Remaining != float64(want.remaining) {
		t.Errorf("%s: got limit %v remaining %v, want %d and %d", at, q.Limit, q.Remaining, want.limit, want.remaining)
	}
	checkRoundedUp(t, at+": reset", q.Reset.Sub(now), want.reset.Sub(now))
}

// checkWait checks the wait quota read: the stated wait on a refusal (none
// for the bare dialect), the reset on an answer that spent the last unit,
// and none otherwise.
func (rt roundTrip) checkWait(t *testing.T, at string, sig quota.Signal, want decision, now time.Time) {
	t.Helper()
	switch {
	case !want.allowed && rt.dialect == DialectNone:
		if sig.Wait != 0 {
			t.Errorf("%s: got wait %v from a bare 429, want 0", at, sig.Wait)
		}
	case !want.allowed:
		checkRoundedUp(t, at+": wait", sig.Wait, want.wait)
		if !sig.WaitHelps() {
			t.Errorf("%s: got cause %v, want a rate limit that waiting cures", at, sig.Cause)
		}
	case want.remaining == 0 && rt.describes:
		checkRoundedUp(t, at+": wait after the last unit", sig.Wait, want.reset.Sub(now))
	default:
		if sig.Wait != 0 {
			t.Errorf("%s: got wait %v (%s), want 0", at, sig.Wait, sig.WaitSource)
		}
	}
}

// checkRoundedUp checks that got is exact rounded up by less than a second.
func checkRoundedUp(t *testing.T, what string, got, exact time.Duration) {
	t.Helper()
	if got < exact || got >= exact+time.Second {
		t.Errorf("%s: got %v, want %v rounded up by less than 1s", what, got, exact)
	}
}
