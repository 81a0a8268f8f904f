package mockapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heedhq/heed/quota"
)

// anthropicConfig is an Anthropic mock with 60 RPM, 6000 ITPM and 600
// OTPM.
func anthropicConfig() Config {
	return Config{LLM: LLM{Vendor: VendorAnthropic, RequestsPerMinute: 60,
		InputTokensPerMinute: 6000, OutputTokensPerMinute: 600}}
}

// messagesBody is an Anthropic request with a cached system prompt of
// system and the user's text.
func messagesBody(maxTokens int, system, user string, stream bool) string {
	return fmt.Sprintf(`{"model":"claude-test","max_tokens":%d,"stream":%v,`+
		`"system":[{"type":"text","text":%q,"cache_control":{"type":"ephemeral"}}],`+
		`"messages":[{"role":"user","content":%q}]}`, maxTokens, stream, system, user)
}

// postLLM sends body to path as credential k, with Mock-Output-Tokens
// when output >= 0.
func postLLM(s *Server, path, body string, output int) *http.Response {
	r := newRequest(http.MethodPost, path, "k", body)
	if output >= 0 {
		r.Header.Set(outputTokensHeader, fmt.Sprint(output))
	}
	return serve(s, r)
}

// anthropicReply is the part of a message the tests read.
type anthropicReply struct {
	Type       string         `json:"type"`
	StopReason string         `json:"stop_reason"`
	Usage      anthropicUsage `json:"usage"`
	Content    []struct {
		Text string `json:"text"`
	} `json:"content"`
}

func decodeJSON[T any](t *testing.T, resp *http.Response) T {
	t.Helper()
	var v T
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("decoding the answer: %v", err)
	}
	return v
}

// Anthropic: input and cache writes charged to ITPM at arrival, cache
// reads free; max_tokens charged to OTPM at arrival and corrected to the
// output at the end; the headers say so.
func TestAnthropicCharges(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0)
	s := newTestServer(t, anthropicConfig(), clock)
	system := strings.Repeat("You answer briefly and politely. ", 30)
	body := messagesBody(500, system, "Hello", false)

	first := postLLM(s, "/v1/messages", body, 20)
	m1 := decodeJSON[anthropicReply](t, first)
	if first.StatusCode != 200 || m1.Usage.CacheCreationInputTokens == 0 || m1.Usage.CacheReadInputTokens != 0 || m1.Usage.OutputTokens != 20 {
		t.Fatalf("first: got %d %+v, want 200, a cache write and 20 output tokens", first.StatusCode, m1.Usage)
	}
	in1 := m1.Usage.InputTokens + m1.Usage.CacheCreationInputTokens
	checkHeader(t, first.Header, "Anthropic-Ratelimit-Input-Tokens-Remaining", fmt.Sprint(6000-in1))
	checkHeader(t, first.Header, "Anthropic-Ratelimit-Output-Tokens-Remaining", "100") // 600 - 500 at arrival
	checkHeader(t, first.Header, "Anthropic-Ratelimit-Requests-Remaining", "59")
	checkHeader(t, first.Header, "Anthropic-Ratelimit-Output-Tokens-Reset", "2026-11-22T12:00:50Z")

	second := postLLM(s, "/v1/messages", body, 20)
	m2 := decodeJSON[anthropicReply](t, second)
	if m2.Usage.CacheReadInputTokens != m1.Usage.CacheCreationInputTokens || m2.Usage.CacheCreationInputTokens != 0 {
		t.Fatalf("second: got %+v, want the first's cache write read back", m2.Usage)
	}
	// The second charged only its uncached input; the first's output was
	// corrected from 500 to 20 before the second arrived.
	checkHeader(t, second.Header, "Anthropic-Ratelimit-Input-Tokens-Remaining", fmt.Sprint(6000-in1-m2.Usage.InputTokens))
	checkHeader(t, second.Header, "Anthropic-Ratelimit-Output-Tokens-Remaining", fmt.Sprint(600-20-500))

	tok := s.Stats().Credentials[CredID("k")].Tokens
	wantArrival := Buckets{Requests: 2, InputTokens: in1 + m2.Usage.InputTokens, OutputTokens: 1000}
	wantCharged := Buckets{Requests: 2, InputTokens: in1 + m2.Usage.InputTokens, OutputTokens: 40}
	if tok.AtArrival != wantArrival || tok.Charged != wantCharged || tok.Settled != 2 {
		t.Errorf("stats: got %+v, want at arrival %+v, charged %+v, 2 settled", tok, wantArrival, wantCharged)
	}
	if tok.Usage.CacheReadInputTokens != m2.Usage.CacheReadInputTokens || tok.Usage.OutputTokens != 40 {
		t.Errorf("stats usage: got %+v", tok.Usage)
	}
}

// A request whose max_tokens does not fit OTPM gets Anthropic's 429 with
// retry-after and headers that heed's quota parser reads; the buckets are
// not charged; it passes once the bucket refilled.
func TestAnthropicRefusal(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0)
	s := newTestServer(t, anthropicConfig(), clock)
	body := messagesBody(500, "Be brief.", "Hi", false)
	if resp := postLLM(s, "/v1/messages", body, 500); resp.StatusCode != 200 {
		t.Fatalf("first: got %d, want 200", resp.StatusCode)
	}
	// 100 output tokens remain; 500 need 40s more at 10 a second.
	clock.Set(t0.Add(time.Second))
	resp := postLLM(s, "/v1/messages", body, 0)
	raw := readBody(t, resp)
	if resp.StatusCode != 429 || !strings.Contains(raw, `"rate_limit_error"`) || !strings.Contains(raw, "600 output tokens per minute") {
		t.Fatalf("second: got %d %s, want Anthropic's 429 naming the output token limit", resp.StatusCode, raw)
	}
	checkHeader(t, resp.Header, "Retry-After", "39")
	checkHeader(t, resp.Header, "Anthropic-Ratelimit-Output-Tokens-Remaining", "110")
	sig := quota.Parse(quota.Response{Status: resp.StatusCode, Header: resp.Header, Body: []byte(raw)}, clock.Now())
	if !sig.Limited || sig.Vendor != quota.VendorAnthropic || sig.Wait != 39*time.Second {
		t.Errorf("quota read: got limited %v vendor %q wait %v, want true anthropic 39s", sig.Limited, sig.Vendor, sig.Wait)
	}
	st := s.Stats()
	if c := st.Credentials[CredID("k")]; c.Limited != 1 || c.Tokens.Refused.OutputTokens != 1 || c.Tokens.AtArrival.OutputTokens != 500 {
		t.Errorf("stats: got %+v, want 1 limited by output tokens and only the first charged", c)
	}
	// Arriving during the wait counts in DuringWait; after it, it passes.
	clock.Set(t0.Add(40 * time.Second))
	if resp := postLLM(s, "/v1/messages", body, 0); resp.StatusCode != 200 || s.Stats().Total.DuringWait != 0 {
		t.Errorf("after the wait: got %d, %d during the wait; want 200 and 0", resp.StatusCode, s.Stats().Total.DuringWait)
	}
	// A request larger than the whole bucket is refused without a wait.
	resp = postLLM(s, "/v1/messages", messagesBody(601, "x", "y", false), 0)
	if raw := readBody(t, resp); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" || !strings.Contains(raw, "never") {
		t.Errorf("too large: got %d retry-after %q %s, want 429 without retry-after", resp.StatusCode, resp.Header.Get("Retry-After"), raw)
	}
}

// OpenAI: TPM charged input + n × max tokens at arrival, corrected to
// input + output; x-ratelimit-* headers with duration resets; OpenAI's 429.
func TestOpenAICharges(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0)
	s := newTestServer(t, Config{LLM: LLM{Vendor: VendorOpenAI, RequestsPerMinute: 60, TokensPerMinute: 6000}}, clock)
	body := `{"model":"gpt-test","max_completion_tokens":1000,"n":2,"messages":[{"role":"user","content":"Say hi"}]}`
	resp := postLLM(s, "/v1/chat/completions", body, 10)
	got := decodeJSON[openAIReply](t, resp)
	in := got.Usage.PromptTokens
	if resp.StatusCode != 200 || got.Object != "chat.completion" || len(got.Choices) != 2 || got.Usage.CompletionTokens != 20 || in == 0 {
		t.Fatalf("got %d %+v, want a chat.completion of 2 choices, 20 completion tokens", resp.StatusCode, got)
	}
	remaining := 6000 - in - 2000
	checkHeader(t, resp.Header, "X-Ratelimit-Remaining-Tokens", fmt.Sprint(remaining))
	checkHeader(t, resp.Header, "X-Ratelimit-Reset-Tokens", ceilDuration(time.Duration(in+2000)*10*time.Millisecond, time.Millisecond).String())
	checkHeader(t, resp.Header, "X-Ratelimit-Reset-Requests", "1s")
	tok := s.Stats().Total.Tokens
	if tok.AtArrival.Tokens != in+2000 || tok.Charged.Tokens != in+20 {
		t.Errorf("stats: got %+v, want %d at arrival and %d charged", tok, in+2000, in+20)
	}
	// One asking for more than remains is refused.
	big := `{"model":"gpt-test","max_tokens":5990,"messages":[{"role":"user","content":"Say hi"}]}`
	resp = postLLM(s, "/v1/chat/completions", big, 0)
	raw := readBody(t, resp)
	if resp.StatusCode != 429 || !strings.Contains(raw, `"code":"rate_limit_exceeded"`) || !strings.Contains(raw, `"type":"tokens"`) {
		t.Fatalf("big: got %d %s, want OpenAI's 429 on tokens", resp.StatusCode, raw)
	}
	sig := quota.Parse(quota.Response{Status: resp.StatusCode, Header: resp.Header, Body: []byte(raw)}, clock.Now())
	if !sig.Limited || sig.Wait <= 0 {
		t.Errorf("quota read: got limited %v wait %v, want a limit with a wait", sig.Limited, sig.Wait)
	}
}

// openAIReply is the part of a chat.completion the tests read.
type openAIReply struct {
	Object  string      `json:"object"`
	Choices []any       `json:"choices"`
	Usage   openAIUsage `json:"usage"`
}

func checkHeader(t *testing.T, h http.Header, name, want string) {
	t.Helper()
	if got := h.Get(name); got != want {
		t.Errorf("%s: got %q, want %q", name, got, want)
	}
}

func TestOutputTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		llm    LLM
		max    int64
		header string
		want   int64
	}{
		{"DefaultShare", LLM{}, 512, "", 128},
		{"Share", LLM{OutputShare: 0.1}, 512, "", 51},
		{"ShareAtLeastOne", LLM{OutputShare: 0.01}, 10, "", 1},
		{"Fixed", LLM{OutputTokens: 40}, 512, "", 40},
		{"FixedCappedAtMax", LLM{OutputTokens: 40}, 16, "", 16},
		{"Header", LLM{OutputTokens: 40}, 512, "7", 7},
		{"HeaderZero", LLM{}, 512, "0", 0},
		{"HeaderCappedAtMax", LLM{}, 512, "9999", 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := tt.llm
			l.Vendor = VendorOpenAI
			l, err := l.validate()
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.outputTokens(llmRequest{maxTokens: tt.max}, tt.header)
			if err != nil || got != tt.want {
				t.Errorf("got %d (%v), want %d", got, err, tt.want)
			}
		})
	}
	if _, err := (LLM{}).outputTokens(llmRequest{maxTokens: 5}, "-1"); err == nil {
		t.Errorf("Mock-Output-Tokens: -1: got no error")
	}
}

// Generated text of n words is n o200k_base tokens, so the usage the mock
// reports is the text it sent.
func TestGeneratedTextIsItsTokens(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{1, 5, 22, 23, 100, 513} {
		if got := countTokens(generatedText(0, n)); got != n {
			t.Errorf("%d words: got %d tokens", n, got)
		}
	}
	if generatedText(0, 7)+generatedText(7, 30) != generatedText(0, 30) {
		t.Errorf("chunks do not add up to the whole text")
	}
}

func TestLLMConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		llm  LLM
		want string
	}{
		{"FieldsWithoutVendor", LLM{RequestsPerMinute: 5}, "LLM.Vendor is empty"},
		{"UnknownVendor", LLM{Vendor: "gemini"}, `LLM.Vendor "gemini"`},
		{"NegativeLimit", LLM{Vendor: VendorOpenAI, TokensPerMinute: -1}, "LLM.TokensPerMinute -1"},
		{"HugeLimit", LLM{Vendor: VendorAnthropic, InputTokensPerMinute: 1 << 40}, "LLM.InputTokensPerMinute"},
		{"ITPMOnOpenAI", LLM{Vendor: VendorOpenAI, InputTokensPerMinute: 5}, "LLM.InputTokensPerMinute is set but openai"},
		{"TPMOnAnthropic", LLM{Vendor: VendorAnthropic, TokensPerMinute: 5}, "LLM.TokensPerMinute is set but anthropic"},
		{"BothOutputRules", LLM{Vendor: VendorOpenAI, OutputTokens: 5, OutputShare: 0.5}, "LLM.OutputTokens and LLM.OutputShare"},
		{"ShareAboveOne", LLM{Vendor: VendorOpenAI, OutputShare: 2}, "LLM.OutputShare 2"},
		{"NegativeChunkDelay", LLM{Vendor: VendorOpenAI, ChunkDelay: -time.Second}, "LLM.ChunkDelay"},
		{"NegativeChunkTokens", LLM{Vendor: VendorOpenAI, ChunkTokens: -1}, "LLM.ChunkTokens"},
		{"NegativeCacheTTL", LLM{Vendor: VendorAnthropic, CacheTTL: -1}, "LLM.CacheTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(Config{LLM: tt.llm})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "mockapi: ") {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// Bad bodies get the vendor's 400 and charge nothing.
func TestLLMInvalidRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		vendor, path, body, want string
	}{
		{VendorAnthropic, "/v1/messages", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, "max_tokens: Field required"},
		{VendorAnthropic, "/v1/messages", `not json`, "invalid_request_error"},
		{VendorAnthropic, "/v1/messages", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]}`, "max_tokens: 0"},
		{VendorOpenAI, "/v1/chat/completions", `{"model":"m","n":500,"messages":[{"role":"user","content":"x"}]}`, "n: 500"},
		{VendorOpenAI, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":7}]}`, "content is neither"},
	}
	for _, tt := range tests {
		s := newTestServer(t, Config{LLM: LLM{Vendor: tt.vendor, RequestsPerMinute: 5}}, newFakeClock(t0))
		resp := postLLM(s, tt.path, tt.body, -1)
		if raw := readBody(t, resp); resp.StatusCode != 400 || !strings.Contains(raw, tt.want) {
			t.Errorf("%s %s: got %d %s, want 400 with %q", tt.vendor, tt.body, resp.StatusCode, raw, tt.want)
		}
		if tok := s.Stats().Total.Tokens; tok != (TokenCounts{}) {
			t.Errorf("%s: got charges %+v after a bad request", tt.vendor, tok)
		}
	}
}

// With the LLM on, other paths keep Config.Limit and the dialect; the LLM
// path is not limited by it.
func TestLLMLeavesOtherPaths(t *testing.T) {
	t.Parallel()
	cfg := anthropicConfig()
	cfg.Limit = Limit{Algorithm: AlgorithmFixed, Requests: 1, Per: time.Minute}
	s := newTestServer(t, cfg, newFakeClock(t0))
	for i := range 3 {
		if resp := postLLM(s, "/v1/messages", messagesBody(10, "s", "u", false), 1); resp.StatusCode != 200 {
			t.Errorf("LLM request %d: got %d, want 200", i, resp.StatusCode)
		}
	}
	get(s, "/x", "k")
	if resp := get(s, "/x", "k"); resp.StatusCode != 429 {
		t.Errorf("second echo: got %d, want 429 by Config.Limit", resp.StatusCode)
	}
}

// Streams: the vendor's events, a delay between chunks, the first chunk's
// time in the log, the usage settled from what was sent.
func TestLLMStreamsChunkByChunk(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0)
	cfg := anthropicConfig()
	cfg.LLM.ChunkDelay, cfg.LLM.ChunkTokens = 100*time.Millisecond, 2
	s := newTestServer(t, cfg, clock)
	resp := postLLM(s, "/v1/messages", messagesBody(100, "s", "u", true), 9)
	raw := readBody(t, resp)
	var names []string
	for _, line := range strings.Split(raw, "\n") {
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			names = append(names, name)
		}
	}
	want := "message_start content_block_start ping content_block_delta content_block_delta content_block_delta " +
		"content_block_delta content_block_delta content_block_stop message_delta message_stop"
	if strings.Join(names, " ") != want {
		t.Errorf("events: got %v, want %s", names, want)
	}
	if !strings.Contains(raw, `"output_tokens":9`) || !strings.Contains(raw, `"stop_reason":"end_turn"`) {
		t.Errorf("message_delta: want 9 output tokens and end_turn in %s", raw)
	}
	e := s.Log()[0].LLM
	// 5 chunks, 4 delays of 100ms; the first event went out at once.
	if !e.FirstChunk.Equal(t0) || !clock.Now().Equal(t0.Add(400*time.Millisecond)) {
		t.Errorf("got first chunk at +%v, clock at +%v; want +0 and +400ms", e.FirstChunk.Sub(t0), clock.Now().Sub(t0))
	}
	if e.AtArrival.OutputTokens != 100 || e.Charged.OutputTokens != 9 || e.Usage.OutputTokens != 9 {
		t.Errorf("log entry: got %+v, want 100 output tokens at arrival and 9 in the end", e)
	}
}

// TokenUse: what each bucket was charged over a span against its limit.
func TestTokenUse(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(t0)
	s := newTestServer(t, anthropicConfig(), clock)
	body := messagesBody(300, "s", "u", false)
	// Two requests a minute apart, each 300 output at arrival, 30 in the end.
	postLLM(s, "/v1/messages", body, 30)
	clock.Set(t0.Add(time.Minute))
	postLLM(s, "/v1/messages", body, 30)
	u := s.TokenUse(CredID("k"), t0, t0.Add(2*time.Minute))
	if u.OutputTokens.Limit != 600 || u.OutputTokens.Charged != 60 || u.OutputTokens.Fraction != 0.05 {
		t.Errorf("output tokens: got %+v, want 60 of 600 a minute over 2 minutes (0.05)", u.OutputTokens)
	}
	if u.Requests.Charged != 2 || u.Tokens.Limit != 0 || u.Tokens.Fraction != 0 {
		t.Errorf("got requests %+v tokens %+v, want 2 requests and the tokens bucket off", u.Requests, u.Tokens)
	}
	// The first minute alone: one request; a span rounds out to seconds.
	u = s.TokenUse(CredID("k"), t0.Add(300*time.Millisecond), t0.Add(59*time.Second+time.Millisecond))
	if u.Requests.Charged != 1 || !u.From.Equal(t0) || !u.To.Equal(t0.Add(time.Minute)) {
		t.Errorf("first minute: got %+v, want 1 request from t0 to t0+1m", u)
	}
	if u := s.TokenUse(CredID("nobody"), t0, t0.Add(time.Minute)); u.Requests.Charged != 0 {
		t.Errorf("unknown credential: got %+v", u)
	}
}
