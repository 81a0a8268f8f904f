package mockapi_test

// The vendors' own Go SDKs against the mock's LLM endpoints over loopback:
// what they read of its answers (text, usage, stop reasons), streamed and
// not, and of its 429s, with their retries off and on.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"

	"github.com/heedhq/heed/mockapi"
)

// outputTokens is what every SDK test asks the mock to produce.
const outputTokens = 12

// The text of 12 generated tokens (see mockapi's generated text).
const twelveTokens = " the quick answer is that every request has a cost and a"

// startLLMMock starts a loopback mock of cfg's LLM that answers
// outputTokens tokens a response.
func startLLMMock(t *testing.T, llm mockapi.LLM) (*mockapi.Server, string) {
	t.Helper()
	llm.OutputTokens = outputTokens
	mock, err := mockapi.New(mockapi.Config{LLM: llm})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	t.Cleanup(srv.Close)
	return mock, srv.URL
}

func openAISDK(url string, retries int) openai.Client {
	return openai.NewClient(oaoption.WithBaseURL(url+"/v1/"), oaoption.WithAPIKey("sk-mock-openai"),
		oaoption.WithMaxRetries(retries))
}

func anthropicSDK(url string, retries int) anthropic.Client {
	return anthropic.NewClient(anoption.WithoutEnvironmentDefaults(), anoption.WithBaseURL(url),
		anoption.WithAPIKey("sk-mock-anthropic"), anoption.WithMaxRetries(retries))
}

func openAIParams() openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:               openai.ChatModelGPT4oMini,
		Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me about rate limits.")},
		MaxCompletionTokens: openai.Int(64),
	}
}

func anthropicParams() anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeHaiku4_5,
		MaxTokens: 64,
		System: []anthropic.TextBlockParam{{Text: strings.Repeat("You are a careful assistant. ", 20),
			CacheControl: anthropic.NewCacheControlEphemeralParam()}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Tell me about rate limits."))},
	}
}

func TestOpenAISDK(t *testing.T) {
	t.Parallel()
	mock, url := startLLMMock(t, mockapi.LLM{Vendor: mockapi.VendorOpenAI, RequestsPerMinute: 100, TokensPerMinute: 100000})
	client := openAISDK(url, 0)
	ctx := t.Context()

	resp, err := client.Chat.Completions.New(ctx, openAIParams())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content != twelveTokens || resp.Choices[0].FinishReason != "stop" ||
		resp.Usage.CompletionTokens != outputTokens || resp.Usage.PromptTokens == 0 || resp.Model != openai.ChatModelGPT4oMini {
		t.Errorf("got %+v, want one choice of 12 tokens, finish stop, and the usage", resp)
	}

	params := openAIParams()
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != twelveTokens || acc.Usage.CompletionTokens != outputTokens ||
		acc.Usage.PromptTokens != resp.Usage.PromptTokens || chunks != outputTokens+3 {
		t.Errorf("stream: got %d chunks, content %q, usage %+v; want %d chunks and the same answer and usage",
			chunks, acc.Choices[0].Message.Content, acc.Usage, outputTokens+3)
	}

	// Without include_usage, no chunk carries usage.
	stream = client.Chat.Completions.NewStreaming(ctx, openAIParams())
	for stream.Next() {
		if u := stream.Current().Usage; u.TotalTokens != 0 {
			t.Errorf("a chunk carried usage %+v without include_usage", u)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	tok := mock.Stats().Total.Tokens
	if want := 3 * (resp.Usage.PromptTokens + outputTokens); tok.Charged.Tokens != want || tok.Settled != 3 {
		t.Errorf("stats: got %+v, want %d tokens charged over 3 settled requests", tok, want)
	}
}

func TestAnthropicSDK(t *testing.T) {
	t.Parallel()
	mock, url := startLLMMock(t, mockapi.LLM{Vendor: mockapi.VendorAnthropic, RequestsPerMinute: 100,
		InputTokensPerMinute: 100000, OutputTokensPerMinute: 10000})
	client := anthropicSDK(url, 0)
	ctx := t.Context()

	msg, err := client.Messages.New(ctx, anthropicParams())
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != twelveTokens || msg.StopReason != anthropic.StopReasonEndTurn ||
		msg.Usage.OutputTokens != outputTokens || msg.Usage.CacheCreationInputTokens == 0 || msg.Usage.CacheReadInputTokens != 0 {
		t.Errorf("got %+v, want 12 tokens of text, end_turn and a cache write", msg)
	}

	stream := client.Messages.NewStreaming(ctx, anthropicParams())
	var acc anthropic.Message
	var types []string
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if err := acc.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Content[0].Text != twelveTokens || acc.Usage.OutputTokens != outputTokens ||
		acc.Usage.CacheReadInputTokens != msg.Usage.CacheCreationInputTokens || acc.Usage.InputTokens != msg.Usage.InputTokens {
		t.Errorf("stream: got %q usage %+v, want the same text and a cache read of the first's write", acc.Content[0].Text, acc.Usage)
	}
	if types[0] != "message_start" || types[len(types)-2] != "message_delta" || types[len(types)-1] != "message_stop" {
		t.Errorf("stream events: got %v", types)
	}
	tok := mock.Stats().Total.Tokens
	wantIn := 2*msg.Usage.InputTokens + msg.Usage.CacheCreationInputTokens // the read is free
	if tok.Charged.InputTokens != wantIn || tok.Charged.OutputTokens != 2*outputTokens || tok.AtArrival.OutputTokens != 128 {
		t.Errorf("stats: got %+v, want %d input tokens, 24 output tokens charged (128 at arrival)", tok, wantIn)
	}
}

// Each SDK reads the mock's 429 as a rate limit error, streamed or not;
// with one retry it honours retry-after and the retry passes.
func TestSDKsReadTheMock429(t *testing.T) {
	t.Parallel()
	vendors := []struct {
		name  string
		llm   mockapi.LLM
		call  func(ctx context.Context, url string, retries int, stream bool) error
		error func(err error) (int, string)
	}{
		{"OpenAI", mockapi.LLM{Vendor: mockapi.VendorOpenAI, RequestsPerMinute: 60},
			func(ctx context.Context, url string, retries int, stream bool) error {
				c := openAISDK(url, retries)
				if !stream {
					_, err := c.Chat.Completions.New(ctx, openAIParams())
					return err
				}
				s := c.Chat.Completions.NewStreaming(ctx, openAIParams())
				for s.Next() {
				}
				return s.Err()
			},
			func(err error) (int, string) {
				var e *openai.Error
				if !errors.As(err, &e) {
					return 0, err.Error()
				}
				return e.StatusCode, e.Code
			}},
		{"Anthropic", mockapi.LLM{Vendor: mockapi.VendorAnthropic, RequestsPerMinute: 60},
			func(ctx context.Context, url string, retries int, stream bool) error {
				c := anthropicSDK(url, retries)
				if !stream {
					_, err := c.Messages.New(ctx, anthropicParams())
					return err
				}
				s := c.Messages.NewStreaming(ctx, anthropicParams())
				for s.Next() {
				}
				return s.Err()
			},
			func(err error) (int, string) {
				var e *anthropic.Error
				if !errors.As(err, &e) {
					return 0, err.Error()
				}
				return e.StatusCode, string(e.Type())
			}},
	}
	wantType := map[string]string{"OpenAI": "rate_limit_exceeded", "Anthropic": "rate_limit_error"}
	for _, v := range vendors {
		for _, stream := range []bool{false, true} {
			name := v.name + map[bool]string{false: "", true: "Stream"}[stream]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				mock, url := startLLMMock(t, v.llm)
				ctx := t.Context()
				// 60 RPM refill one request a second: once the bucket is
				// drained, the next request is refused for up to a second.
				drained := drain(t, url, v.llm.Vendor)
				status, kind := v.error(v.call(ctx, url, 0, stream))
				if status != http.StatusTooManyRequests || kind != wantType[v.name] {
					t.Errorf("retries off: got %d %q, want 429 %q", status, kind, wantType[v.name])
				}
				// One retry: refused, waits retry-after (1s), passes.
				start := time.Now()
				if err := v.call(ctx, url, 1, stream); err != nil {
					t.Errorf("one retry: got %v, want success", err)
				}
				st := mock.Stats().Total
				// The two calls sent at once after a refusal arrived during
				// its wait; the SDK's retry did not.
				if st.Requests != drained+3 || st.Limited != 3 || st.DuringWait != 2 || time.Since(start) < 500*time.Millisecond {
					t.Errorf("got %+v after %v, want %d requests, 3 limited, 2 during the wait", st, time.Since(start), drained+3)
				}
			})
		}
	}
}

// drain posts small requests with plain HTTP until the mock refuses one,
// and returns how many it sent.
func drain(t *testing.T, url, vendor string) int {
	t.Helper()
	path, body := "/v1/chat/completions", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`
	if vendor == mockapi.VendorAnthropic {
		path = "/v1/messages"
	}
	for n := 1; n <= 200; n++ {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer sk-mock-"+vendor)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			return n
		}
	}
	t.Fatal("the mock refused none of 200 requests")
	return 0
}
