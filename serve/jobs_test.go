package serve_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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
	deadline := time.Now().Add(10 * time.Second)
	for {
		var j jobs.Job
		r, err := http.Get(a.StatusURL)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(r.Body).Decode(&j)
		r.Body.Close()
		if j.State == jobs.StateSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %+v, want succeeded", j)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
