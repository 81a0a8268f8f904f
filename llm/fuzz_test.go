package llm

import (
	"testing"
)

// The fuzz targets' seeds are the table tests' bodies (added here) and the
// files under testdata/fuzz/<target>/.

var estimatePaths = []struct {
	v    Vendor
	path string
}{
	{OpenAI, "/v1/chat/completions"}, {OpenAI, "/v1/completions"}, {OpenAI, "/v1/embeddings"},
	{OpenAI, "/v1/responses"}, {Anthropic, "/v1/messages"}, {Anthropic, "/v1/complete"},
}

// FuzzEstimate: no body makes Estimate panic or return a negative count;
// it is deterministic; a body cut at any point with its full size known is
// still priced (ok) and marked rough unless nothing was cut.
func FuzzEstimate(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="}}]}],"n":2,"max_tokens":9}`,
		`{"model":"claude-sonnet-4-5","max_tokens":1024,"tools":[{"name":"t","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQ="}}]}]}`,
		`{"input":[[1,2],[3]],"model":"text-embedding-3-small"}`,
		`{"model":"gpt-5","input":[{"type":"function_call","name":"f","arguments":"{\"a\":\"\\u00e9\\ud83d\\ude00\"}"}]}`,
		`{"prompt":["a","b"],"best_of":3}`,
		`[1,2,3]`, `{"messages":{"a":[[[[[[[[]]]]]]]]}}`, "\"\\", "",
	} {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, body []byte, cut uint16) {
		for _, ep := range estimatePaths {
			e, ok := ep.v.Estimate(ep.path, body, int64(len(body)), EstimateOptions{})
			if ok != (len(body) > 0) {
				t.Fatalf("%s: ok = %v for a body of %d bytes", ep.path, ok, len(body))
			}
			if e.Input < 0 || e.Output < 0 {
				t.Fatalf("%s: negative estimate %+v", ep.path, e)
			}
			if again, _ := ep.v.Estimate(ep.path, body, int64(len(body)), EstimateOptions{}); again != e {
				t.Fatalf("%s: not deterministic: %+v then %+v", ep.path, e, again)
			}
			if n := int(cut); n > 0 && n < len(body) {
				c, ok := ep.v.Estimate(ep.path, body[:n], int64(len(body)), EstimateOptions{})
				if !ok || c.Input < 0 || c.Output < 0 {
					t.Fatalf("%s: cut at %d: %+v %v", ep.path, n, c, ok)
				}
			}
		}
	})
}

// meterInvariants writes body to a fresh meter in chunks of chunk bytes
// and checks, after every chunk, that counts are non-negative, that a
// stream's usage never goes down and that memory stays within the bounds;
// it returns the final usage.
func meterInvariants(t *testing.T, ct string, body []byte, chunk int) (Usage, bool) {
	m := OpenAI.Meter(ct)
	var last Usage
	for i := 0; i < len(body); i += chunk {
		p := body[i:min(i+chunk, len(body))]
		if n, err := m.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(p))
		}
		u, _ := m.Usage()
		if u.Input < 0 || u.Output < 0 || u.CacheRead < 0 || u.CacheWrite < 0 {
			t.Fatalf("negative usage %+v", u)
		}
		switch mm := m.(type) {
		case *sseMeter:
			if u.Input < last.Input || u.Output < last.Output || u.CacheRead < last.CacheRead || u.CacheWrite < last.CacheWrite {
				t.Fatalf("stream usage went down: %+v after %+v", u, last)
			}
			if len(mm.line) > MaxEventBytes || len(mm.data) > MaxEventBytes {
				t.Fatalf("buffers over the bound: line %d, data %d", len(mm.line), len(mm.data))
			}
		case *jsonMeter:
			if len(mm.capture) > MaxUsageJSON {
				t.Fatalf("usage capture over the bound: %d", len(mm.capture))
			}
		}
		last = u
	}
	return m.Usage()
}

func fuzzMeter(f *testing.F, ct string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s), uint8(7))
	}
	f.Fuzz(func(t *testing.T, body []byte, chunk uint8) {
		whole, wholeFound := meterInvariants(t, ct, body, max(len(body), 1))
		parts, partsFound := meterInvariants(t, ct, body, int(chunk)+1)
		if whole != parts || wholeFound != partsFound {
			t.Fatalf("usage depends on chunking: %+v %v whole, %+v %v in chunks of %d", whole, wholeFound, parts, partsFound, int(chunk)+1)
		}
	})
}

// FuzzMeterJSON: see meterInvariants; also, the usage found does not
// depend on how the body is cut into writes.
func FuzzMeterJSON(f *testing.F) {
	fuzzMeter(f, "application/json", openAIChatJSON, openAIResponsesJSON, anthropicJSON, `{"usage":{"input_tokens":1}}`, `{"a":"\"usage\":{","usage":[1]}`)
}

// FuzzMeterSSE: see meterInvariants and FuzzMeterJSON.
func FuzzMeterSSE(f *testing.F) {
	fuzzMeter(f, "text/event-stream", openAIStream, anthropicStream, responsesStream, "data: {\"usage\":{\"output_tokens\":3}}\r\rdata: x\n")
}
