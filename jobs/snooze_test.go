package jobs_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
)

// answerLog is an http.RoundTripper that notes each answer of next: when
// it came back and the refusal heed.RefusalOf reads in it. before, when
// set, runs once just before the first request goes to next.
type answerLog struct {
	next   http.RoundTripper
	before func()
	once   sync.Once

	mu      sync.Mutex // guards answers
	answers []answer
}

// answer is one answer an answerLog saw.
type answer struct {
	at      time.Time
	status  int
	refusal *heed.Refusal // nil when the answer is no refusal
}

func (l *answerLog) RoundTrip(r *http.Request) (*http.Response, error) {
	if l.before != nil {
		l.once.Do(l.before)
	}
	resp, err := l.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	ref, _ := heed.RefusalOf(resp)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers = append(l.answers, answer{at: time.Now(), status: resp.StatusCode, refusal: ref})
	return resp, nil
}

// seen returns the answers so far.
func (l *answerLog) seen() []answer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]answer(nil), l.answers...)
}

// get sends GET url with the bearer token tok through rt, and discards the
// answer.
func get(t *testing.T, rt http.RoundTripper, url, tok string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Error(err)
		return
	}
	resp.Body.Close()
}

// runRefusedJob runs one GET /items job with the bearer token "tok" over
// log, on a fresh SQLite file with one worker and SnoozeAfter snoozeAfter,
// and returns the job once it succeeded.
func runRefusedJob(t *testing.T, log *answerLog, upstream, baseURL string, snoozeAfter time.Duration) jobs.Job {
	t.Helper()
	e := startEngine(t, jobs.Options{Database: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"), Transport: log,
		Upstreams: map[string]string{upstream: baseURL}, Workers: 1, SnoozeAfter: snoozeAfter})
	j, _, err := e.Submit(context.Background(), jobs.Request{Upstream: upstream, Method: "GET", Path: "/items", Priority: 2,
		Headers: map[string]jobs.StringList{"Authorization": {"Bearer tok"}}})
	if err != nil {
		t.Fatal(err)
	}
	return waitState(t, e, j.ID, jobs.StateSucceeded, 15*time.Second)
}

// checkSnoozed checks that the job's first answer was a refusal of kind,
// with a wait in [minWait, maxWait], that the job was put aside for that
// wait (its ScheduledAt, set by the snooze, is the refusal's time plus
// the wait, within tolerance; the next attempt came no sooner), and that
// the second answer, a success, spent the job's only attempt.
func checkSnoozed(t *testing.T, j jobs.Job, answers []answer, kind string, minWait, maxWait time.Duration) {
	t.Helper()
	if len(answers) != 2 || answers[0].refusal == nil || answers[1].status != http.StatusOK || answers[1].refusal != nil {
		t.Fatalf("answers %+v, want a refusal and then a 200", answers)
	}
	r := answers[0].refusal
	if r.Kind != kind || r.Wait < minWait || r.Wait > maxWait {
		t.Fatalf("refusal %+v, want kind %s with a wait in [%v, %v]", r, kind, minWait, maxWait)
	}
	snoozed := j.ScheduledAt.Sub(answers[0].at)
	t.Logf("refusal %s (status %d) waits %v; the job was snoozed for %v and sent again %v after the refusal",
		r.Kind, r.Status, r.Wait, snoozed, answers[1].at.Sub(answers[0].at))
	if snoozed < r.Wait-20*time.Millisecond || snoozed > r.Wait+250*time.Millisecond {
		t.Errorf("snoozed for %v, want the refusal's wait %v", snoozed, r.Wait)
	}
	if again := answers[1].at.Sub(answers[0].at); again < r.Wait-20*time.Millisecond {
		t.Errorf("sent again %v after the refusal, before its wait %v ended", again, r.Wait)
	}
	if j.Attempts != 1 {
		t.Errorf("attempts %d, want 1: a snooze spends none", j.Attempts)
	}
}

// TestAPIRefusalSnoozes: a job whose first answer is GitHub's 403 with
// x-ratelimit-remaining: 0 (another client spent the quota just before) is
// put aside until the reset, with no attempt spent, and then succeeds.
func TestAPIRefusalSnoozes(t *testing.T) {
	t.Parallel()
	m, err := mockapi.New(mockapi.Config{Dialect: mockapi.DialectGitHub,
		Limit: mockapi.Limit{Algorithm: mockapi.AlgorithmFixed, Requests: 1, Per: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{Name: "github", BaseURL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	// The other client goes straight to the API: heed knows nothing of it.
	log := &answerLog{next: tr, before: func() { get(t, http.DefaultTransport, srv.URL+"/items", "tok") }}
	j := runRefusedJob(t, log, "github", srv.URL, 200*time.Millisecond)
	answers := log.seen()
	// The reset is in whole epoch seconds, rounded up: 1 to 2 s ahead.
	checkSnoozed(t, j, answers, heed.RefusalLimited, 500*time.Millisecond, 2100*time.Millisecond)
	if r := answers[0].refusal; r.Status != http.StatusForbidden || !r.Sent() {
		t.Errorf("refusal %+v, want the API's own 403", r)
	}
	if st := m.Stats().Total; st.DuringWait != 0 {
		t.Errorf("%d requests reached the API before its reset", st.DuringWait)
	}
}

// TestSyntheticLimitSnoozesForItsWait: a job that heed refuses because its
// configured limit has no room for ~200 ms (longer than SnoozeAfter) is
// put aside for those ~200 ms, not for a whole second.
func TestSyntheticLimitSnoozesForItsWait(t *testing.T) {
	t.Parallel()
	m, _ := mockapi.New(mockapi.Config{})
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{Name: "mock", BaseURL: srv.URL,
		Limits: []heed.Limit{{Requests: 1, Per: 200 * time.Millisecond}}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	// Another request through the same Transport takes the limit's slot.
	log := &answerLog{next: tr, before: func() { get(t, tr, srv.URL+"/items", "tok") }}
	j := runRefusedJob(t, log, "mock", srv.URL, 20*time.Millisecond)
	answers := log.seen()
	checkSnoozed(t, j, answers, heed.SyntheticLimit, 100*time.Millisecond, 300*time.Millisecond)
	if snoozed := j.ScheduledAt.Sub(answers[0].at); snoozed > 600*time.Millisecond {
		t.Errorf("snoozed for %v, want about 200 ms, not Retry-After's whole second", snoozed)
	}
}

// TestTokenLimitSnoozes: a job whose request costs more output tokens than
// its credential has left (another request through the same Transport
// spent the second's 1000) is put aside for the refill its cost needs, as
// one waiting for requests is, and then succeeds with its one attempt.
func TestTokenLimitSnoozes(t *testing.T) {
	t.Parallel()
	m, err := mockapi.New(mockapi.Config{LLM: mockapi.LLM{Vendor: mockapi.VendorAnthropic, OutputTokens: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{Name: "anthropic", BaseURL: srv.URL, Cost: "anthropic", Vendor: "anthropic",
		Limits: []heed.Limit{{OutputTokens: 1000, Per: time.Second}}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	message := func(maxTokens int) string {
		return `{"model":"claude-sonnet-4-5","max_tokens":` + strconv.Itoa(maxTokens) + `,"messages":[{"role":"user","content":"hi"}]}`
	}
	log := &answerLog{next: tr, before: func() { // spends the second's 1000 output tokens, and keeps them spent
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(message(1000)))
		req.Header.Set("X-Api-Key", "sk-ant-job")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}}
	e := startEngine(t, jobs.Options{Database: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"), Transport: log,
		Upstreams: map[string]string{"anthropic": srv.URL}, Workers: 1, SnoozeAfter: 20 * time.Millisecond})
	body := message(500)
	j, _, err := e.Submit(context.Background(), jobs.Request{Upstream: "anthropic", Method: "POST", Path: "/v1/messages", Body: &body,
		Headers: map[string]jobs.StringList{"X-Api-Key": {"sk-ant-job"}, "Content-Type": {"application/json"}}, IdempotencyKey: "token-snooze"})
	if err != nil {
		t.Fatal(err)
	}
	j = waitState(t, e, j.ID, jobs.StateSucceeded, 15*time.Second)
	// 500 output tokens refill in about 500ms at 1000 a second.
	checkSnoozed(t, j, log.seen(), heed.SyntheticLimit, 300*time.Millisecond, 700*time.Millisecond)
}
