package chaos

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed/mockapi"
)

// The ledger of declared waits: which requests arrived at the mock inside
// a wait it had told, and whether heed could have known of the wait when
// each was sent. The mock counts every arrival inside a wait exactly
// (Counts.DuringWait); the ledger splits that count three ways:
//
//   - in flight: it arrived within the wait's grace of the told answer,
//     so it was on its way (admitted, or already sent by another worker
//     or process) before heed had recorded the wait anywhere;
//   - could not know: it came from a member of the fleet that could not
//     have heard of the wait yet: the member that got the answer was
//     answering from its fallback (the shared store away) and has not been
//     back in touch with the shared store since, or this member has not;
//   - after heed knew: every other one. There must be none.
//
// "In touch with the shared store" is read from each member's own report
// (Snapshot.StoreDown, /-/state) every sampleEvery: a member counts as
// sharing from the first answer that says so. A member knows of a wait
// recorded in the shared store at most grace after it shares again.

// baseGrace is how long after a told answer a request may still arrive
// having been on its way before heed recorded the wait: a worker admitted
// just before, on a loaded 2-core machine with the race detector.
const baseGrace = 250 * time.Millisecond

// told is a wait the mock told a member of the fleet.
type told struct {
	phase  string
	status int       // 429, or a 503 with Retry-After
	member string    // who got the answer
	at     time.Time // when the answered request arrived: the wait starts there
	wait   time.Duration
	grace  time.Duration
}

// end is when the wait ends.
func (w told) end() time.Time { return w.at.Add(w.wait) }

// forceWait makes the mock answer the next request of fleetToken with
// status (429 or 503) and Retry-After: wait, waits until it has, and
// returns the wait it told, with grace for requests on their way.
func forceWait(t *testing.T, m *mockapi.Server, phase string, status int, wait, grace time.Duration) told {
	t.Helper()
	before := countStatus(m.Log(), status)
	if err := m.Force(mockapi.Force{Credential: fleetToken, Status: status, RetryAfter: wait}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		log := m.Log()
		if countStatus(log, status) > before {
			e := nthStatus(log, status, before)
			return told{phase: phase, status: status, member: memberOf(e.Path), at: e.Time, wait: wait, grace: grace}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the forced %d was not answered within 10s", phase, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countStatus counts the log's entries with status.
func countStatus(log []mockapi.LogEntry, status int) int {
	n := 0
	for _, e := range log {
		if e.Status == status {
			n++
		}
	}
	return n
}

// nthStatus returns the log's entry with status number n (from 0).
func nthStatus(log []mockapi.LogEntry, status, n int) mockapi.LogEntry {
	for _, e := range log {
		if e.Status == status {
			if n == 0 {
				return e
			}
			n--
		}
	}
	return mockapi.LogEntry{}
}

// verdict sorts the requests that arrived inside one told wait.
type verdict struct {
	told
	InFlight, Unknowable, AfterKnew int
	late                            []string // the AfterKnew ones, described
}

// judge sorts every log entry the mock marked as inside a wait into the
// verdict of its wait; unmatched lists those inside no told wait, which
// the forced waits do not explain. The waits are in order and apart.
func judge(log []mockapi.LogEntry, waits []told, samples map[string][]sample) (verdicts []verdict, unmatched []string) {
	verdicts = make([]verdict, len(waits))
	for i, w := range waits {
		verdicts[i].told = w
	}
	for _, e := range log {
		if !e.DuringWait {
			continue
		}
		i := sort.Search(len(waits), func(i int) bool { return waits[i].end().After(e.Time) })
		if i == len(waits) || e.Time.Before(waits[i].at) {
			unmatched = append(unmatched, describe(e))
			continue
		}
		v, who := &verdicts[i], memberOf(e.Path)
		switch knew := knownAt(v.told, who, samples); {
		case e.Time.Before(v.at.Add(v.grace)):
			v.InFlight++
		case knew.IsZero() || e.Time.Before(knew):
			v.Unknowable++
		default:
			v.AfterKnew++
			v.late = append(v.late, fmt.Sprintf("%s, %v after heed knew", describe(e), e.Time.Sub(knew).Round(time.Millisecond)))
		}
	}
	return verdicts, unmatched
}

// describe names a log entry for a message.
func describe(e mockapi.LogEntry) string {
	return fmt.Sprintf("%s from %s at %s (status %d)", e.Path, memberOf(e.Path), e.Time.Format("15:04:05.000"), e.Status)
}

// knownAt is when member who knew of wait w: grace after the answer for
// the member that got it; for another, grace after it was first seen in
// touch with the shared store once the wait was there (the receiver seen
// in touch with it after the answer). Zero: not within the wait. "Seen"
// means a sample taken after the event: a member that answered "sharing"
// just before and went down just after (its next operation met a cut) may
// never have reached the shared store in between, and its fallback could
// not know of the wait.
func knownAt(w told, who string, samples map[string][]sample) time.Time {
	if who == w.member {
		return w.at.Add(w.grace)
	}
	recorded := sharingFrom(samples[w.member], w.at, w.end())
	if recorded.IsZero() {
		return time.Time{}
	}
	heard := sharingFrom(samples[who], recorded, w.end())
	if heard.IsZero() {
		return time.Time{}
	}
	return heard.Add(w.grace)
}

// sharingFrom returns the time of the first answer from t (before end)
// that says the member shares; zero if none.
func sharingFrom(xs []sample, t, end time.Time) time.Time {
	i := sort.Search(len(xs), func(i int) bool { return !xs[i].at.Before(t) })
	for ; i < len(xs) && xs[i].at.Before(end); i++ {
		if !xs[i].down {
			return xs[i].at
		}
	}
	return time.Time{}
}

// checkWaits fails t for every request that reached the mock inside a
// told wait after heed knew of it, and for any inside a wait it did not
// tell; it adds the ledger's figures to f. The ledger must account for
// every arrival the mock counted inside a wait.
func checkWaits(t *testing.T, f *figures, m *mockapi.Server, waits []told, samples map[string][]sample) {
	t.Helper()
	log := m.Log()
	st := m.Stats().Total
	if len(log) < st.Requests {
		t.Fatalf("the mock's log holds %d of %d requests: raise its LogSize", len(log), st.Requests)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i].at.Before(waits[i-1].end()) {
			t.Fatalf("the waits told at %s and %s overlap: the ledger needs them apart", waits[i-1].at.Format("15:04:05.000"), waits[i].at.Format("15:04:05.000"))
		}
	}
	verdicts, unmatched := judge(log, waits, samples)
	var inFlight, unknowable, after int
	for _, v := range verdicts {
		inFlight += v.InFlight
		unknowable += v.Unknowable
		after += v.AfterKnew
		f.add(v.phase, "wait told (status, length, to)", "%d, %v, %s", v.status, v.wait, v.member)
		f.add(v.phase, "inside it: in flight / could not know / after heed knew", "%d / %d / %d", v.InFlight, v.Unknowable, v.AfterKnew)
		if v.AfterKnew > 0 {
			t.Errorf("%s: %d requests reached the mock inside a %v wait told to %s at %s after heed knew of it: %v\nwhat the members said of their store meanwhile: %s",
				v.phase, v.AfterKnew, v.wait, v.member, v.at.Format("15:04:05.000"), v.late, timeline(samples, v.at.Add(-sampleEvery*2), v.end()))
		}
	}
	if len(unmatched) > 0 {
		t.Errorf("%d requests inside a wait the test did not force: %v", len(unmatched), unmatched)
	}
	if got := inFlight + unknowable + after + len(unmatched); got != st.DuringWait {
		t.Errorf("the ledger sorted %d requests inside waits, the mock counted %d", got, st.DuringWait)
	}
	f.add("all", "requests at the API", "%d", st.Requests)
	f.add("all", "requests inside a declared wait after heed knew", "%d", after)
	f.add("all", "inside a declared wait: in flight / could not know", "%d / %d", inFlight, unknowable)
}

// timeline describes, member by member, when the answers between from
// and to changed (down or sharing), for a failure's message.
func timeline(samples map[string][]sample, from, to time.Time) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(samples)) {
		fmt.Fprintf(&b, "\n  %s:", name)
		prev := -1
		for _, x := range samples[name] {
			if x.at.Before(from) || x.at.After(to) {
				continue
			}
			if now := map[bool]int{false: 0, true: 1}[x.down]; now != prev {
				prev = now
				fmt.Fprintf(&b, " %s %s", x.at.Format("15:04:05.000"), map[bool]string{false: "sharing", true: "down"}[x.down])
			}
		}
	}
	return b.String()
}

// TestJudge checks the ledger itself on a made-up log: a request within
// the grace is in flight; one from a member cut off from the shared store
// (or not seen in touch with it since the wait was told) could not know; any other after heed knew; one inside no told wait is
// unmatched.
func TestJudge(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	entry := func(who string, d time.Duration) mockapi.LogEntry {
		return mockapi.LogEntry{Time: at(d), Path: "/" + who + "/items", Status: 200, DuringWait: true}
	}
	sharing := func(from, to time.Duration, down func(time.Duration) bool) []sample {
		var xs []sample
		for d := from; d < to; d += sampleEvery {
			xs = append(xs, sample{at: at(d), down: down(d)})
		}
		return xs
	}
	never := func(time.Duration) bool { return false }
	samples := map[string][]sample{
		"a": sharing(-time.Second, 20*time.Second, func(d time.Duration) bool { return d >= 9*time.Second && d < 12*time.Second }),
		"b": sharing(-time.Second, 20*time.Second, never),
		// c shares until just before the first wait, and is down from it
		// (its next operation met a cut) for 2s.
		"c": sharing(-time.Second, 20*time.Second, func(d time.Duration) bool { return d >= 0 && d < 2*time.Second }),
	}
	waits := []told{
		{phase: "shared", member: "a", at: at(0), wait: 3 * time.Second, grace: baseGrace},
		{phase: "a cut off", member: "a", at: at(10 * time.Second), wait: 3 * time.Second, grace: baseGrace},
	}
	log := []mockapi.LogEntry{
		entry("a", 100*time.Millisecond), entry("b", 200*time.Millisecond), // in flight
		entry("b", 600*time.Millisecond), entry("a", 2*time.Second), // after heed knew
		entry("c", time.Second),                         // c said "sharing" just before the wait, but was never seen in touch after it: could not know
		entry("b", 5*time.Second),                       // inside no told wait
		entry("a", 10*time.Second+100*time.Millisecond), // in flight
		entry("b", 11*time.Second),                      // a is cut off: b could not know
		entry("a", 11*time.Second),                      // a knew
		entry("b", 12*time.Second+100*time.Millisecond), // a shares again at 12s: within the grace
		entry("b", 12*time.Second+500*time.Millisecond), // after heed knew
	}
	verdicts, unmatched := judge(log, waits, samples)
	got := [][3]int{{verdicts[0].InFlight, verdicts[0].Unknowable, verdicts[0].AfterKnew}, {verdicts[1].InFlight, verdicts[1].Unknowable, verdicts[1].AfterKnew}}
	want := [][3]int{{2, 1, 2}, {1, 2, 2}}
	if got[0] != want[0] || got[1] != want[1] || len(unmatched) != 1 {
		t.Errorf("in flight / could not know / after heed knew: got %v and %d unmatched, want %v and 1", got, len(unmatched), want)
	}
}
