package chaos

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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed/jobs"
)

// Helpers of the crash cases: heed serve's job API as a client uses it,
// and a callback receiver that checks every callback as a client would.

const (
	// jobsCallbackSecret signs the callbacks.
	jobsCallbackSecret = "chaos-callback-secret-0123456789"
	// jobsKey seals the jobs' credentials: 32 bytes in standard base64.
	jobsKey = "Y2hhb3Mta2V5LWNoYW9zLWtleS1jaGFvcy1rZXktMDE="
	// jobsTimeout is heed serve's job_timeout, long enough that River's
	// own rescuer (job_timeout + 15s) is not what brings a killed
	// process's jobs back within the recovery target.
	jobsTimeout = "1m"
)

// jobsServeConfig is heed serve's config for the crash cases: the mock,
// paced at suite.jobLimit a second; jobs on database, credentials sealed,
// callbacks signed and allowed to the receiver only. extra is prepended
// (a shared store).
func jobsServeConfig(extra, mockURL, database, receiverURL string) string {
	u, _ := url.Parse(receiverURL)
	return fmt.Sprintf(`%supstreams:
  - name: mock
    base_url: %s
    limits: [{requests: %d, per: 1s}]
jobs:
  database: %s
  callback_allow: ["http://%s"]
  callback_secret: %s
  encryption_key: %s
  job_timeout: %s
`, extra, mockURL, suite.jobLimit, database, u.Host, jobsCallbackSecret, jobsKey, jobsTimeout)
}

// receiver is a client's callback endpoint: it checks each callback's
// signature and body, and notes each delivery by job id. It is safe for
// concurrent use.
type receiver struct {
	url string

	mu       sync.Mutex            // guards got and problems
	got      map[int64][]time.Time // when each job's deliveries came
	problems []string
}

// startReceiver starts a receiver, stopped when the test ends.
func startReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{got: make(map[int64][]time.Time)}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/callback"
	return r
}

// ServeHTTP takes a callback: 204 when it is well signed and tells of a
// succeeded job, 400 otherwise.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err == nil {
		err = checkCallback(req, body)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.problems = append(r.problems, err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	id, _ := strconv.ParseInt(req.Header.Get(jobs.JobIDHeader), 10, 64)
	r.got[id] = append(r.got[id], time.Now())
	w.WriteHeader(http.StatusNoContent)
}

// checkCallback verifies a callback: POST /callback, the HMAC of
// "t.body" under the secret with t near now, and a body describing the
// job Heed-Job-Id names, succeeded with a 200.
func checkCallback(r *http.Request, body []byte) error {
	if r.Method != http.MethodPost || r.URL.Path != "/callback" {
		return fmt.Errorf("callback %s %s, want POST /callback", r.Method, r.URL.Path)
	}
	sig := r.Header.Get(jobs.SignatureHeader)
	ts, mac, ok := strings.Cut(sig, ",")
	ts, okT := strings.CutPrefix(ts, "t=")
	mac, okV := strings.CutPrefix(mac, "v1=")
	want := hmac.New(sha256.New, []byte(jobsCallbackSecret))
	want.Write([]byte(ts + "." + string(body)))
	got, err := hex.DecodeString(mac)
	if !ok || !okT || !okV || err != nil || !hmac.Equal(got, want.Sum(nil)) {
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

// deliveries returns when each job's deliveries came, by job id, and the
// problems seen.
func (r *receiver) deliveries() (got map[int64][]time.Time, problems []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	got = make(map[int64][]time.Time, len(r.got))
	for id, at := range r.got {
		got[id] = append([]time.Time(nil), at...)
	}
	return got, append([]string(nil), r.problems...)
}

// jobsClient speaks heed serve's job API.
type jobsClient struct {
	t      *testing.T
	client *http.Client
}

// newJobsClient returns a client whose connections close when the test
// ends.
func newJobsClient(t *testing.T) *jobsClient {
	c := &jobsClient{t: t, client: &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}}
	t.Cleanup(c.client.CloseIdleConnections)
	return c
}

// jobIdempotencyKey is job n's idempotency key.
func jobIdempotencyKey(n int) string { return "chaos-" + strconv.Itoa(n) }

// submit submits suite.jobs jobs to base in batches of suite.jobBatch and
// returns their ids, job n's at index n. Job n is a POST of /jobs/n with
// fleetToken, its idempotency key and a callback to callbackURL.
func (c *jobsClient) submit(base, callbackURL string) []int64 {
	c.t.Helper()
	var ids []int64
	for first := 0; first < suite.jobs; first += suite.jobBatch {
		batch := make([]map[string]any, 0, suite.jobBatch)
		for n := first; n < min(first+suite.jobBatch, suite.jobs); n++ {
			batch = append(batch, map[string]any{
				"upstream": "mock", "method": "POST", "path": fmt.Sprintf("/jobs/%d", n),
				"headers":         map[string]any{"Authorization": "Bearer " + fleetToken, "Content-Type": "application/json"},
				"body":            fmt.Sprintf(`{"job":%d}`, n),
				"callback_url":    callbackURL,
				"idempotency_key": jobIdempotencyKey(n),
			})
		}
		var out struct {
			Jobs []struct {
				ID int64 `json:"id"`
			} `json:"jobs"`
		}
		status, body := c.do(http.MethodPost, base+"/v1/jobs:batch", map[string]any{"jobs": batch})
		if err := json.Unmarshal(body, &out); err != nil || status != http.StatusAccepted || len(out.Jobs) != len(batch) {
			c.t.Fatalf("batch from job %d: status %d, %d jobs (%v), want 202 and %d; body %s", first, status, len(out.Jobs), err, len(batch), body)
		}
		for _, j := range out.Jobs {
			ids = append(ids, j.ID)
		}
	}
	return ids
}

// list returns every job, following the cursor.
func (c *jobsClient) list(base string) []jobs.Job {
	c.t.Helper()
	var all []jobs.Job
	cursor := ""
	for {
		q := url.Values{"limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		status, body := c.do(http.MethodGet, base+"/v1/jobs?"+q.Encode(), nil)
		var page struct {
			Jobs       []jobs.Job `json:"jobs"`
			NextCursor string     `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil || status != http.StatusOK {
			c.t.Fatalf("GET /v1/jobs: status %d (%v), want 200; body %s", status, err, body)
		}
		all = append(all, page.Jobs...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

// do sends a request with v as its JSON body (none when nil) and returns
// the status and body.
func (c *jobsClient) do(method, url string, v any) (int, []byte) {
	c.t.Helper()
	var body io.Reader
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			c.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, b
}
