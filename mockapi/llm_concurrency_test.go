package mockapi

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// 32 goroutines of 4 credentials over loopback, streamed and not, against
// tight buckets: every request is accepted or refused, and the books
// balance: what each credential was charged in the end is what its usage
// says, and no bucket gave more than its limit plus its refill.
func TestLLMConcurrency(t *testing.T) {
	t.Parallel()
	s, err := New(Config{LLM: LLM{Vendor: VendorAnthropic, RequestsPerMinute: 600,
		InputTokensPerMinute: 30000, OutputTokensPerMinute: 300, OutputTokens: 5}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 10 {
				body := messagesBody(64, strings.Repeat("cached system text ", g%3+1), fmt.Sprintf("question %d", i), (g+i)%2 == 0)
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(body))
				req.Header.Set("X-Api-Key", fmt.Sprintf("key-%d", g%4))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				bufio.NewReader(resp.Body).WriteTo(discard{})
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	span := time.Since(start)
	st := s.Stats()
	if st.Total.Requests != 320 || st.Total.Accepted+st.Total.Limited != 320 {
		t.Fatalf("got %+v, want 320 requests, each accepted or limited", st.Total)
	}
	for id, c := range st.Credentials {
		tok := c.Tokens
		want := Buckets{Requests: int64(tok.Settled), InputTokens: tok.Usage.InputTokens + tok.Usage.CacheCreationInputTokens,
			OutputTokens: tok.Usage.OutputTokens}
		if tok.Charged != want || tok.Settled != c.Accepted || tok.Usage.OutputTokens != int64(5*c.Accepted) {
			t.Errorf("%s: charged %+v, want %+v from %d settled requests", id, tok.Charged, want, tok.Settled)
		}
		if most := 300 * (1 + span.Minutes()); float64(tok.Charged.OutputTokens) > most+1 {
			t.Errorf("%s: %d output tokens charged in %v, more than the bucket gives (%v)", id, tok.Charged.OutputTokens, span, most)
		}
	}
	if st.Total.Limited == 0 || st.Total.Tokens.Refused.OutputTokens == 0 {
		t.Errorf("got %+v, want some refusals by the output bucket", st.Total.Tokens)
	}
}

// discard is an io.Writer that keeps nothing.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Every event of a stream is flushed as it is sent: the client reads the
// first one soon after the time the mock logged for it (within 100ms, a
// bound generous for a loaded machine), long before the next one comes
// (500ms later). Real time over loopback.
func TestLLMFirstChunkIsFlushed(t *testing.T) {
	t.Parallel()
	for _, vendor := range []string{VendorOpenAI, VendorAnthropic} {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			s, err := New(Config{LLM: LLM{Vendor: vendor, OutputTokens: 3, ChunkDelay: 500 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(s)
			defer srv.Close()
			path, body := "/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`
			if vendor == VendorAnthropic {
				path, body = "/v1/messages", messagesBody(64, "s", "u", true)
			}
			resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			if _, err := br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			received := time.Now()
			br.WriteTo(discard{})
			sent := s.Log()[0].LLM.FirstChunk
			if d := received.Sub(sent); d < -time.Millisecond || d > 100*time.Millisecond {
				t.Errorf("the first chunk arrived %v after the mock sent it, want within 100ms", d)
			}
		})
	}
}
