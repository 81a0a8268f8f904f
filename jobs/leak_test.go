package jobs_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/jobs"
)

// The leak tests submit jobs carrying distinctive tokens in every kind of
// place heed seals, run them against a real upstream over loopback, and
// then read every byte heed wrote or answered: the database (SQLite's
// file, -wal and -shm read raw, or every row of every table of the test's
// PostgreSQL database as text), every answer of the API, every callback,
// and every log line, at debug level. No token may appear, in plain text,
// hex or base64.

// leakTokens are the tests' credentials, each in its own place.
var leakTokens = map[string]string{
	"Authorization":   "tokAUTHq7Xv2Lm9Pz4Rk8Wn3Bd6Hs",
	"X-Api-Key":       "tokAPIKEYf5Jt8Qc1Vy6Ng2Me9Ua",
	"X-Billing-Token": "tokBILLINGr3Kd7Ws1Xp5Zh8Cf2",
	"api_key":         "tokQUERYb8Ln4Tg6Yq2Mv9Rj1Se",
}

// leakForms returns the forms of token to look for, by name: as it is, in
// hex, and in base64 (standard and URL alphabets) at each of the three
// alignments a token can have in a longer encoded text, the last group,
// which depends on what follows, left out.
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

// leakRun is one leak test's heed, upstream and callback receiver, and
// everything heed answered.
type leakRun struct {
	t       *testing.T
	e       *jobs.Engine
	api     string // the API's URL
	receive string // the callback receiver's URL
	rec     *recorder
	log     testenv.Buffer
	answers bytes.Buffer // every API answer, in order

	mu        sync.Mutex // guards callbacks
	callbacks [][]byte   // every callback, headers and body
}

// startLeakRun starts heed's engine on database over a heed Transport to a
// recorder (upstream billing, with the billing credential places, flaky
// once on /flaky) and to a closed port (upstream down), logging at debug
// level, with its API and a callback receiver.
func startLeakRun(t *testing.T, database string) *leakRun {
	t.Helper()
	run := &leakRun{t: t, rec: newRecorder(t)}
	var flaky sync.Once
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failed := false
		if r.URL.Path == "/flaky" {
			flaky.Do(func() { failed = true })
		}
		if failed {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		run.rec.srv.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(upstream.Close)
	down := closedPort(t)
	logger := slog.New(slog.NewTextHandler(&run.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr, err := heed.New(heed.Config{Logger: logger, Upstreams: []heed.Upstream{
		{Name: "billing", BaseURL: upstream.URL, Credentials: billing, Retry: heed.RetryPolicy{Attempts: 1}},
		{Name: "down", BaseURL: down, Retry: heed.RetryPolicy{Attempts: 1}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		_ = r.Header.Write(&b)
		_, _ = io.Copy(&b, r.Body)
		run.mu.Lock()
		run.callbacks = append(run.callbacks, b.Bytes())
		run.mu.Unlock()
	}))
	t.Cleanup(receiver.Close)
	run.receive = receiver.URL + "/callback"
	run.e = startEngine(t, jobs.Options{Database: database, Transport: tr, Logger: logger,
		Upstreams:   map[string]string{"billing": upstream.URL, "down": down},
		Credentials: func(string) heed.CredentialPolicy { return billing }, CallbackSecret: []byte(testSecret)})
	pat, _ := jobs.ParseURLPattern(receiver.URL)
	api := httptest.NewServer(run.e.Handler(jobs.APIOptions{CallbackAllow: []jobs.URLPattern{pat}}))
	t.Cleanup(api.Close)
	run.api = api.URL
	return run
}

// closedPort returns the URL of a loopback port nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// do sends a request to the API and keeps its answer.
func (run *leakRun) do(method, path, body string) []byte {
	run.t.Helper()
	req, _ := http.NewRequest(method, run.api+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		run.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Fprintf(&run.answers, "%s %s: %d\n", method, path, resp.StatusCode)
	_ = resp.Header.Write(&run.answers)
	run.answers.Write(b)
	return b
}

// leakJob is a job's JSON with the given headers and query, and a
// callback to the receiver when callback is set.
func leakJob(path string, headers, query map[string]string, callback string) string {
	j := fmt.Sprintf(`{"upstream":"billing","path":%q,"headers":%s,"query":%s`, path, jsonMap(headers), jsonMap(query))
	if callback != "" {
		j += fmt.Sprintf(`,"callback_url":%q`, callback)
	}
	return j + "}"
}

// jsonMap writes m as a JSON object of strings.
func jsonMap(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%q:%q", k, v))
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// submitLeakJobs submits one job with every token, a batch of three with
// one token each, one whose first answer is a 503 (an error kept), and one
// to a closed port (a transport error kept), and returns their ids: the
// ones that succeed, then the one that cannot.
func (run *leakRun) submitLeakJobs(callback string) (ok []int64, down int64) {
	run.t.Helper()
	all := leakJob("/invoices", map[string]string{"Authorization": "Bearer " + leakTokens["Authorization"],
		"X-Api-Key": leakTokens["X-Api-Key"], "X-Billing-Token": leakTokens["X-Billing-Token"], "Accept": "application/json"},
		map[string]string{"api_key": leakTokens["api_key"], "page": "1"}, callback)
	batch := []string{
		leakJob("/a", map[string]string{"authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+leakTokens["Authorization"]))}, nil, callback),
		leakJob("/b", map[string]string{"x-billing-token": leakTokens["X-Billing-Token"]}, nil, callback),
		leakJob("/flaky", map[string]string{"X-Api-Key": leakTokens["X-Api-Key"]}, map[string]string{"api_key": leakTokens["api_key"]}, callback),
	}
	ids := []int64{run.idOf(run.do("POST", "/v1/jobs", all))}
	for _, s := range strings.Split(string(run.do("POST", "/v1/jobs:batch", `{"jobs":[`+strings.Join(batch, ",")+`]}`)), `"id":`)[1:] {
		id, _ := strconv.ParseInt(s[:strings.IndexAny(s, ",}")], 10, 64)
		ids = append(ids, id)
	}
	if len(ids) != 4 {
		run.t.Fatalf("submitted %v; want 4 jobs; answers:\n%s", ids, run.answers.String())
	}
	downJob := strings.Replace(leakJob("/x", map[string]string{"Authorization": "Bearer " + leakTokens["Authorization"]},
		map[string]string{"api_key": leakTokens["api_key"]}, ""), `"billing"`, `"down"`, 1)
	return ids, run.idOf(run.do("POST", "/v1/jobs", downJob))
}

// idOf reads the id of a submission's answer.
func (run *leakRun) idOf(answer []byte) int64 {
	run.t.Helper()
	_, s, _ := strings.Cut(string(answer), `"id":`)
	id, err := strconv.ParseInt(s[:max(0, strings.IndexAny(s, ",}"))], 10, 64)
	if err != nil {
		run.t.Fatalf("answer %s: no id", answer)
	}
	return id
}

// finish waits for the jobs that can succeed and their callbacks, and for
// the down job's first error, then cancels it; it reads every job through
// the API, and the list.
func (run *leakRun) finish(ok []int64, down int64) {
	run.t.Helper()
	for _, id := range ok {
		waitState(run.t, run.e, id, jobs.StateSucceeded, 20*time.Second)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		run.mu.Lock()
		n := len(run.callbacks)
		run.mu.Unlock()
		j, err := run.e.Get(context.Background(), down)
		if err != nil {
			run.t.Fatal(err)
		}
		if n >= len(ok) && j.Error != "" {
			break
		}
		if time.Now().After(deadline) {
			run.t.Fatalf("%d callbacks, the down job %+v; want %d callbacks and an error", n, j, len(ok))
		}
		time.Sleep(50 * time.Millisecond)
	}
	run.do("DELETE", "/v1/jobs/"+strconv.FormatInt(down, 10), "")
	for _, id := range append(ok, down) {
		run.do("GET", "/v1/jobs/"+strconv.FormatInt(id, 10), "")
	}
	run.do("GET", "/v1/jobs", "")
	run.do("GET", "/v1/jobs?state=failed", "")
}

// check greps everything but the database, and checks that the test saw
// what it means to: the tokens reached the upstream, the API named the
// sealed places, the down job's error was kept.
func (run *leakRun) check() {
	run.t.Helper()
	answers := run.answers.Bytes()
	checkNoLeak(run.t, "the API's answers", answers)
	run.mu.Lock()
	callbacks := bytes.Join(run.callbacks, []byte("\n"))
	run.mu.Unlock()
	checkNoLeak(run.t, "the callbacks", callbacks)
	checkNoLeak(run.t, "the log", run.log.Bytes())
	var sent bytes.Buffer
	for _, r := range run.rec.requests() {
		fmt.Fprintf(&sent, "%s %v %v\n", r.path, r.header, r.query)
	}
	for place, tok := range leakTokens {
		if !strings.Contains(sent.String(), tok) {
			run.t.Errorf("the upstream was never sent the %s credential; it saw:\n%s", place, sent.String())
		}
	}
	for _, want := range []string{`"sealed":["headers.Authorization","headers.X-Api-Key","headers.X-Billing-Token","query.api_key"]`, "connection refused"} {
		if !bytes.Contains(answers, []byte(want)) {
			run.t.Errorf("the API's answers lack %s:\n%s", want, answers)
		}
	}
	if !bytes.Contains(callbacks, []byte(`"sealed":["headers.authorization"]`)) {
		run.t.Errorf("the callbacks do not name the sealed places:\n%s", callbacks)
	}
	if len(run.log.Bytes()) == 0 {
		run.t.Errorf("nothing was logged: the log was not captured")
	}
}

// checkSealedRows checks that a database dump is one: it holds the jobs'
// sealed values and their other headers.
func checkSealedRows(t *testing.T, what string, dump []byte) {
	t.Helper()
	if !bytes.Contains(dump, []byte("v1.")) || !bytes.Contains(dump, []byte("application/json")) || !bytes.Contains(dump, []byte("/invoices")) {
		t.Errorf("%s has no sealed value, or not the jobs' other fields: not a dump of the jobs (%d bytes)", what, len(dump))
	}
}

func TestNoCredentialInPlainTextSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "jobs.db")
	run := startLeakRun(t, "sqlite://"+path)
	ok, down := run.submitLeakJobs(run.receive)
	run.finish(ok, down)
	var all []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatalf("read %s: %v", path+suffix, err)
		}
		checkNoLeak(t, "jobs.db"+suffix, b)
		all = append(all, b...)
	}
	checkSealedRows(t, "jobs.db with its -wal", all)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := run.e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path) // the WAL checkpointed into it
	if err != nil {
		t.Fatal(err)
	}
	checkNoLeak(t, "jobs.db after Stop", b)
	run.check()
}

func TestNoCredentialInPlainTextPostgres(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	run := startLeakRun(t, dsn)
	ok, down := run.submitLeakJobs(run.receive)
	run.finish(ok, down)
	dump := dumpPostgres(t, dsn)
	checkNoLeak(t, "the PostgreSQL database", dump)
	checkSealedRows(t, "the PostgreSQL database", dump)
	if !bytes.Contains(dump, []byte("river_job: ")) {
		t.Errorf("the dump has no river_job rows")
	}
	run.check()
}

// dumpPostgres returns every row of every table of the database at dsn as
// text, each line "table: row".
func dumpPostgres(t *testing.T, dsn string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, table := range tables {
		rows, err := conn.Query(ctx, "SELECT t::text FROM "+pgx.Identifier{table}.Sanitize()+" AS t")
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			fmt.Fprintf(&b, "%s: %s\n", table, l)
		}
	}
	return b.Bytes()
}
