package jobs

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	ups := []string{"github", "openai"}
	tests := []struct {
		name, body string
		field      string // the field the error names; "" for valid
	}{
		{"minimal", `{"upstream":"github","path":"/repos/o/r"}`, ""},
		{"full", `{"upstream":"openai","method":"post","path":"/v1/chat","query":{"a":"1","b":["2","3"]},"headers":{"Accept":"application/json"},"body":"{}","callback_url":"http://127.0.0.1:9/cb","idempotency_key":"k1","priority":1,"deadline":"2026-12-01T00:00:00Z"}`, ""},
		{"unknown upstream", `{"upstream":"evil","path":"/x"}`, "upstream"},
		{"no upstream", `{"path":"/x"}`, "upstream"},
		{"unknown field", `{"upstream":"github","path":"/x","url":"http://evil/"}`, "url"},
		{"absolute path", `{"upstream":"github","path":"http://evil.example/x"}`, "path"},
		{"scheme-relative path", `{"upstream":"github","path":"//evil.example/x"}`, "path"},
		{"dot-dot", `{"upstream":"github","path":"/a/../../admin"}`, "path"},
		{"query in path", `{"upstream":"github","path":"/x?a=1"}`, "path"},
		{"bad method", `{"upstream":"github","path":"/x","method":"GE T"}`, "method"},
		{"bad header", `{"upstream":"github","path":"/x","headers":{"Bad Name":"v"}}`, "headers.Bad Name"},
		{"header injection", `{"upstream":"github","path":"/x","headers":{"X-A":"v\r\nX-B: w"}}`, "headers.X-A"},
		{"both bodies", `{"upstream":"github","path":"/x","body":"a","body_base64":"YQ=="}`, "body"},
		{"bad base64", `{"upstream":"github","path":"/x","body_base64":"***"}`, "body_base64"},
		{"priority", `{"upstream":"github","path":"/x","priority":9}`, "priority"},
		{"wrong type", `{"upstream":"github","path":7}`, "path"},
		{"query type", `{"upstream":"github","path":"/x","query":{"a":1}}`, "query"},
		{"malformed", `{"upstream":`, "(body)"},
		{"empty", ``, "(body)"},
		{"two objects", `{"upstream":"github","path":"/x"} {}`, "(body)"},
	}
	for _, tt := range tests {
		req, err := DecodeRequest(strings.NewReader(tt.body), ups, Limits{})
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else if req.Method == "" || req.Priority == 0 {
				t.Errorf("%s: defaults not filled: %+v", tt.name, req)
			}
			continue
		}
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%s: got %v, want an error naming %q", tt.name, err, tt.field)
		}
	}
}

func TestRequestBodyLimit(t *testing.T) {
	body := `{"upstream":"github","path":"/x","body":"` + strings.Repeat("a", 2000) + `"}`
	_, err := DecodeRequest(strings.NewReader(body), []string{"github"}, Limits{MaxBody: 1000})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(`{"upstream":"github","path":"/repos/o/r","query":{"a":["1"]},"headers":{"A":"b"},"body_base64":"YQ=="}`)
	f.Add(`{"upstream":"github","path":"/x","deadline":"2026-12-01T00:00:00Z","priority":3}`)
	f.Add(`{`)
	f.Fuzz(func(t *testing.T, body string) {
		req, err := DecodeRequest(strings.NewReader(body), []string{"github"}, Limits{MaxBody: 1 << 16})
		if err != nil {
			return
		}
		if req.Upstream != "github" || !strings.HasPrefix(req.Path, "/") || strings.Contains(req.Path, "..") {
			t.Fatalf("accepted %+v", req)
		}
	})
}
