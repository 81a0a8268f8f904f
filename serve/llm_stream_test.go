package serve_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/mockapi"
	"github.com/heedhq/heed/serve"
)

// TestLLMStreamThroughServe: an Anthropic stream through heed serve's
// route mode flows chunk by chunk (its first event reaches the client
// within 50ms of the mock sending it, while the rest is still to come),
// and its final usage settles the charge: 600 output tokens reserved, 50
// used, so 950 more fit at once and then not one more.
func TestLLMStreamThroughServe(t *testing.T) {
	m, err := mockapi.New(mockapi.Config{LLM: mockapi.LLM{Vendor: mockapi.VendorAnthropic, OutputTokens: 50,
		ChunkTokens: 10, ChunkDelay: 150 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(m)
	t.Cleanup(api.Close)
	_, sidecar := newServer(t, serve.Config{Config: heed.Config{Upstreams: []heed.Upstream{{Name: "anthropic", BaseURL: api.URL,
		Cost: "anthropic", Vendor: "anthropic", MaxWait: 100 * time.Millisecond,
		Limits: []heed.Limit{{OutputTokens: 1000, Per: time.Hour}}}}}})

	send := func(maxTokens int, stream bool, outputTokens string) *http.Response {
		t.Helper()
		body := `{"model":"claude-sonnet-4-5","max_tokens":` + strconv.Itoa(maxTokens) + `,"stream":` + map[bool]string{true: "true", false: "false"}[stream] +
			`,"messages":[{"role":"user","content":"Tell me a story."}]}`
		req, _ := http.NewRequest(http.MethodPost, sidecar+"/anthropic/v1/messages", strings.NewReader(body))
		req.Header.Set("X-Api-Key", "sk-ant-stream")
		req.Header.Set("Content-Type", "application/json")
		if outputTokens != "" {
			req.Header.Set("Mock-Output-Tokens", outputTokens)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	resp := send(600, true, "")
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("stream: %d %q, want 200 text/event-stream", resp.StatusCode, ct)
	}
	rd := bufio.NewReader(resp.Body)
	first, err := rd.ReadString('\n')
	arrived := time.Now()
	if err != nil || !strings.HasPrefix(first, "event: message_start") {
		t.Fatalf("first line %q, %v; want the message_start event", first, err)
	}
	rest, err := io.ReadAll(rd)
	resp.Body.Close()
	if err != nil || !strings.Contains(string(rest), "message_stop") {
		t.Fatalf("the rest of the stream: %v, %q", err, rest)
	}
	var sent time.Time
	for _, e := range m.Log() {
		if e.LLM != nil && e.LLM.Stream {
			sent = e.LLM.FirstChunk
		}
	}
	if sent.IsZero() {
		t.Fatal("the mock's log has no streamed request")
	}
	if lag := arrived.Sub(sent); lag > 50*time.Millisecond {
		t.Errorf("the first event reached the client %v after the mock sent it, want within 50ms", lag)
	} else {
		t.Logf("the first event reached the client %v after the mock sent it; the stream lasted %v more", lag, time.Since(arrived).Round(time.Millisecond))
	}

	// The stream's 50 settled its 600: 950 fit (and use all 950), then 10 do not.
	if r := send(950, false, "950"); r.StatusCode != http.StatusOK || r.Header.Get(heed.SyntheticHeader) != "" {
		t.Fatalf("950 output tokens after the stream: %d %q, want them let through: the stream's usage did not settle its charge", r.StatusCode, r.Header.Get(heed.SyntheticHeader))
	} else {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	r := send(10, false, "")
	_, _ = io.Copy(io.Discard, r.Body)
	r.Body.Close()
	if r.Header.Get(heed.SyntheticHeader) != heed.SyntheticLimit {
		t.Fatalf("10 more output tokens: %d %q, want heed's synthetic limit: the window is spent", r.StatusCode, r.Header.Get(heed.SyntheticHeader))
	}
}
