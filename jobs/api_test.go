package jobs_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
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

const testSecret = "a callback secret of 16+ bytes"

// newAPI serves the job API of an engine over the mock API.
func newAPI(t *testing.T, m *mockapi.Server, up heed.Upstream, allow ...string) (*jobs.Engine, string) {
	t.Helper()
	e := newEngine(t, m, up, 2)
	var pats []jobs.URLPattern
	for _, a := range allow {
		p, err := jobs.ParseURLPattern(a)
		if err != nil {
			t.Fatal(err)
		}
		pats = append(pats, p)
	}
	srv := httptest.NewServer(e.Handler(jobs.APIOptions{Limits: jobs.Limits{MaxBody: 4096}, CallbackAllow: pats, MaxBatch: 50}))
	t.Cleanup(srv.Close)
	return e, srv.URL
}

// call sends a JSON request and decodes the answer into out.
func call(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: content type %q", method, url, ct)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

type apiErr struct {
	Error  string `json:"error"`
	Fields []struct {
		Field string `json:"field"`
	} `json:"fields"`
}

func TestAPISubmitGetAndDuplicate(t *testing.T) {
	t.Parallel()
	m, _ := mockapi.New(mockapi.Config{})
	_, base := newAPI(t, m, heed.Upstream{})
	body := `{"upstream":"mock","method":"POST","path":"/items","body":"{}","idempotency_key":"k-1","headers":{"Authorization":"Bearer tok"}}`
	var a struct {
		ID        int64  `json:"id"`
		StatusURL string `json:"status_url"`
		Duplicate bool   `json:"duplicate"`
	}
	if st := call(t, "POST", base+"/v1/jobs", body, &a); st != 202 || a.ID == 0 || a.StatusURL != base+"/v1/jobs/"+strconv.FormatInt(a.ID, 10) {
		t.Fatalf("submit: %d %+v", st, a)
	}
	first := a.ID
	if st := call(t, "POST", base+"/v1/jobs", body, &a); st != 200 || !a.Duplicate || a.ID != first {
		t.Fatalf("the same key again: %d %+v, want the first job", st, a)
	}
	deadline := time.Now().Add(10 * time.Second)
	var j jobs.Job
	for call(t, "GET", base+"/v1/jobs/"+strconv.FormatInt(first, 10), "", &j); j.State != jobs.StateSucceeded; call(t, "GET", a.StatusURL, "", &j) {
		if time.Now().After(deadline) {
			t.Fatalf("job %+v, want succeeded", j)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if j.Response == nil || j.Response.Status != 200 || j.Upstream != "mock" {
		t.Fatalf("job %+v", j)
	}
	if n := m.Stats().Total.Requests; n != 1 {
		t.Fatalf("the mock saw %d requests, want 1", n)
	}
}

func TestAPIBadInput(t *testing.T) {
	t.Parallel()
	m, _ := mockapi.New(mockapi.Config{})
	_, base := newAPI(t, m, heed.Upstream{}, "http://127.0.0.1:*")
	big := strings.Repeat("a", 5000)
	tests := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"unconfigured upstream", "POST", "/v1/jobs", `{"upstream":"evil","path":"/x"}`, 400, jobs.CodeInvalidJob, "upstream"},
		{"absolute URL as path", "POST", "/v1/jobs", `{"upstream":"mock","path":"http://169.254.169.254/latest"}`, 400, jobs.CodeInvalidJob, "path"},
		{"unknown field", "POST", "/v1/jobs", `{"upstream":"mock","path":"/x","host":"evil"}`, 400, jobs.CodeInvalidJob, "host"},
		{"malformed", "POST", "/v1/jobs", `{"upstream":`, 400, jobs.CodeInvalidJob, "(body)"},
		{"callback not allowed", "POST", "/v1/jobs", `{"upstream":"mock","path":"/x","callback_url":"http://10.0.0.1:80/cb"}`, 400, jobs.CodeInvalidJob, "callback_url"},
		{"body too large", "POST", "/v1/jobs", `{"upstream":"mock","path":"/x","body":"` + big + `"}`, 413, jobs.CodeTooLarge, ""},
		{"batch with one bad job", "POST", "/v1/jobs:batch", `{"jobs":[{"upstream":"mock","path":"/a"},{"upstream":"mock","path":"x"}]}`, 400, jobs.CodeInvalidJob, "jobs[1].path"},
		{"empty batch", "POST", "/v1/jobs:batch", `{"jobs":[]}`, 400, jobs.CodeInvalidJob, "jobs"},
		{"batch unknown field", "POST", "/v1/jobs:batch", `{"jobs":[],"extra":1}`, 400, jobs.CodeInvalidJob, "extra"},
		{"no such job", "GET", "/v1/jobs/999999", "", 404, jobs.CodeNotFound, ""},
		{"bad id", "GET", "/v1/jobs/abc", "", 404, jobs.CodeNotFound, ""},
		{"bad state", "GET", "/v1/jobs?state=sleeping", "", 400, jobs.CodeInvalidJob, "state"},
		{"bad cursor", "GET", "/v1/jobs?cursor=zzz", "", 400, jobs.CodeInvalidJob, "cursor"},
	}
	for _, tt := range tests {
		var e apiErr
		st := call(t, tt.method, base+tt.path, tt.body, &e)
		if st != tt.status || e.Error != tt.code {
			t.Errorf("%s: %d %+v, want %d %s", tt.name, st, e, tt.status, tt.code)
			continue
		}
		if tt.field != "" && (len(e.Fields) == 0 || e.Fields[0].Field != tt.field) {
			t.Errorf("%s: fields %+v, want %q", tt.name, e.Fields, tt.field)
		}
	}
	// Nothing of the refused submissions was stored.
	var list struct {
		Jobs []jobs.Job `json:"jobs"`
	}
	if st := call(t, "GET", base+"/v1/jobs", "", &list); st != 200 || len(list.Jobs) != 0 {
		t.Fatalf("after refused submissions: %d %d jobs, want none", st, len(list.Jobs))
	}
}

func TestAPIBatchListAndCancel(t *testing.T) {
	t.Parallel()
	m, _ := mockapi.New(mockapi.Config{})
	// A credential cooling down for a minute: its jobs wait for the quota.
	_, base := newAPI(t, m, heed.Upstream{Retry: heed.RetryPolicy{Attempts: 1}})
	if err := m.Force(mockapi.Force{Credential: "tok", Status: 429, RetryAfter: time.Minute}); err != nil {
		t.Fatal(err)
	}
	var jobsIn []string
	for i := range 5 {
		jobsIn = append(jobsIn, `{"upstream":"mock","path":"/items/`+strconv.Itoa(i)+`","headers":{"Authorization":"Bearer tok"}}`)
	}
	var b struct {
		Jobs []struct {
			ID int64 `json:"id"`
		} `json:"jobs"`
	}
	if st := call(t, "POST", base+"/v1/jobs:batch", `{"jobs":[`+strings.Join(jobsIn, ",")+`]}`, &b); st != 202 || len(b.Jobs) != 5 {
		t.Fatalf("batch: %d %+v", st, b)
	}
	deadline := time.Now().Add(10 * time.Second)
	var waiting struct {
		Jobs []jobs.Job `json:"jobs"`
	}
	for call(t, "GET", base+"/v1/jobs?state=waiting_quota", "", &waiting); len(waiting.Jobs) < 5; call(t, "GET", base+"/v1/jobs?state=waiting_quota", "", &waiting) {
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs waiting for the quota, want 5", len(waiting.Jobs))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Paging: two at a time.
	seen := map[int64]bool{}
	cursor := ""
	for range 5 {
		var page struct {
			Jobs       []jobs.Job `json:"jobs"`
			NextCursor string     `json:"next_cursor"`
		}
		call(t, "GET", base+"/v1/jobs?limit=2&cursor="+cursor, "", &page)
		for _, j := range page.Jobs {
			seen[j.ID] = true
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paging saw %d jobs, want 5", len(seen))
	}
	var j jobs.Job
	if st := call(t, "DELETE", base+"/v1/jobs/"+strconv.FormatInt(b.Jobs[0].ID, 10), "", &j); st != 200 || j.State != jobs.StateCancelled {
		t.Fatalf("cancel: %d %+v", st, j)
	}
}

// TestCallbackIsSignedAndCarriesTheJob: a finished job's result is posted
// to its callback URL, signed with the shared secret.
func TestCallbackIsSignedAndCarriesTheJob(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
		if len(got) == 1 {
			w.WriteHeader(503) // the first delivery fails: it is retried
		}
	}))
	t.Cleanup(recv.Close)
	m, _ := mockapi.New(mockapi.Config{})
	e := newEngineWithSecret(t, m)
	pat, _ := jobs.ParseURLPattern("http://127.0.0.1:*")
	api := httptest.NewServer(e.Handler(jobs.APIOptions{CallbackAllow: []jobs.URLPattern{pat}}))
	t.Cleanup(api.Close)
	var a struct {
		ID int64 `json:"id"`
	}
	if st := call(t, "POST", api.URL+"/v1/jobs", `{"upstream":"mock","path":"/items","callback_url":"`+recv.URL+`/cb"}`, &a); st != 202 {
		t.Fatalf("submit: %d", st)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries, want a failed one and a retried one", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	r, body := got[1], bodies[1]
	mu.Unlock()
	if r.Header.Get(jobs.JobIDHeader) != strconv.FormatInt(a.ID, 10) {
		t.Errorf("job id header %q, want %d", r.Header.Get(jobs.JobIDHeader), a.ID)
	}
	ts, mac, ok := strings.Cut(strings.TrimPrefix(r.Header.Get(jobs.SignatureHeader), "t="), ",v1=")
	h := hmac.New(sha256.New, []byte(testSecret))
	h.Write([]byte(ts + "." + string(body)))
	if !ok || !hmac.Equal([]byte(mac), []byte(hex.EncodeToString(h.Sum(nil)))) {
		t.Fatalf("signature %q does not verify", r.Header.Get(jobs.SignatureHeader))
	}
	var j jobs.Job
	if err := json.Unmarshal(body, &j); err != nil || j.ID != a.ID || j.State != jobs.StateSucceeded || j.Response == nil {
		t.Fatalf("callback body %s: %v", body, err)
	}
}

// TestCallbackJobsAreNotJobs: heed's own callback deliveries, River jobs
// of another kind, are not jobs of the API: their ids are 404 to GET and
// DELETE (which leaves them be), and the list never shows them.
func TestCallbackJobsAreNotJobs(t *testing.T) {
	t.Parallel()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable) // the delivery keeps being retried
	}))
	t.Cleanup(recv.Close)
	m, _ := mockapi.New(mockapi.Config{})
	path := filepath.Join(t.TempDir(), "jobs.db")
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	e := startEngine(t, jobs.Options{Database: "sqlite://" + path, Transport: http.DefaultTransport,
		Upstreams: map[string]string{"mock": srv.URL}, CallbackSecret: []byte(testSecret)})
	pat, _ := jobs.ParseURLPattern(recv.URL)
	api := httptest.NewServer(e.Handler(jobs.APIOptions{CallbackAllow: []jobs.URLPattern{pat}}))
	t.Cleanup(api.Close)
	var a struct {
		ID int64 `json:"id"`
	}
	if st := call(t, "POST", api.URL+"/v1/jobs", `{"upstream":"mock","path":"/items","callback_url":"`+recv.URL+`/cb"}`, &a); st != 202 {
		t.Fatalf("submit: %d", st)
	}
	waitState(t, e, a.ID, jobs.StateSucceeded, 10*time.Second)
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var cb int64
	deadline := time.Now().Add(10 * time.Second)
	for db.QueryRow(`SELECT id FROM river_job WHERE kind = 'heed_callback'`).Scan(&cb) != nil {
		if time.Now().After(deadline) {
			t.Fatal("no callback job was queued")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, method := range []string{"GET", "DELETE"} {
		var e apiErr
		if st := call(t, method, api.URL+"/v1/jobs/"+strconv.FormatInt(cb, 10), "", &e); st != 404 || e.Error != jobs.CodeNotFound {
			t.Errorf("%s of the callback job %d: got %d %+v, want 404 not_found", method, cb, st, e)
		}
	}
	var state string
	if err := db.QueryRow(`SELECT state FROM river_job WHERE id = ?`, cb).Scan(&state); err != nil || state == "cancelled" {
		t.Errorf("the callback job after the DELETE: state %q (%v), want it left be", state, err)
	}
	for _, q := range []string{"", "?state=queued", "?state=waiting_quota", "?state=running", "?state=cancelled", "?state=failed"} {
		var list struct {
			Jobs []jobs.Job `json:"jobs"`
		}
		call(t, "GET", api.URL+"/v1/jobs"+q, "", &list)
		for _, j := range list.Jobs {
			if j.ID != a.ID {
				t.Errorf("GET /v1/jobs%s lists job %d (%+v); only job %d is the API's", q, j.ID, j, a.ID)
			}
		}
	}
}
