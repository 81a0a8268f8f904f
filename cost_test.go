package heed_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heedhq/heed"
)

// anthropicAPI is a loopback stand-in for Anthropic's Messages API that
// answers each request with the status and output tokens the test sets,
// as JSON or, for a streamed request, as the vendor's SSE events.
type anthropicAPI struct {
	status atomic.Int64 // 0: 200
	output atomic.Int64 // the usage's output_tokens
	calls  atomic.Int64
}

func (a *anthropicAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	if st := a.status.Load(); st != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(st))
		fmt.Fprint(w, `{"type":"error","error":{"type":"invalid_request_error","message":"no"}}`)
		return
	}
	out := a.output.Load()
	if strings.Contains(string(body), `"stream":true`) {
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		for _, ev := range []string{
			`event: message_start` + "\n" + `data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":12,"output_tokens":1}}}`,
			`event: content_block_start` + "\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
			`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`,
			`event: content_block_stop` + "\n" + `data: {"type":"content_block_stop","index":0}`,
			fmt.Sprintf(`event: message_delta`+"\n"+`data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":%d}}`, out),
			`event: message_stop` + "\n" + `data: {"type":"message_stop"}`,
		} {
			fmt.Fprint(w, ev+"\n\n")
			f.Flush()
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":%d}}`, out)
}

// newAnthropicTransport returns a Transport pricing requests to api as
// Anthropic's, under 1000 output tokens an hour (so that nothing refills
// while a test runs).
func newAnthropicTransport(t *testing.T, api http.Handler) (*heed.Transport, string) {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	tr, err := heed.New(heed.Config{Upstreams: []heed.Upstream{{Name: "anthropic", BaseURL: srv.URL, Cost: "anthropic",
		Limits: []heed.Limit{{OutputTokens: 1000, Per: time.Hour}},
		Retry:  heed.RetryPolicy{Attempts: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr, srv.URL
}

// message sends a Messages request asking for at most maxTokens, waiting
// at most 100ms for the quota, and returns the response with its body
// read (read) or only closed.
func message(t *testing.T, tr http.RoundTripper, url string, maxTokens int, stream, read bool) (*http.Response, error) {
	t.Helper()
	body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":%d,"stream":%v,"messages":[{"role":"user","content":"Say hello."}]}`, maxTokens, stream)
	req, _ := http.NewRequestWithContext(heed.WithMaxWait(context.Background(), 100*time.Millisecond), http.MethodPost, url+"/v1/messages", strings.NewReader(body))
	req.Header.Set("X-Api-Key", "sk-ant-test")
	req.Header.Set("Content-Type", "application/json")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if read {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	_ = resp.Body.Close()
	return resp, nil
}

// fitsNow reports whether a request asking for maxTokens is let go at
// once (not answered by heed with a synthetic limit).
func fitsNow(t *testing.T, tr http.RoundTripper, url string, maxTokens int) bool {
	t.Helper()
	resp, err := message(t, tr, url, maxTokens, false, true)
	if err != nil {
		t.Fatalf("max_tokens %d: %v", maxTokens, err)
	}
	r, refused := heed.RefusalOf(resp)
	if refused && !errors.Is(r, heed.ErrLimit) {
		t.Fatalf("max_tokens %d: refused for %v, want only limits", maxTokens, r)
	}
	return !refused
}

// TestTokenCharges: a priced request is charged its maximum output when it
// leaves and settled to the usage its response reports, once, when its
// body has been read, JSON or a stream; a body closed unread leaves the
// charge as it was; a refusal the API sent gives the tokens back; a
// request larger than the limit's window fails at once.
func TestTokenCharges(t *testing.T) {
	for _, tc := range []struct {
		name string
		// do sends the first request, of max_tokens 600, the API's usage
		// reporting 100 output tokens.
		do func(t *testing.T, api *anthropicAPI, tr http.RoundTripper, url string)
		// charged is what the first request costs in the end.
		charged int
	}{
		{"JSON read", func(t *testing.T, _ *anthropicAPI, tr http.RoundTripper, url string) {
			_, _ = message(t, tr, url, 600, false, true)
		}, 100},
		{"stream read", func(t *testing.T, _ *anthropicAPI, tr http.RoundTripper, url string) {
			_, _ = message(t, tr, url, 600, true, true)
		}, 100},
		{"body closed unread", func(t *testing.T, _ *anthropicAPI, tr http.RoundTripper, url string) {
			_, _ = message(t, tr, url, 600, true, false)
		}, 600},
		{"refused by the API", func(t *testing.T, api *anthropicAPI, tr http.RoundTripper, url string) {
			api.status.Store(http.StatusBadRequest)
			defer api.status.Store(0)
			if resp, err := message(t, tr, url, 600, false, true); err != nil || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("got %v %v, want the API's 400", resp, err)
			}
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &anthropicAPI{}
			api.output.Store(100)
			tr, url := newAnthropicTransport(t, api)
			tc.do(t, api, tr, url)
			api.output.Store(0) // the probes below settle at no output: they keep only what they find
			left := 1000 - tc.charged
			if left > 0 && !fitsNow(t, tr, url, left) {
				t.Fatalf("after the first request, %d output tokens do not fit: it was charged more than %d", left, tc.charged)
			}
			// The probe's own charge settled to 0: the whole window is
			// now what the first request cost; one more token than that
			// must wait.
			if left+10 <= 1000 && fitsNow(t, tr, url, left+10) {
				t.Fatalf("%d output tokens fit after the first request: it was charged less than %d", left+10, tc.charged)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		api := &anthropicAPI{}
		tr, url := newAnthropicTransport(t, api)
		_, err := message(t, tr, url, 1001, false, true)
		if !errors.Is(err, heed.ErrTooLarge) || !strings.Contains(err.Error(), "output_tokens") {
			t.Fatalf("max_tokens 1001 under a limit of 1000: %v, want ErrTooLarge naming the limit", err)
		}
		if api.calls.Load() != 0 {
			t.Fatalf("the API saw %d requests, want none", api.calls.Load())
		}
	})
}
