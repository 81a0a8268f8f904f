package heed_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/config"
	"github.com/heedhq/heed/internal/testenv"
)

// The crash test: a process killed with SIGKILL between a request's
// reservation and its settlement leaves the reservation charged, once,
// in the shared store: not given back, not charged twice, not held beyond
// its window. The process is this test binary run again with
// crashWorkerEnv set.

const crashWorkerEnv = "HEED_CRASH_WORKER"

// crashJob is what the worker does: one streamed request of MaxTokens
// through a Transport on Store, to URL.
type crashJob struct {
	Store     string `json:"store"`
	URL       string `json:"url"`
	MaxTokens int    `json:"max_tokens"`
}

// crashConfig is the Transport every process of the test uses: the
// shared store, and 1000 output tokens an hour on an Anthropic-priced
// upstream.
func crashConfig(store, url string) heed.Config {
	return heed.Config{Store: store, Stores: config.Stores{}, FingerprintSecret: "a secret every process shares",
		Upstreams: []heed.Upstream{{Name: "anthropic", BaseURL: url, Cost: "anthropic",
			Limits: []heed.Limit{{OutputTokens: 1000, Per: time.Hour}}, Retry: heed.RetryPolicy{Attempts: 1}}}}
}

// TestCrashWorker is the worker of TestChargeStandsAfterACrash; it skips
// unless started by it. It prints "READY" once the response's headers
// are in, then reads the stream, which never ends.
func TestCrashWorker(t *testing.T) {
	raw := os.Getenv(crashWorkerEnv)
	if raw == "" {
		t.Skip("the worker of TestChargeStandsAfterACrash; runs only when it starts it")
	}
	var job crashJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		t.Fatal(err)
	}
	tr, err := heed.New(crashConfig(job.Store, job.URL))
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":%d,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, job.MaxTokens)
	req, _ := http.NewRequest(http.MethodPost, job.URL+"/v1/messages", strings.NewReader(body))
	req.Header.Set("X-Api-Key", "sk-ant-crash")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, resp.Body) // until the kill
}

// TestChargeStandsAfterACrash: a worker process reserves 600 output
// tokens and is killed with SIGKILL while its stream (whose usage would
// settle it at 50) is in flight; another process on the same Redis then
// finds exactly 400 tokens of the window left.
func TestChargeStandsAfterACrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process and a redis-server")
	}
	redisURL := "redis://" + testenv.RedisServer(t).Addr() + "/0"
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"stream":true`) { // the worker's: begins, never ends
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"type":"message","content":[],"usage":{"input_tokens":5,"output_tokens":0}}`)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) })

	raw, _ := json.Marshal(crashJob{Store: redisURL, URL: srv.URL, MaxTokens: 600})
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWorker$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), crashWorkerEnv+"="+string(raw))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "READY" {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("the worker ended before its response came: %s", stderr.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the worker did not get its response in 20s: %s", stderr.String())
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL, by the PID we started
		t.Fatal(err)
	}
	_ = cmd.Wait()

	tr, err := heed.New(crashConfig(redisURL, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	// The worker's credential, from this process: 400 fit at once (its
	// 600 were not charged twice); the probe's usage (0) gives its own 400
	// back, and then 410 do not fit (the 600 were not given back, nor
	// settled by anyone).
	probe := func(maxTokens int) bool {
		body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":%d,"messages":[{"role":"user","content":"hi"}]}`, maxTokens)
		req, _ := http.NewRequestWithContext(heed.WithMaxWait(t.Context(), 100*time.Millisecond), http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(body))
		req.Header.Set("X-Api-Key", "sk-ant-crash")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("max_tokens %d: %v", maxTokens, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		_, refused := heed.RefusalOf(resp)
		return !refused
	}
	if !probe(400) {
		t.Fatal("400 output tokens do not fit after the crash: the reservation of 600 was charged more than once")
	}
	if probe(410) {
		t.Fatal("410 output tokens fit: the crashed process's reservation was given back, or settled")
	}
}
