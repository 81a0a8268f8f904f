package llm

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

// zeroTok counts no tokens, so that an estimate shows only the overheads
// and media charges.
type zeroTok struct{}

func (zeroTok) Count(string, string) int { return 0 }

// byteTok counts one token per byte, for tests that check what text is
// counted.
type byteTok struct{}

func (byteTok) Count(_, text string) int { return len(text) }

func pngB64(w, h int) string {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)))
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func jpegB64(w, h int) string {
	var b bytes.Buffer
	jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil)
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func gifB64(w, h int) string {
	var b bytes.Buffer
	gif.Encode(&b, image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black}), nil)
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func estimate(t *testing.T, v Vendor, path, body string, tok Tokenizer) Estimate {
	t.Helper()
	e, ok := v.Estimate(path, []byte(body), int64(len(body)), EstimateOptions{Tokenizer: tok})
	if !ok {
		t.Fatalf("Estimate(%s) not ok", path)
	}
	return e
}

func TestImageSize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		b64  string
	}{{"PNG", pngB64(1234, 567)}, {"JPEG", jpegB64(1234, 567)}, {"GIF", gifB64(1234, 567)}} {
		raw, _ := base64.StdEncoding.DecodeString(c.b64)
		w, h, ok := imageSize(raw)
		if !ok || w != 1234 || h != 567 {
			t.Errorf("%s: imageSize = %d×%d %v, want 1234×567", c.name, w, h, ok)
		}
	}
	// WebP VP8X: canvas width-1 and height-1 in 24 bits each.
	webp := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\xd1\x04\x00\x36\x02\x00")
	if w, h, ok := imageSize(webp); !ok || w != 1234 || h != 567 {
		t.Errorf("WebP: imageSize = %d×%d %v, want 1234×567", w, h, ok)
	}
	if _, _, ok := imageSize([]byte("not an image at all, just text")); ok {
		t.Error("text sniffed as an image")
	}
}

// TestOpenAIImages: the worked examples of OpenAI's "Images and vision"
// guide ("Calculating costs"): 1024×1024 high is 765 tokens, 2048×4096
// high 1105, any low 85; gpt-4.1-mini's 1024×1024 is 1024 patches × 1.62.
func TestOpenAIImages(t *testing.T) {
	t.Parallel()
	const frame = 3 + 3 // one message, reply priming (zeroTok counts "user" as 0)
	img := func(model, url, detail string) string {
		return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":%q,"detail":%q}}]}]}`, model, url, detail)
	}
	cases := []struct {
		name, body string
		want       int64
	}{
		{"High1024", img("gpt-4o", "data:image/png;base64,"+pngB64(1024, 1024), "high"), 765},
		{"High2048x4096", img("gpt-4o", "data:image/jpeg;base64,"+jpegB64(2048, 4096), "high"), 1105},
		{"AutoSmall", img("gpt-4o", "data:image/gif;base64,"+gifB64(128, 64), "auto"), 85 + 170},
		{"Low", img("gpt-4o", "data:image/png;base64,"+pngB64(4000, 3000), "low"), 85},
		{"URLUnknownSize", img("gpt-4o", "https://example.com/cat.png", "high"), 85 + 8*170},
		{"MiniTiles", img("gpt-4o-mini", "data:image/png;base64,"+pngB64(512, 512), "high"), 2833 + 5667},
		{"Patches41Mini", img("gpt-4.1-mini", "data:image/png;base64,"+pngB64(1024, 1024), "auto"), 1659},
		{"PatchesCap", img("gpt-5-nano", "https://example.com/x.png", "auto"), 3779}, // 1536 × 2.46
		{"GPT5Tiles", img("gpt-5", "data:image/png;base64,"+pngB64(1024, 1024), "high"), 70 + 4*140},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if e := estimate(t, OpenAI, "/v1/chat/completions", c.body, zeroTok{}); e.Input-frame != c.want {
				t.Errorf("image tokens = %d, want %d", e.Input-frame, c.want)
			}
		})
	}
}

// TestAnthropicImages: the "Vision" guide's examples: 200×200 about 54
// tokens (64 visual tokens of 28 px in its newer wording: the larger is
// charged), 1000×1000 about 1334, 1092×1092 about 1590; an image of unknown
// size costs the model's maximum.
func TestAnthropicImages(t *testing.T) {
	t.Parallel()
	const frame = anthropicBase + anthropicPerMessage
	img := func(model, source string) string {
		return fmt.Sprintf(`{"model":%q,"max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":%s}]}]}`, model, source)
	}
	b64 := func(data string) string {
		return `{"type":"base64","media_type":"image/png","data":"` + data + `"}`
	}
	cases := []struct {
		name, body string
		want       int64
	}{
		{"Small", img("claude-sonnet-4-5", b64(pngB64(200, 200))), 64},
		{"OneMegapixel", img("claude-sonnet-4-5", b64(pngB64(1000, 1000))), 1334},
		{"Native", img("claude-sonnet-4-5", b64(pngB64(1092, 1092))), 1590},
		{"Downscaled", img("claude-3-5-sonnet-20241022", b64(pngB64(4000, 4000))), 1600},
		{"URL", img("claude-sonnet-4-5", `{"type":"url","url":"https://example.com/a.jpg"}`), 1600},
		{"URLOpus47", img("claude-opus-4-7", `{"type":"url","url":"https://example.com/a.jpg"}`), 4784},
		{"FileUnknownModel", img("my-proxy-model", `{"type":"file","file_id":"file_01"}`), 4784},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if e := estimate(t, Anthropic, "/v1/messages", c.body, zeroTok{}); e.Input-frame != c.want {
				t.Errorf("image tokens = %d, want %d", e.Input-frame, c.want)
			}
		})
	}
}

// TestAnthropicDocExamples: requests of Anthropic's "Token counting" guide
// and the input_tokens its count_tokens examples show (14 for the system
// prompt and "Hello, Claude"; 403 for the get_weather tool). The estimate
// must not be under them, nor absurdly over.
func TestAnthropicDocExamples(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		doc        int64
	}{
		{"Basic", `{"model":"claude-sonnet-4-5","system":"You are a scientist","messages":[{"role":"user","content":"Hello, Claude"}],"max_tokens":1024}`, 14},
		{"Tools", `{"model":"claude-sonnet-4-5","max_tokens":1024,"tools":[{"name":"get_weather","description":"Get the current weather in a given location","input_schema":{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"}},"required":["location"]}}],"messages":[{"role":"user","content":"What's the weather like in San Francisco?"}]}`, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := estimate(t, Anthropic, "/v1/messages", c.body, nil)
			if e.Input < c.doc || e.Input > 2*c.doc {
				t.Errorf("Input = %d, want between the documented %d and %d", e.Input, c.doc, 2*c.doc)
			}
			t.Logf("estimate %d, documented %d (%.2f)", e.Input, c.doc, float64(e.Input)/float64(c.doc))
		})
	}
}

func TestEstimateShapes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		v     Vendor
		path  string
		body  string
		tok   Tokenizer
		want  Estimate
		notOK bool
	}{
		{name: "ChatOutputTimesN", v: OpenAI, path: "/v1/chat/completions", tok: zeroTok{},
			body: `{"model":"gpt-4o","n":3,"max_completion_tokens":200,"messages":[{"role":"user","content":"hi"}]}`,
			want: Estimate{Input: 6, Output: 600, Model: "gpt-4o", UsageReported: true}},
		{name: "ChatMaxTokensLegacy", v: OpenAI, path: "/v1/chat/completions", tok: zeroTok{},
			body: `{"messages":[],"max_tokens":77,"model":"gpt-4"}`,
			want: Estimate{Input: 3, Output: 77, Model: "gpt-4", UsageReported: true}},
		{name: "ChatDefaultOutput", v: OpenAI, path: "/v1/chat/completions", tok: zeroTok{},
			body: `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
			want: Estimate{Input: 6, Output: DefaultOutput, Model: "gpt-4o", UsageReported: true}},
		{name: "StreamWithoutUsage", v: OpenAI, path: "/v1/chat/completions", tok: zeroTok{},
			body: `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`,
			want: Estimate{Input: 6, Output: 5, Model: "gpt-4o", Stream: true}},
		{name: "StreamWithUsage", v: OpenAI, path: "/v1/chat/completions", tok: zeroTok{},
			body: `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`,
			want: Estimate{Input: 6, Output: 5, Model: "gpt-4o", Stream: true, UsageReported: true}},
		{name: "NameCostsOneMore", v: OpenAI, path: "/v1/chat/completions", tok: zeroTok{},
			body: `{"model":"gpt-4o","max_tokens":1,"messages":[{"role":"user","name":"bob","content":"hi"}]}`,
			want: Estimate{Input: 7, Output: 1, Model: "gpt-4o", UsageReported: true}},
		{name: "ToolCallsCounted", v: OpenAI, path: "/v1/chat/completions", tok: byteTok{},
			body: `{"model":"gpt-4o","max_tokens":1,"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`,
			// 3 message + "assistant" 9 + call framing 3 + "f" 1 + "{}" 2 + priming 3
			want: Estimate{Input: 21, Output: 1, Model: "gpt-4o", UsageReported: true}},
		{name: "AudioInput", v: OpenAI, path: "/v1/chat/completions", tok: zeroTok{},
			body: `{"model":"gpt-4o-audio-preview","max_tokens":1,"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"` + strings.Repeat("A", 64000) + `","format":"wav"}}]}]}`,
			// 48,000 bytes at 16,000 B/s = 3 s = 30 tokens
			want: Estimate{Input: 36, Output: 1, Model: "gpt-4o-audio-preview", UsageReported: true}},
		{name: "AzureDeployment", v: OpenAI, path: "/openai/deployments/gpt-4o-prod/chat/completions", tok: zeroTok{},
			body: `{"messages":[{"role":"user","content":"hi"}],"max_tokens":9}`,
			want: Estimate{Input: 6, Output: 9, Model: "gpt-4o-prod", UsageReported: true}},
		{name: "CompletionsBatch", v: OpenAI, path: "/v1/completions", tok: byteTok{},
			body: `{"model":"gpt-3.5-turbo-instruct","prompt":["ab","cde"],"n":2}`,
			want: Estimate{Input: 5, Output: 16 * 2 * 2, Model: "gpt-3.5-turbo-instruct", UsageReported: true}},
		{name: "EmbeddingsTokenArrays", v: OpenAI, path: "/v1/embeddings", tok: byteTok{},
			body: `{"model":"text-embedding-3-small","input":[[1,2,3],[4,5]]}`,
			want: Estimate{Input: 5, Output: 0, Model: "text-embedding-3-small", UsageReported: true}},
		{name: "EmbeddingsStrings", v: OpenAI, path: "/v1/embeddings", tok: byteTok{},
			body: `{"input":["hello","hi"],"model":"text-embedding-3-large"}`,
			want: Estimate{Input: 7, Model: "text-embedding-3-large", UsageReported: true}},
		{name: "ResponsesString", v: OpenAI, path: "/v1/responses", tok: byteTok{},
			body: `{"model":"gpt-5","instructions":"be brief","input":"hello","max_output_tokens":50,"stream":true}`,
			// instructions: 3+1+8; input: 3+1+5+3 priming
			want: Estimate{Input: 24, Output: 50, Model: "gpt-5", Stream: true, UsageReported: true}},
		{name: "ResponsesItems", v: OpenAI, path: "/v1/responses", tok: byteTok{},
			body: `{"model":"gpt-5","input":[{"role":"user","content":[{"type":"input_text","text":"abc"}]},{"type":"function_call_output","call_id":"c1","output":"42"}]}`,
			// 3 + "user" 4 + "abc" 3; 3 + "42" 2; priming 3
			want: Estimate{Input: 18, Output: DefaultOutput, Model: "gpt-5", UsageReported: true}},
		{name: "AnthropicBlocks", v: Anthropic, path: "/v1/messages", tok: byteTok{},
			body: `{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"system":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"abcd"},{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}]}`,
			// base 3 + message 4 + "user" 4 + "abcd" 4 + "ok" 2 + "sys" 3
			want: Estimate{Input: 20, Output: 100, Model: "claude-sonnet-4-5", Stream: true, UsageReported: true}},
		{name: "AnthropicToolChoiceAny", v: Anthropic, path: "/v1/messages", tok: zeroTok{},
			body: `{"model":"claude-3-opus-20240229","max_tokens":1,"tool_choice":{"type":"any"},"tools":[{"name":"t","input_schema":{}}],"messages":[]}`,
			want: Estimate{Input: 3 + 281, Output: 1, Model: "claude-3-opus-20240229", UsageReported: true}},
		{name: "AnthropicTextDocument", v: Anthropic, path: "/v1/messages", tok: byteTok{},
			body: `{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"0123456789"}}]}]}`,
			want: Estimate{Input: 3 + 4 + 4 + 10, Output: 1, Model: "claude-sonnet-4-5", UsageReported: true}},
		{name: "AnthropicPDFByURL", v: Anthropic, path: "/v1/messages", tok: zeroTok{},
			body: `{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://example.com/a.pdf"}}]}]}`,
			want: Estimate{Input: 3 + 4 + unknownPDFPages*(pdfTextPerPage+1600), Output: 1, Model: "claude-sonnet-4-5", UsageReported: true}},
		{name: "AnthropicPDFPages", v: Anthropic, path: "/v1/messages", tok: zeroTok{},
			body: `{"model":"claude-sonnet-4-5","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"` +
				base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 1 0 obj <</Type /Pages>> 2 0 obj <</Type /Page>> 3 0 obj <</Type/Page>>")) + `"}}]}]}`,
			want: Estimate{Input: 3 + 4 + 2*(pdfTextPerPage+1600), Output: 1, Model: "claude-sonnet-4-5", UsageReported: true}},
		{name: "AnthropicNoMaxTokens", v: Anthropic, path: "/v1/messages", tok: zeroTok{},
			body: `{"model":"claude-sonnet-4-5","messages":[]}`,
			want: Estimate{Input: 3, Output: DefaultOutput, Model: "claude-sonnet-4-5", UsageReported: true}},
		{name: "CountTokensNotPriced", v: Anthropic, path: "/v1/messages/count_tokens", body: `{"messages":[]}`, notOK: true},
		{name: "BatchesNotPriced", v: Anthropic, path: "/v1/messages/batches", body: `{"requests":[]}`, notOK: true},
		{name: "ModelsNotPriced", v: OpenAI, path: "/v1/models", body: `{}`, notOK: true},
		{name: "FilesNotPriced", v: OpenAI, path: "/v1/files", body: `x`, notOK: true},
		{name: "ResponseByIDNotPriced", v: OpenAI, path: "/v1/responses/resp_123", body: `{}`, notOK: true},
		{name: "EmptyBodyNotPriced", v: OpenAI, path: "/v1/chat/completions", body: ``, notOK: true},
		{name: "NoneNotPriced", v: None, path: "/v1/chat/completions", body: `{}`, notOK: true},
		{name: "WrongVendorPath", v: OpenAI, path: "/v1/messages", body: `{}`, notOK: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e, ok := c.v.Estimate(c.path, []byte(c.body), int64(len(c.body)), EstimateOptions{Tokenizer: c.tok})
			if ok == c.notOK {
				t.Fatalf("ok = %v, want %v", ok, !c.notOK)
			}
			if e != c.want {
				t.Errorf("got %+v, want %+v", e, c.want)
			}
		})
	}
}

func TestEstimateRough(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 200)
	full := `{"model":"gpt-4o","max_tokens":10,"messages":[{"role":"user","content":"` + text + `"}]}`
	whole := estimate(t, OpenAI, "/v1/chat/completions", full, nil)

	t.Run("CutAtBound", func(t *testing.T) {
		t.Parallel()
		e, ok := OpenAI.Estimate("/v1/chat/completions", []byte(full[:len(full)/4]), int64(len(full)), EstimateOptions{})
		if !ok || !e.Rough || e.Output != 10 {
			t.Fatalf("got %+v %v, want a rough estimate with output 10", e, ok)
		}
		if e.Input < whole.Input*9/10 || e.Input > whole.Input*2 {
			t.Errorf("cut body's Input = %d, want near the whole body's %d, erring high", e.Input, whole.Input)
		}
	})
	t.Run("CutUnknownSize", func(t *testing.T) {
		t.Parallel()
		e, ok := OpenAI.Estimate("/v1/chat/completions", []byte(full[:len(full)/4]), -1, EstimateOptions{})
		if !ok || !e.Rough || e.Input <= 0 {
			t.Errorf("got %+v %v, want a rough positive estimate", e, ok)
		}
	})
	t.Run("Garbage", func(t *testing.T) {
		t.Parallel()
		body := "{\"model\": gpt-4o, " + strings.Repeat("x", 1000)
		e, ok := OpenAI.Estimate("/v1/chat/completions", []byte(body), int64(len(body)), EstimateOptions{})
		if !ok || !e.Rough || e.Input < int64(len(body))*6/10 || e.Output != DefaultOutput {
			t.Errorf("got %+v %v, want Input ≥ %d (0.6 per byte), rough, default output", e, ok, len(body)*6/10)
		}
	})
	t.Run("CutInsideImage", func(t *testing.T) {
		t.Parallel()
		body := `{"model":"gpt-4o","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,` + strings.Repeat("QUFB", 100000)
		e, ok := OpenAI.Estimate("/v1/chat/completions", []byte(body), int64(len(body))*10, EstimateOptions{})
		if !ok || !e.Rough || e.Input > 2000 {
			t.Errorf("got %+v %v, want the image's maximum (1445) and framing, not the unread bytes as text", e, ok)
		}
	})
	t.Run("DefaultOutputOption", func(t *testing.T) {
		t.Parallel()
		body := `{"model":"gpt-4o","messages":[]}`
		e, _ := OpenAI.Estimate("/v1/chat/completions", []byte(body), int64(len(body)), EstimateOptions{DefaultOutput: 333})
		if e.Output != 333 {
			t.Errorf("Output = %d, want 333", e.Output)
		}
	})
}

func TestCharEstimator(t *testing.T) {
	t.Parallel()
	var c CharEstimator
	if n := c.Count("gpt-4o", ""); n != 0 {
		t.Errorf("empty text: %d tokens", n)
	}
	en := "The quick brown fox jumps over the lazy dog."
	if o, a := c.Count("gpt-4o", en), c.Count("claude-opus-4-7", en); a <= o {
		t.Errorf("claude estimate %d not above o200k's %d", a, o)
	}
	if o, l := c.Count("gpt-4o", "Привет, как дела?"), c.Count("gpt-4", "Привет, как дела?"); l <= o {
		t.Errorf("cl100k estimate %d of Cyrillic not above o200k's %d", l, o)
	}
	if n := c.Count("gpt-4o", "\xff\xfe\xfd"); n <= 0 {
		t.Errorf("invalid UTF-8: %d tokens", n)
	}
}

func TestOpenAIEncoding(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"gpt-4o": "o200k_base", "gpt-4o-mini-2024-07-18": "o200k_base", "gpt-4.1-nano": "o200k_base", "gpt-5": "o200k_base",
		"o3-mini": "o200k_base", "o1": "o200k_base", "unknown-model": "o200k_base", "": "o200k_base",
		"gpt-4": "cl100k_base", "gpt-4-0613": "cl100k_base", "gpt-4-turbo": "cl100k_base", "gpt-3.5-turbo": "cl100k_base",
		"text-embedding-3-small": "cl100k_base", "text-embedding-ada-002": "cl100k_base", "gpt-35-turbo": "cl100k_base",
	}
	for m, want := range cases {
		if got := OpenAIEncoding(m); got != want {
			t.Errorf("OpenAIEncoding(%q) = %q, want %q", m, got, want)
		}
	}
}
