package jobs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
)

// recorder is an upstream that answers 200 and keeps the headers and
// query of every request it is sent. It is safe for concurrent use.
type recorder struct {
	srv *httptest.Server

	mu  sync.Mutex // guards got
	got []seen
}

// seen is what a recorder kept of a request.
type seen struct {
	path   string
	header http.Header
	query  map[string][]string
}

// newRecorder starts a recorder, closed when the test ends.
func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.got = append(rec.got, seen{path: r.URL.Path, header: r.Header.Clone(), query: r.URL.Query()})
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

// requests returns what the recorder was sent.
func (rec *recorder) requests() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.got)
}

// billing is the credential places of the tests' upstream, besides the
// headers every upstream has (scope.CredentialHeaders).
var billing = heed.CredentialPolicy{Headers: []string{"X-Billing-Token"}, Query: []string{"api_key"}}

// sealOptions are the options of an engine on a fresh SQLite file over a
// plain Transport to rec, upstream "billing" with the billing credential
// places.
func sealOptions(t *testing.T, rec *recorder, key []byte, previous ...[]byte) jobs.Options {
	t.Helper()
	return jobs.Options{
		Database:  "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"),
		Transport: http.DefaultTransport, Upstreams: map[string]string{"billing": rec.srv.URL},
		Credentials:   func(string) heed.CredentialPolicy { return billing },
		EncryptionKey: key, PreviousEncryptionKeys: previous, SnoozeAfter: 200 * time.Millisecond,
	}
}

// credentialJob is a request carrying a credential in each kind of place.
func credentialJob() jobs.Request {
	return jobs.Request{Upstream: "billing", Method: "GET", Path: "/invoices", Priority: 2,
		Headers: map[string]jobs.StringList{"authorization": {"Bearer tok-auth"}, "X-Billing-Token": {"tok-billing"}, "Accept": {"application/json"}},
		Query:   map[string]jobs.StringList{"api_key": {"tok-query"}, "page": {"2"}}}
}

// TestCredentialsNeedAKey: without an encryption key, the API refuses a
// job carrying a credential, naming each place and saying how to set a
// key, and takes a job without one.
func TestCredentialsNeedAKey(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	e := startKeyless(t, sealOptions(t, rec, nil))
	srv := httptest.NewServer(e.Handler(jobs.APIOptions{}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, path, body string
		fields           []string
	}{
		{"Authorization", "/v1/jobs", `{"upstream":"billing","path":"/x","headers":{"Authorization":"Bearer t"}}`, []string{"headers.Authorization"}},
		{"KnownHeaderAnyCase", "/v1/jobs", `{"upstream":"billing","path":"/x","headers":{"x-api-key":"t"}}`, []string{"headers.x-api-key"}},
		{"ConfiguredHeader", "/v1/jobs", `{"upstream":"billing","path":"/x","headers":{"X-Billing-Token":"t"}}`, []string{"headers.X-Billing-Token"}},
		{"ConfiguredQuery", "/v1/jobs", `{"upstream":"billing","path":"/x","query":{"api_key":"t"}}`, []string{"query.api_key"}},
		{"Batch", "/v1/jobs:batch", `{"jobs":[{"upstream":"billing","path":"/x"},{"upstream":"billing","path":"/x","headers":{"Private-Token":"t"}}]}`,
			[]string{"jobs[1].headers.Private-Token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var e struct {
				Message string `json:"message"`
				Fields  []struct {
					Field string `json:"field"`
				} `json:"fields"`
			}
			st := call(t, "POST", srv.URL+tt.path, tt.body, &e)
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			if st != 400 || !slices.Equal(fields, tt.fields) || !strings.Contains(e.Message, "jobs.encryption_key") {
				t.Errorf("got %d, fields %q, message %q; want 400 naming %q and jobs.encryption_key", st, fields, e.Message, tt.fields)
			}
		})
	}
	// An empty credential is none; a job without one runs.
	if st := call(t, "POST", srv.URL+"/v1/jobs", `{"upstream":"billing","path":"/x","headers":{"Authorization":""}}`, nil); st != 202 {
		t.Errorf("a job without a credential: got %d, want 202", st)
	}
	// Engine.Submit refuses alike.
	if _, _, err := e.Submit(context.Background(), credentialJob()); err == nil || !strings.Contains(err.Error(), "jobs.encryption_key") {
		t.Errorf("Submit: got %v, want a refusal naming jobs.encryption_key", err)
	}
}

// TestSealedCredentialsReachTheUpstream: the credentials sealed at submit
// are sent upstream as given, the other headers and query with them; the
// API names the sealed places, never their values.
func TestSealedCredentialsReachTheUpstream(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	e := startEngine(t, sealOptions(t, rec, testKey))
	j, _, err := e.Submit(context.Background(), credentialJob())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"headers.X-Billing-Token", "headers.authorization", "query.api_key"}
	if !slices.Equal(j.Sealed, want) {
		t.Errorf("sealed: got %q, want %q", j.Sealed, want)
	}
	done := waitState(t, e, j.ID, jobs.StateSucceeded, 10*time.Second)
	if !slices.Equal(done.Sealed, want) {
		t.Errorf("sealed after the run: got %q, want %q", done.Sealed, want)
	}
	got := rec.requests()
	if len(got) != 1 {
		t.Fatalf("the upstream saw %d requests, want 1", len(got))
	}
	r := got[0]
	if r.header.Get("Authorization") != "Bearer tok-auth" || r.header.Get("X-Billing-Token") != "tok-billing" || r.header.Get("Accept") != "application/json" ||
		!slices.Equal(r.query["api_key"], []string{"tok-query"}) || !slices.Equal(r.query["page"], []string{"2"}) {
		t.Errorf("the upstream got headers %v, query %v; want every header and parameter as submitted", r.header, r.query)
	}
}

// TestRotation: a job sealed under a key that is now a previous one runs;
// one sealed under a key no longer configured fails with an error naming
// the key, and nothing is sent.
func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := []byte("old-key-old-key-old-key-old-key!"), []byte("new-key-new-key-new-key-new-key!")
	tests := []struct {
		name     string
		previous [][]byte
		state    string
	}{
		{"PreviousKeyOpens", [][]byte{oldKey}, jobs.StateSucceeded},
		{"RotatedOutFails", nil, jobs.StateFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder(t)
			opts := sealOptions(t, rec, oldKey)
			before, err := jobs.Open(context.Background(), opts) // never started: the job waits
			if err != nil {
				t.Fatal(err)
			}
			j, _, err := before.Submit(context.Background(), credentialJob())
			_ = before.Stop(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			opts.EncryptionKey, opts.PreviousEncryptionKeys = newKey, tt.previous
			e := startEngine(t, opts)
			done := waitState(t, e, j.ID, tt.state, 10*time.Second)
			n := len(rec.requests())
			switch tt.state {
			case jobs.StateSucceeded:
				if n != 1 || rec.requests()[0].header.Get("Authorization") != "Bearer tok-auth" {
					t.Errorf("the upstream saw %+v, want the job's credential", rec.requests())
				}
			case jobs.StateFailed:
				if n != 0 || !strings.Contains(done.Error, "which is not configured") || !strings.Contains(done.Error, "previous_encryption_keys") {
					t.Errorf("%d requests sent, error %q; want none, and an error naming the missing key", n, done.Error)
				}
			}
		})
	}
}
