package serve_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/jobs"
	"github.com/heedhq/heed/mockapi"
	"github.com/heedhq/heed/serve"
)

// TestJobsThroughServe: with a jobs section, heed serve takes a job on
// /v1/jobs, runs it through its Transport, and shows the queue on
// /-/state and /-/metrics.
func TestJobsThroughServe(t *testing.T) {
	t.Parallel()
	m, err := mockapi.New(mockapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	up := newMockServer(t, m)
	_, base := newServer(t, serve.Config{
		Config: heed.Config{Upstreams: []heed.Upstream{{Name: "mock", BaseURL: up}}},
		Jobs:   &jobs.Config{Database: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db")},
	})
	resp, err := http.Post(base+"/v1/jobs", "application/json", strings.NewReader(`{"upstream":"mock","path":"/items"}`))
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		ID        int64  `json:"id"`
		StatusURL string `json:"status_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&a)
	resp.Body.Close()
	if resp.StatusCode != 202 || a.StatusURL != base+"/v1/jobs/"+strconv.FormatInt(a.ID, 10) {
		t.Fatalf("submit: %d %+v", resp.StatusCode, a)
	}
	awaitJob(t, a.StatusURL)
	read := func(path string) string {
		r, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return string(b)
	}
	var st struct {
		Jobs map[string]int `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(read("/-/state")), &st); err != nil || st.Jobs[jobs.StateSucceeded] != 1 {
		t.Fatalf("state jobs %+v %v, want one succeeded", st.Jobs, err)
	}
	if mt := read("/-/metrics"); !strings.Contains(mt, `heed_jobs{state="succeeded"} 1`) {
		t.Fatalf("metrics lack heed_jobs:\n%s", mt)
	}
}

// TestJobsSealCredentials: heed serve seals a job's credentials under
// jobs.encryption_key, the upstream's configured credential places among
// them, and names the sealed places; with a reload, newly configured
// places are sealed too. Without a key, it refuses a job carrying one.
func TestJobsSealCredentials(t *testing.T) {
	t.Parallel()
	m, err := mockapi.New(mockapi.Config{})
	if err != nil {
		t.Fatal(err)
	}
	up := newMockServer(t, m)
	cfg := func(key string, headers ...string) serve.Config {
		return serve.Config{
			Config: heed.Config{Upstreams: []heed.Upstream{{Name: "mock", BaseURL: up, Credentials: heed.CredentialPolicy{Headers: headers}}}},
			Jobs:   &jobs.Config{Database: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"), EncryptionKey: key},
		}
	}
	submit := func(base, header string) (int, string) {
		resp, err := http.Post(base+"/v1/jobs", "application/json", strings.NewReader(`{"upstream":"mock","path":"/items","headers":{"`+header+`":"tok"}}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a struct {
			ID int64 `json:"id"`
		}
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &a)
		if resp.StatusCode != http.StatusAccepted {
			return resp.StatusCode, string(b)
		}
		j, err := http.Get(base + "/v1/jobs/" + strconv.FormatInt(a.ID, 10))
		if err != nil {
			t.Fatal(err)
		}
		defer j.Body.Close()
		var job jobs.Job
		_ = json.NewDecoder(j.Body).Decode(&job)
		return resp.StatusCode, strings.Join(job.Sealed, ",")
	}
	key := "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleTA="
	s, base := newServer(t, cfg(key, "X-Team-Token"))
	for _, tt := range []struct{ header, sealed string }{{"Authorization", "headers.Authorization"}, {"X-Team-Token", "headers.X-Team-Token"}, {"X-Other", ""}} {
		if st, sealed := submit(base, tt.header); st != http.StatusAccepted || sealed != tt.sealed {
			t.Errorf("%s: got %d, sealed %q; want 202, sealed %q", tt.header, st, sealed, tt.sealed)
		}
	}
	if err := s.Reload(cfg(key, "X-Team-Token", "X-Other")); err != nil {
		t.Fatal(err)
	}
	if st, sealed := submit(base, "X-Other"); st != http.StatusAccepted || sealed != "headers.X-Other" {
		t.Errorf("X-Other after the reload: got %d, sealed %q; want 202, sealed headers.X-Other", st, sealed)
	}
	_, keyless := newServer(t, cfg("", "X-Team-Token"))
	if st, body := submit(keyless, "X-Team-Token"); st != http.StatusBadRequest || !strings.Contains(body, "jobs.encryption_key") {
		t.Errorf("without a key: got %d %s, want 400 naming jobs.encryption_key", st, body)
	}
}

// TestJobsBatchBound: heed serve bounds a batch by jobs.max_batch_bytes:
// a longer one gets a 413 JSON answer.
func TestJobsBatchBound(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, serve.Config{
		Config: heed.Config{Upstreams: []heed.Upstream{{Name: "mock", BaseURL: "http://127.0.0.1:9"}}},
		Jobs:   &jobs.Config{Database: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"), MaxBatchBytes: 1 << 20},
	})
	job := `{"upstream":"mock","path":"/x"},`
	body := io.MultiReader(strings.NewReader(`{"jobs":[`), strings.NewReader(strings.Repeat(job, 20<<20/len(job))), strings.NewReader(`{"upstream":"mock","path":"/x"}]}`))
	resp, err := http.Post(base+"/v1/jobs:batch", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge ||
		e.Error != jobs.CodeTooLarge || !strings.Contains(e.Message, "at most 1048576 bytes") {
		t.Errorf("got %d %+v (%v), want 413 too_large saying at most 1048576 bytes", resp.StatusCode, e, err)
	}
}
