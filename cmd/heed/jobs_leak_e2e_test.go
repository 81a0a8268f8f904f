package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heedhq/heed/jobs"
)

// leakTokens are TestJobsNoCredentialInPlainText's credentials, each in
// its own place.
var leakTokens = map[string]string{
	"Authorization":   "tokE2EAUTHq7Xv2Lm9Pz4Rk8Wn3Bd",
	"X-Api-Key":       "tokE2EAPIKEYf5Jt8Qc1Vy6Ng2Me",
	"X-Billing-Token": "tokE2EBILLINGr3Kd7Ws1Xp5Zh8C",
	"api_key":         "tokE2EQUERYb8Ln4Tg6Yq2Mv9Rj1",
}

// leakForms returns the forms of token to look for: as it is, in hex, and
// in base64 (both alphabets) at each of the three alignments a token can
// have in a longer text, the last group (which depends on what follows)
// left out.
func leakForms(token string) map[string]string {
	forms := map[string]string{"plain": token, "hex": hex.EncodeToString([]byte(token)),
		"HEX": strings.ToUpper(hex.EncodeToString([]byte(token)))}
	for skip := range 3 {
		for name, enc := range map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.URLEncoding} {
			s := enc.EncodeToString([]byte(token[skip:]))
			forms[fmt.Sprintf("%s+%d", name, skip)] = s[:len(s)/4*4-4]
		}
	}
	return forms
}

// checkNoLeak fails the test for every token found in data, in any form.
func checkNoLeak(t *testing.T, what string, data []byte) {
	t.Helper()
	for place, tok := range leakTokens {
		for form, s := range leakForms(tok) {
			if i := bytes.Index(data, []byte(s)); i >= 0 {
				t.Errorf("%s holds the %s credential (%s) at byte %d: %q", what, place, form, i, data[max(0, i-80):min(len(data), i+len(s)+80)])
			}
		}
	}
}

// capture is an HTTP server that answers 200 and keeps every request it
// gets, headers, query and body. It is safe for concurrent use.
type capture struct {
	url string

	mu  sync.Mutex // guards got
	got bytes.Buffer
	n   int
}

// startCapture starts a capture, closed when the test ends.
func startCapture(t *testing.T) *capture {
	t.Helper()
	c := &capture{}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	fmt.Fprintf(&c.got, "%s %s\n", r.Method, r.URL.RequestURI())
	_ = r.Header.Write(&c.got)
	c.got.Write(body)
	c.got.WriteString("\n")
	c.n++
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
}

// requests returns what the capture got, and how many requests.
func (c *capture) requests() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.got.String(), c.n
}

// TestJobsNoCredentialInPlainText: the real binary, with jobs on SQLite
// and an encryption key, runs jobs carrying tokens in Authorization,
// X-Api-Key, a configured header and a configured query parameter against
// an upstream on loopback and calls back; then no token appears, in plain
// text, hex or base64, in the database, its -wal and -shm (read raw, while
// heed serve runs and after it stopped), any answer of the job API, any
// callback, /-/metrics, /-/state, or anything heed serve wrote to stdout
// and stderr.
func TestJobsNoCredentialInPlainText(t *testing.T) {
	t.Parallel()
	upstream, receiver := startCapture(t), startCapture(t)
	db := filepath.Join(t.TempDir(), "jobs.db")
	p := startServe(t, fmt.Sprintf(`upstreams:
  - name: billing
    base_url: %s
    credentials: {headers: [X-Billing-Token], query: [api_key]}
jobs:
  database: sqlite://%s
  callback_allow: [%q]
  callback_secret: %s
  encryption_key: %s
`, upstream.url, db, receiver.url, crashSecret, crashKey))
	var answers bytes.Buffer
	keep := func(what string, r reply) reply {
		fmt.Fprintf(&answers, "%s: %d\n", what, r.status)
		_ = r.header.Write(&answers)
		answers.Write(r.body)
		return r
	}
	job := func(path string, headers, query map[string]any) map[string]any {
		return map[string]any{"upstream": "billing", "path": path, "headers": headers, "query": query, "callback_url": receiver.url + "/cb"}
	}
	one := job("/invoices", map[string]any{"Authorization": "Bearer " + leakTokens["Authorization"], "X-Api-Key": leakTokens["X-Api-Key"],
		"X-Billing-Token": leakTokens["X-Billing-Token"], "Accept": "application/json"}, map[string]any{"api_key": leakTokens["api_key"], "page": "1"})
	batch := []any{
		job("/a", map[string]any{"authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+leakTokens["Authorization"]))}, nil),
		job("/b", map[string]any{"x-billing-token": leakTokens["X-Billing-Token"]}, map[string]any{"api_key": leakTokens["api_key"]}),
	}
	if r := keep("POST /v1/jobs", postJSON(t, p.url+"/v1/jobs", one)); r.status != http.StatusAccepted {
		t.Fatalf("submit: got %d %s, want 202", r.status, r.body)
	}
	if r := keep("POST /v1/jobs:batch", postJSON(t, p.url+"/v1/jobs:batch", map[string]any{"jobs": batch})); r.status != http.StatusAccepted {
		t.Fatalf("batch: got %d %s, want 202", r.status, r.body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		all := listJobs(t, p.url, jobs.StateSucceeded)
		_, calls := receiver.requests()
		if len(all) == 3 && calls >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs succeeded and %d callbacks after 20s, want 3 and 3; stderr:\n%s", len(all), calls, p.stderr.String())
		}
		time.Sleep(jobsPollEvery)
	}
	for _, j := range listJobs(t, p.url, "") {
		keep("GET job", getWith(t, nil, p.url+"/v1/jobs/"+strconv.FormatInt(j.ID, 10), ""))
	}
	keep("GET /v1/jobs", getWith(t, nil, p.url+"/v1/jobs", ""))
	metrics := keep("GET /-/metrics", getWith(t, nil, p.url+"/-/metrics", ""))
	keep("GET /-/state", getWith(t, nil, p.url+"/-/state", ""))
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(db + suffix)
		if err != nil {
			t.Fatalf("read jobs.db%s: %v", suffix, err)
		}
		checkNoLeak(t, "jobs.db"+suffix+" (heed serve running)", b)
		if fi, err := os.Stat(db + suffix); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("jobs.db%s: mode %v (%v), want -rw-------", suffix, fi.Mode().Perm(), err)
		}
	}
	p.signal(t, syscall.SIGTERM)
	p.wait(t, serveStopTimeout)
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	checkNoLeak(t, "jobs.db (heed serve stopped)", b)
	if !bytes.Contains(b, []byte(`v1.`)) || !bytes.Contains(b, []byte("/invoices")) {
		t.Errorf("jobs.db holds no sealed value or no job: not the database the jobs are in")
	}
	checkNoLeak(t, "the API's answers", answers.Bytes())
	callbacks, _ := receiver.requests()
	checkNoLeak(t, "the callbacks", []byte(callbacks))
	checkNoLeak(t, "heed serve's stdout and stderr", []byte(p.stdout.String()+p.stderr.String()))
	sent, _ := upstream.requests()
	for place, tok := range leakTokens {
		if !strings.Contains(sent, tok) {
			t.Errorf("the upstream was never sent the %s credential: the test proves nothing; it got:\n%s", place, sent)
		}
	}
	if !bytes.Contains(metrics.body, []byte(`heed_jobs{state="succeeded"} 3`)) {
		t.Errorf("/-/metrics lacks the three jobs succeeded:\n%s", metrics.body)
	}
	if !bytes.Contains(answers.Bytes(), []byte(`"sealed":["headers.Authorization","headers.X-Api-Key","headers.X-Billing-Token","query.api_key"]`)) ||
		!strings.Contains(callbacks, `"sealed":["headers.x-billing-token","query.api_key"]`) {
		t.Errorf("the answers or the callbacks do not name the sealed places:\n%s\n%s", answers.Bytes(), callbacks)
	}
}
