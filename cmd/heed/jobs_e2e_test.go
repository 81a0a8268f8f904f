package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
)

// Crash acceptance tests of heed serve's jobs (/v1/jobs) with the real
// binary: 200 jobs against a mock API limited to 20 requests per second,
// heed serve killed with SIGKILL halfway, and then every job must succeed,
// the jobs the killed process was running within crashRecoverWithin of the
// kill, every callback arrive signed (again only for work in flight in the
// killed process), and the mock must never have been sent a request inside
// a wait it told.

const (
	// crashJobs is how many jobs each crash test submits, in batches of
	// crashBatch.
	crashJobs  = 200
	crashBatch = 50
	// crashLimit is the mock's limit (sliding window, per second) and the
	// limit heed serve is configured with.
	crashLimit = 20
	// crashToken is the credential every job sends upstream.
	crashToken = "crash-token"
	// crashSecret signs the callbacks.
	crashSecret = "crash-callback-secret-0123456789"
	// crashKey seals the jobs' credentials: 32 bytes in standard base64.
	crashKey = "Y3Jhc2gta2V5LWNyYXNoLWtleS1jcmFzaC1rZXktMDE="
	// crashKillAt is how many requests the mock has accepted when heed
	// serve is killed: some jobs done, most not (about 3s in).
	crashKillAt = 60
	// crashRecoverWithin is how soon after the kill the jobs that were
	// running in the killed process must have run again and finished: at
	// once on SQLite (the restarted process holds the database alone), and
	// on PostgreSQL once the killed process's heartbeat has lapsed (10s
	// after its last beat, found within 1s). crashJobTimeout keeps River's
	// rescuer (job_timeout + 15s) from being what brings them back.
	crashRecoverWithin = 15 * time.Second
	crashJobTimeout    = "1m"
	// crashFinishWithin bounds the wait for every job and callback after
	// the kill, generous for a loaded machine; crashRecoverWithin is what
	// the tests assert.
	crashFinishWithin = 60 * time.Second
	// jobsPollEvery is how often the tests read the queue while waiting.
	jobsPollEvery = 250 * time.Millisecond
)

// jobsConfig is heed serve's config for the crash tests: one upstream,
// the mock, limited like it; jobs on database with a job timeout of
// crashJobTimeout, credentials sealed under crashKey and signed callbacks
// to loopback. extra is prepended (a shared store).
func jobsConfig(extra, mockURL, database string) string {
	return fmt.Sprintf(`%supstreams:
  - name: mock
    base_url: %s
    limits: [{requests: %d, per: 1s}]
jobs:
  database: %s
  callback_allow: ["http://127.0.0.1:*"]
  callback_secret: %s
  encryption_key: %s
  job_timeout: %s
`, extra, mockURL, crashLimit, database, crashSecret, crashKey, crashJobTimeout)
}

// processOf is the name a heed serve's jobs work under (River's client ID,
// in river_job.attempted_by), from its "jobs: starting" log line.
func processOf(t *testing.T, p *serveProc) string {
	t.Helper()
	p.waitStderr(t, `msg="jobs: starting" process=`, serveStartTimeout)
	_, rest, _ := strings.Cut(p.stderr.String(), `msg="jobs: starting" process=`)
	if f := strings.Fields(rest); len(f) > 0 {
		return f[0]
	}
	t.Fatalf("no process name after \"jobs: starting\"; stderr:\n%s", p.stderr.String())
	return ""
}

// reclaimedBy counts the jobs p logged it reclaimed from process: request
// jobs and callbacks, each once (or more, when a concurrent reclaim
// applied first).
func reclaimedBy(p *serveProc, process string) int {
	n := 0
	for line := range strings.Lines(p.stderr.String()) {
		if strings.Contains(line, `msg="jobs: reclaimed a job whose process died"`) && strings.Contains(line, " process="+process+" ") {
			n++
		}
	}
	return n
}

// crashRun is what a crash test knows of its kill.
type crashRun struct {
	killedAt  time.Time
	killed    string   // the killed process (processOf)
	reclaimed int      // how many of its jobs (reclaimedBy)
	alive     []string // the processes alive throughout, whose jobs no other may take
	forced    int      // the refusals the test forced at the mock
}

// startLimitedMock runs an in-process mock API limited to crashLimit
// requests per second per credential (sliding window).
func startLimitedMock(t *testing.T) (*mockapi.Server, string) {
	t.Helper()
	m, err := mockapi.New(mockapi.Config{Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmSliding, Requests: crashLimit, Per: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv.URL
}

// callbackReceiver is a client's callback endpoint: it checks each
// callback's signature and body and counts deliveries by job id. It is
// safe for concurrent use.
type callbackReceiver struct {
	url    string
	secret []byte

	mu       sync.Mutex // guards got and problems
	got      map[int64]int
	problems []string
}

// startCallbackReceiver starts a receiver of callbacks signed with secret.
func startCallbackReceiver(t *testing.T, secret string) *callbackReceiver {
	t.Helper()
	c := &callbackReceiver{secret: []byte(secret), got: make(map[int64]int)}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	c.url = srv.URL + "/callback"
	return c
}

// ServeHTTP records a callback: 204 when it is well signed and describes
// a succeeded job, 400 otherwise.
func (c *callbackReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = c.check(r, body)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.problems = append(c.problems, err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	id, _ := strconv.ParseInt(r.Header.Get(jobs.JobIDHeader), 10, 64)
	c.got[id]++
	w.WriteHeader(http.StatusNoContent)
}

// check verifies a callback as a client would: the method and path, the
// HMAC of "t.body" under the secret, a timestamp near now, and a body
// describing the job the Heed-Job-Id header names, succeeded.
func (c *callbackReceiver) check(r *http.Request, body []byte) error {
	if r.Method != http.MethodPost || r.URL.Path != "/callback" {
		return fmt.Errorf("callback %s %s, want POST /callback", r.Method, r.URL.Path)
	}
	sig := r.Header.Get(jobs.SignatureHeader)
	ts, mac, ok := parseSignature(sig)
	if !ok {
		return fmt.Errorf("%s %q: want t=<unix>,v1=<hex>", jobs.SignatureHeader, sig)
	}
	h := hmac.New(sha256.New, c.secret)
	h.Write([]byte(ts + "." + string(body)))
	if !hmac.Equal(mac, h.Sum(nil)) {
		return fmt.Errorf("%s %q does not sign the body", jobs.SignatureHeader, sig)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if d := time.Since(time.Unix(sec, 0)); err != nil || d > time.Minute || d < -time.Minute {
		return fmt.Errorf("%s %q: the timestamp is not within a minute of now", jobs.SignatureHeader, sig)
	}
	var j jobs.Job
	if err := json.Unmarshal(body, &j); err != nil {
		return fmt.Errorf("callback body %q: %v", body, err)
	}
	if id := r.Header.Get(jobs.JobIDHeader); id != strconv.FormatInt(j.ID, 10) {
		return fmt.Errorf("%s %q, but the body is job %d", jobs.JobIDHeader, id, j.ID)
	}
	if j.State != jobs.StateSucceeded || j.Response == nil || j.Response.Status != http.StatusOK {
		return fmt.Errorf("callback of job %d: state %q, response %+v, want succeeded with a 200", j.ID, j.State, j.Response)
	}
	return nil
}

// parseSignature splits "t=<unix>,v1=<hex>".
func parseSignature(s string) (ts string, mac []byte, ok bool) {
	t, v1, ok := strings.Cut(s, ",")
	ts, okT := strings.CutPrefix(t, "t=")
	hexMAC, okV := strings.CutPrefix(v1, "v1=")
	mac, err := hex.DecodeString(hexMAC)
	return ts, mac, ok && okT && okV && err == nil && ts != "" && len(mac) == sha256.Size
}

// deliveries returns the deliveries by job id and the problems seen.
func (c *callbackReceiver) deliveries() (map[int64]int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := make(map[int64]int, len(c.got))
	for id, n := range c.got {
		got[id] = n
	}
	return got, slices.Clone(c.problems)
}

// distinct returns how many jobs called back.
func (c *callbackReceiver) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// postJSON posts v as JSON to url.
func postJSON(t *testing.T, url string, v any) reply {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	req := newRequest(t, http.MethodPost, url, "", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return do(t, nil, req)
}

// crashJob is job n of a crash test: a POST to the mock with the crash
// credential, an idempotency key and a callback.
func crashJob(n int, callbackURL string) map[string]any {
	return map[string]any{
		"upstream":        "mock",
		"method":          "POST",
		"path":            fmt.Sprintf("/v1/items/%d", n),
		"query":           map[string]any{"n": strconv.Itoa(n)},
		"headers":         map[string]any{"Authorization": "Bearer " + crashToken, "Content-Type": "application/json"},
		"body":            fmt.Sprintf(`{"item":%d}`, n),
		"callback_url":    callbackURL,
		"idempotency_key": fmt.Sprintf("crash-%d", n),
	}
}

// submitCrashJobs submits crashJobs jobs to base in batches and returns
// their ids.
func submitCrashJobs(t *testing.T, base, callbackURL string) []int64 {
	t.Helper()
	var ids []int64
	for first := 0; first < crashJobs; first += crashBatch {
		batch := make([]map[string]any, crashBatch)
		for i := range batch {
			batch[i] = crashJob(first+i, callbackURL)
		}
		r := postJSON(t, base+"/v1/jobs:batch", map[string]any{"jobs": batch})
		var out struct {
			Jobs []struct {
				ID        int64  `json:"id"`
				StatusURL string `json:"status_url"`
			} `json:"jobs"`
		}
		if err := json.Unmarshal(r.body, &out); err != nil || r.status != http.StatusAccepted || len(out.Jobs) != crashBatch {
			t.Fatalf("batch from job %d: got status %d, %d jobs (%v), want 202 and %d jobs; body %s", first, r.status, len(out.Jobs), err, crashBatch, r.body)
		}
		for _, j := range out.Jobs {
			if want := fmt.Sprintf("%s/v1/jobs/%d", base, j.ID); j.StatusURL != want {
				t.Errorf("status_url: got %q, want %q", j.StatusURL, want)
			}
			ids = append(ids, j.ID)
		}
	}
	return ids
}

// listJobs lists the jobs in state ("" for all), following the cursor.
func listJobs(t *testing.T, base, state string) []jobs.Job {
	t.Helper()
	var all []jobs.Job
	cursor := ""
	for {
		q := url.Values{"limit": {"1000"}}
		if state != "" {
			q.Set("state", state)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := getWith(t, nil, base+"/v1/jobs?"+q.Encode(), "")
		var page struct {
			Jobs       []jobs.Job `json:"jobs"`
			NextCursor string     `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil || r.status != http.StatusOK {
			t.Fatalf("GET /v1/jobs?%s: got status %d (%v), want 200; body %s", q.Encode(), r.status, err, r.body)
		}
		all = append(all, page.Jobs...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

// countStates counts jobs by state.
func countStates(js []jobs.Job) map[string]int {
	n := make(map[string]int)
	for _, j := range js {
		n[j.State]++
	}
	return n
}

// waitMock waits up to 30s until count of the mock's totals reaches n;
// what names the count in the failure.
func waitMock(t *testing.T, m *mockapi.Server, what string, count func(mockapi.Counts) int, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for count(m.Stats().Total) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the mock %s %d requests in 30s, want %d; stats %+v", what, count(m.Stats().Total), n, m.Stats().Total)
		}
		time.Sleep(pollEvery)
	}
}

func accepted(c mockapi.Counts) int { return c.Accepted }
func limited(c mockapi.Counts) int  { return c.Limited }

// kill sends SIGKILL to p, waits for it to die, and returns how many
// requests the mock had accepted by then, which must be fewer than the
// jobs: the kill must land mid-way.
func kill(t *testing.T, p *serveProc, m *mockapi.Server) int {
	t.Helper()
	p.signal(t, syscall.SIGKILL)
	p.wait(t, serveStopTimeout)
	n := m.Stats().Total.Accepted
	if n >= crashJobs {
		t.Fatalf("the mock had accepted %d requests when heed serve died: the kill came after the work, not mid-way", n)
	}
	return n
}

// waitJobsDone waits, up to crashFinishWithin, until every job has
// succeeded and called back.
func waitJobsDone(t *testing.T, base string, recv *callbackReceiver) {
	t.Helper()
	deadline := time.Now().Add(crashFinishWithin)
	for {
		all := listJobs(t, base, "")
		states := countStates(all)
		if states[jobs.StateSucceeded] == crashJobs && recv.distinct() == crashJobs {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: jobs by state %v, %d jobs called back; want all %d succeeded and called back",
				crashFinishWithin, states, recv.distinct(), crashJobs)
		}
		time.Sleep(jobsPollEvery)
	}
}

// checkCrashOutcome checks the end of a crash test: every submitted job
// succeeded with the mock's 200, each called back at least once with a
// valid signature, the jobs of the killed process were recovered as
// checkRecovery says, and the mock refused only the forced requests and
// saw no request inside a wait it had told.
func checkCrashOutcome(t *testing.T, base string, ids []int64, recv *callbackReceiver, m *mockapi.Server, run crashRun) {
	t.Helper()
	submitted := make(map[int64]bool, len(ids))
	for _, id := range ids {
		submitted[id] = true
	}
	if len(submitted) != crashJobs {
		t.Errorf("submitted ids: got %d distinct, want %d", len(submitted), crashJobs)
	}
	all := listJobs(t, base, "")
	if len(all) != crashJobs {
		t.Errorf("jobs listed: got %d, want %d", len(all), crashJobs)
	}
	for _, j := range all {
		if !submitted[j.ID] || j.State != jobs.StateSucceeded || j.Response == nil || j.Response.Status != http.StatusOK {
			t.Errorf("job %d (submitted: %v): state %q, response %+v, want a submitted job, succeeded with a 200", j.ID, submitted[j.ID], j.State, j.Response)
		}
	}
	got, problems := recv.deliveries()
	for _, p := range problems {
		t.Errorf("a bad callback: %s", p)
	}
	deliveries := 0
	for id, n := range got {
		deliveries += n
		if !submitted[id] {
			t.Errorf("a callback for job %d, which was not submitted", id)
		}
	}
	for _, id := range ids {
		if got[id] == 0 {
			t.Errorf("job %d never called back", id)
		}
	}
	if len(got) != crashJobs {
		t.Errorf("jobs called back: got %d distinct, want %d", len(got), crashJobs)
	}
	ranAgain := checkRecovery(t, all, deliveries-len(got), run)
	st := m.Stats()
	cred := st.Credentials[mockapi.CredID(crashToken)]
	if cred.Accepted < crashJobs {
		t.Errorf("requests accepted by the mock: got %d, want at least %d", cred.Accepted, crashJobs)
	}
	// The restarted or surviving process starts pacing only after the
	// mock's window has emptied (SQLite: the test waits a second before the
	// restart) or from the shared store (PostgreSQL): no refusal is
	// expected beyond the forced ones, let alone a request inside a told
	// wait.
	if st.Total.Limited != run.forced {
		t.Errorf("requests refused by the mock: got %d, want %d (forced)", st.Total.Limited, run.forced)
	}
	if st.Total.DuringWait != 0 {
		t.Errorf("requests inside a wait the mock told: got %d, want 0", st.Total.DuringWait)
	}
	t.Logf("figures: %d jobs succeeded, %d of them run again after the kill; %d callbacks for %d distinct jobs (%d bad); the mock: %d requests, %d accepted, %d refused, %d during a wait; %d requests sent again",
		crashJobs, ranAgain, deliveries, len(got), len(problems), st.Total.Requests, st.Total.Accepted, st.Total.Limited, st.Total.DuringWait, resent(m))
}

// checkRecovery checks how the jobs the killed process was running came
// back, and returns how many ran again. With no refusal and no 5xx, a job
// runs twice only when the process running it died: the kill always leaves
// some (the workers are never idle with a backlog). Each must have been
// reclaimed from the killed process, never from one alive, and have
// finished within crashRecoverWithin of the kill. repeats counts the
// callbacks delivered again, which only the work reclaimed from the killed
// process may cause: a job that had queued its callback when the process
// died (while it ran, or before River recorded its completion) queues
// another when it runs again, and a callback being delivered is delivered
// again.
func checkRecovery(t *testing.T, all []jobs.Job, repeats int, run crashRun) int {
	t.Helper()
	ranAgain := 0
	var lastOnce, lastAgain time.Duration // after the kill
	for _, j := range all {
		var after time.Duration
		if j.FinishedAt != nil {
			after = j.FinishedAt.Sub(run.killedAt)
		}
		for _, p := range run.alive {
			if strings.Contains(j.Error, p) {
				t.Errorf("job %d: error %q names %s, which was alive: a live process's job was taken", j.ID, j.Error, p)
			}
		}
		if j.Attempts == 1 {
			lastOnce = max(lastOnce, after)
			continue
		}
		ranAgain++
		lastAgain = max(lastAgain, after)
		if want := "heed: reclaimed from process " + run.killed + ","; !strings.HasPrefix(j.Error, want) {
			t.Errorf("job %d ran %d times, last error %q: want it reclaimed from the killed process (%q)", j.ID, j.Attempts, j.Error, want)
		}
		if after > crashRecoverWithin {
			t.Errorf("job %d, reclaimed, finished %v after the kill, want within %v", j.ID, after.Round(time.Millisecond), crashRecoverWithin)
		}
	}
	if ranAgain == 0 || ranAgain > run.reclaimed {
		t.Errorf("jobs run again: got %d, want at least 1 (the kill leaves some running) and at most the %d reclaimed", ranAgain, run.reclaimed)
	}
	if repeats > run.reclaimed {
		t.Errorf("callbacks delivered again: got %d, want at most the %d jobs and callbacks reclaimed", repeats, run.reclaimed)
	}
	t.Logf("recovery: %d jobs and callbacks reclaimed; %d jobs the killed process was running finished again, the last %v after the kill (bound %v); the last job run once finished %v after it; %d callbacks delivered again",
		run.reclaimed, ranAgain, lastAgain.Round(time.Millisecond), crashRecoverWithin, lastOnce.Round(time.Millisecond), repeats)
	return ranAgain
}

// resent counts the idempotency keys the mock saw more than once: the
// requests of jobs that ran again after the crash.
func resent(m *mockapi.Server) int {
	seen := make(map[string]int)
	for _, e := range m.Log() {
		if e.IdempotencyKey != "" {
			seen[e.IdempotencyKey]++
		}
	}
	n := 0
	for _, c := range seen {
		if c > 1 {
			n++
		}
	}
	return n
}

// TestJobsCrashSQLite: one heed serve with jobs on SQLite is killed with
// SIGKILL while working through 200 jobs, and restarted on the same
// database; the restarted process, which holds the database alone, makes
// the jobs left running available again before its workers start,
// finishes every job and calls back.
func TestJobsCrashSQLite(t *testing.T) {
	t.Parallel()
	crashAndRestart(t, "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
}

// TestJobsCrashPostgresRestart: as TestJobsCrashSQLite, on PostgreSQL: the
// restarted process reclaims the killed one's running jobs once its
// heartbeat has lapsed.
func TestJobsCrashPostgresRestart(t *testing.T) {
	t.Parallel()
	crashAndRestart(t, testenv.Postgres(t))
}

// crashAndRestart runs one heed serve with jobs on database, kills it with
// SIGKILL while it works through the jobs, restarts it on the same
// database, and checks the outcome (checkCrashOutcome).
func crashAndRestart(t *testing.T, database string) {
	t.Helper()
	mock, mockURL := startLimitedMock(t)
	recv := startCallbackReceiver(t, crashSecret)
	cfg := jobsConfig("", mockURL, database)
	start := time.Now()

	first := startServe(t, cfg)
	killed := processOf(t, first)
	ids := submitCrashJobs(t, first.url, recv.url)
	waitMock(t, mock, "accepted", accepted, crashKillAt)
	running := len(listJobs(t, first.url, jobs.StateRunning))
	atKill := kill(t, first, mock)
	killedAt := time.Now()
	// The memory store's pacing died with the process: a restart within
	// the mock's one-second window could send a second window's worth of
	// requests into it. A client restarting a crashed proxy at once would
	// see a 429 (and a cooldown) here; the test waits the window out so
	// that any refusal is a real pacing bug.
	time.Sleep(time.Until(killedAt.Add(1100 * time.Millisecond)))

	second := startServe(t, cfg)
	waitJobsDone(t, second.url, recv)
	t.Logf("killed after %v with %d requests accepted and %d jobs running just before; all done %v after the kill, %v in all",
		killedAt.Sub(start).Round(time.Millisecond), atKill, running, time.Since(killedAt).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	checkCrashOutcome(t, second.url, ids, recv, mock, crashRun{killedAt: killedAt, killed: killed,
		reclaimed: reclaimedBy(second, killed), alive: []string{processOf(t, second)}})
}

// TestJobsCrashPostgres: two heed serve processes work one queue on
// PostgreSQL and pace and cool down together through one Redis; one is
// killed with SIGKILL mid-way, during a cooldown the mock forced, and the
// survivor, never restarted, keeps the cooldown, reclaims the killed one's
// running jobs once its heartbeat has lapsed (never its own), finishes
// every job and calls back.
func TestJobsCrashPostgres(t *testing.T) {
	t.Parallel()
	database := testenv.Postgres(t)
	redisAddr := testenv.Redis(t)
	mock, mockURL := startLimitedMock(t)
	recv := startCallbackReceiver(t, crashSecret)
	shared := fmt.Sprintf("store: redis://%s/0\nfingerprint_secret: crash-fingerprint-secret-0123\n", redisAddr)
	cfg := jobsConfig(shared, mockURL, database)
	start := time.Now()

	victim, survivor := startServe(t, cfg), startServe(t, cfg)
	killed, alive := processOf(t, victim), processOf(t, survivor)
	ids := submitCrashJobs(t, victim.url, recv.url)
	waitMock(t, mock, "accepted", accepted, crashKillAt)
	// A 429 with Retry-After: 2, to whichever process sends next, just
	// before the kill: the cooldown lives in Redis, so the survivor must
	// keep it even if the victim took the 429 and died.
	if err := mock.Force(mockapi.Force{Credential: crashToken, Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	waitMock(t, mock, "refused", limited, 1)
	running := len(listJobs(t, survivor.url, jobs.StateRunning))
	atKill := kill(t, victim, mock)
	killedAt := time.Now()

	waitJobsDone(t, survivor.url, recv)
	t.Logf("killed one after %v with %d requests accepted and %d jobs running just before (both processes); all done %v after the kill, %v in all",
		killedAt.Sub(start).Round(time.Millisecond), atKill, running, time.Since(killedAt).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	checkCrashOutcome(t, survivor.url, ids, recv, mock, crashRun{killedAt: killedAt, killed: killed,
		reclaimed: reclaimedBy(survivor, killed), alive: []string{alive}, forced: 1})
	if survivor.exited() {
		t.Errorf("the survivor exited with status %d; stderr:\n%s", survivor.code, survivor.stderr.String())
	}
}

// TestJobsSQLiteHeldAlone: a second heed serve on the SQLite file of a
// running one fails to start, saying why, and the first keeps serving.
func TestJobsSQLiteHeldAlone(t *testing.T) {
	t.Parallel()
	_, mockURL := startMock(t)
	db := filepath.Join(t.TempDir(), "jobs.db")
	cfg := jobsConfig("", mockURL, "sqlite://"+db)
	first := startServe(t, cfg)
	code, _, stderr := runServeConfig(t, cfg, "--listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(stderr, "in use by another process") || !strings.Contains(stderr, db+".lock") {
		t.Errorf("a second heed serve on %s: exit status %d, stderr %q; want a failure saying the database is in use, naming its lock", db, code, stderr)
	}
	if r := getWith(t, nil, first.url+"/v1/jobs", ""); r.status != http.StatusOK || first.exited() {
		t.Errorf("the first heed serve after the second's attempt: GET /v1/jobs %d (exited: %v), want 200, running", r.status, first.exited())
	}
}

// jobsAPIError is the body of an error of the job API.
type jobsAPIError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Fields  []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"fields"`
}

// TestJobsRefusesInvalid: the real binary refuses, with a 400 invalid_job
// naming the field, a job for an upstream it does not have, a path that
// would leave the upstream's base URL (in any encoding), a method that is
// no API's, and a callback outside the allow-list; a batch holding one
// such job stores none of them.
func TestJobsRefusesInvalid(t *testing.T) {
	t.Parallel()
	mock, mockURL := startMock(t)
	p := startServe(t, jobsConfig("", mockURL, "sqlite://"+filepath.Join(t.TempDir(), "jobs.db")))
	valid := map[string]any{"upstream": "mock", "path": "/v1/items"}
	with := func(k, v string) map[string]any {
		j := map[string]any{"upstream": "mock", "path": "/v1/items"}
		j[k] = v
		return j
	}
	tests := []struct {
		name, endpoint string
		body           any
		field          string
	}{
		{"UnknownUpstream", "/v1/jobs", with("upstream", "elsewhere"), "upstream"},
		{"NoUpstream", "/v1/jobs", map[string]any{"path": "/v1/items"}, "upstream"},
		{"AbsoluteURLPath", "/v1/jobs", with("path", "http://evil.example/steal"), "path"},
		{"HostRelativePath", "/v1/jobs", with("path", "//evil.example/steal"), "path"},
		{"DotDotPath", "/v1/jobs", with("path", "/v1/../../admin"), "path"},
		{"EncodedDotDotPath", "/v1/jobs", with("path", "/%2e%2e/admin"), "path"},
		{"DoubleEncodedDotDotPath", "/v1/jobs", with("path", "/%252e%252e/admin"), "path"},
		{"ConnectMethod", "/v1/jobs", with("method", "CONNECT"), "method"},
		{"LongMethod", "/v1/jobs", with("method", strings.Repeat("G", 100<<10)), "method"},
		{"CallbackNotAllowed", "/v1/jobs", with("callback_url", "http://10.0.0.1:8080/cb"), "callback_url"},
		{"BatchAbsoluteURLPath", "/v1/jobs:batch", map[string]any{"jobs": []any{valid, with("path", "https://evil.example/")}}, "jobs[1].path"},
		{"BatchUnknownUpstream", "/v1/jobs:batch", map[string]any{"jobs": []any{with("upstream", "elsewhere"), valid}}, "jobs[0].upstream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postJSON(t, p.url+tt.endpoint, tt.body)
			wantServeError(t, r, http.StatusBadRequest, jobs.CodeInvalidJob)
			var e jobsAPIError
			_ = json.Unmarshal(r.body, &e)
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			if !slices.Equal(fields, []string{tt.field}) {
				t.Errorf("fields: got %q, want [%q] (body %s)", fields, tt.field, r.body)
			}
			if !strings.Contains(e.Message, tt.field) {
				t.Errorf("message %q does not name the field %q", e.Message, tt.field)
			}
		})
	}
	if js := listJobs(t, p.url, ""); len(js) != 0 {
		t.Errorf("jobs stored after the refusals: got %d, want 0: %+v", len(js), js)
	}
	if n := mock.Stats().Total.Requests; n != 0 {
		t.Errorf("requests at the upstream: got %d, want 0", n)
	}
}
