package jobs

import (
	"errors"
	"slices"
	"strconv"
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
		{"class", `{"upstream":"openai","path":"/v1/chat","class":"batch","priority":1}`, ""},
		{"class upper case", `{"upstream":"openai","path":"/x","class":"Batch"}`, "class"},
		{"class markup", `{"upstream":"openai","path":"/x","class":"<b>x</b>"}`, "class"},
		{"class too long", `{"upstream":"openai","path":"/x","class":"` + strings.Repeat("a", 33) + `"}`, "class"},
		{"class type", `{"upstream":"openai","path":"/x","class":3}`, "class"},
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

// fieldsOf returns the fields err's FieldErrors name, sorted.
func fieldsOf(err error) []string {
	var out []string
	for _, fe := range fieldErrors(err) {
		out = append(out, fe.Field)
	}
	slices.Sort(out)
	return out
}

// TestValidatePath: a path with a "." or ".." segment in any encoding is
// refused, naming the field; plain paths, encoded slashes and dots inside
// names pass.
func TestValidatePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path string
		ok         bool
	}{
		{"Plain", "/repos/o/r/issues", true},
		{"EncodedSlash", "/projects/group%2Fproject", true},
		{"EncodedSpace", "/files/a%20b.txt", true},
		{"DotInName", "/files/report.v2.txt", true},
		{"DotFile", "/files/.well-known", true},
		{"Percent", "/discount/100%25", true},
		{"DotDot", "/a/../admin", false},
		{"Dot", "/a/./b", false},
		{"TrailingDotDot", "/a/..", false},
		{"EncodedDotDot", "/%2e%2e/admin", false},
		{"EncodedUpper", "/%2E%2E/admin", false},
		{"HalfEncoded", "/%2E./admin", false},
		{"HalfEncodedOther", "/.%2e/admin", false},
		{"EncodedDot", "/a/%2e/b", false},
		{"DoubleEncoded", "/%252e%252e/admin", false},
		{"TripleEncoded", "/%25252e%25252e/admin", false},
		{"Backslash", "/a\\..\\admin", false},
		{"EncodedBackslash", "/a%5c%2e%2e%5cadmin", false},
		{"DoubleEncodedBackslash", "/a%255c%252e%252e%255cadmin", false},
		{"EncodedSlashDotDot", "/a%2f%2e%2e%2fadmin", false},
		{"PathParameter", "/a/%2e%2e;x=1/admin", false},
		{"ThreeDots", "/a/%2e%2e%2e/b", false},
		{"EncodedNUL", "/a%00b", false},
		{"DoubleEncodedNewline", "/a%250ab", false},
		{"TooDeep", "/%" + strings.Repeat("25", 9) + "41", false},
		{"DeepButDone", "/%" + strings.Repeat("25", 6) + "41", true},
		{"TooLong", "/" + strings.Repeat("a", 8<<10), false},
		{"Relative", "admin", false},
		{"Query", "/x?a=1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Request{Upstream: "github", Path: tt.path}
			fields := fieldsOf(r.Validate([]string{"github"}, Limits{}))
			if tt.ok && len(fields) != 0 {
				t.Errorf("%q: got problems with %q, want none", tt.path, fields)
			}
			if !tt.ok && !slices.Equal(fields, []string{"path"}) {
				t.Errorf("%q: got problems with %q, want path", tt.path, fields)
			}
		})
	}
}

func TestValidateMethod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, want string // want: the method after Validate, or "" for refused
	}{
		{"", "GET"},
		{"post", "POST"},
		{"PATCH", "PATCH"},
		{"PROPFIND", "PROPFIND"},
		{"X-" + strings.Repeat("A", 14), "X-" + strings.Repeat("A", 14)},
		{"X-" + strings.Repeat("A", 15), ""},
		{strings.Repeat("G", 100<<10), ""},
		{"CONNECT", ""},
		{"connect", ""},
		{"TRACE", ""},
		{"Trace", ""},
		{"GE T", ""},
		{"GET\r\n", ""},
		{"(GET)", ""},
	}
	for _, tt := range tests {
		r := Request{Upstream: "github", Path: "/x", Method: tt.method}
		err := r.Validate([]string{"github"}, Limits{})
		switch fields := fieldsOf(err); {
		case tt.want != "" && (err != nil || r.Method != tt.want):
			t.Errorf("method %.20q: got %q, %v, want %q", tt.method, r.Method, err, tt.want)
		case tt.want == "" && !slices.Equal(fields, []string{"method"}):
			t.Errorf("method %.20q: got problems with %q, want method", tt.method, fields)
		case tt.want == "" && len(err.Error()) > 300:
			t.Errorf("method %.20q: an error of %d bytes; it must not quote a long method", tt.method, len(err.Error()))
		}
	}
}

// TestValidateHeadersAndQuery: headers and query parameters are bounded
// in count, in each name and value, and in total.
func TestValidateHeadersAndQuery(t *testing.T) {
	t.Parallel()
	many := func(n int, value string) map[string]StringList {
		m := make(map[string]StringList, n)
		for i := range n {
			m["X-H"+strconv.Itoa(i)] = StringList{value}
		}
		return m
	}
	long := func(n int) string { return strings.Repeat("v", n) }
	tests := []struct {
		name           string
		headers, query map[string]StringList
		fields         []string
	}{
		{"Some", many(10, "v"), many(10, "v"), nil},
		{"HeadersAtTheBound", many(64, "v"), nil, nil},
		{"TooManyHeaders", many(65, "v"), nil, []string{"headers"}},
		{"TooManyValues", map[string]StringList{"Accept": make(StringList, 65)}, nil, []string{"headers"}},
		{"LongValue", map[string]StringList{"X-A": {long(8 << 10)}}, nil, nil},
		{"ValueTooLong", map[string]StringList{"X-A": {long(8<<10 + 1)}}, nil, []string{"headers.X-A"}},
		{"HeadersTooLarge", many(5, long(7<<10)), nil, []string{"headers"}},
		{"NameTooLong", map[string]StringList{"X-" + long(300): {"v"}}, nil, []string{"headers.X-" + long(62) + "..."}},
		{"BadName", map[string]StringList{"Bad Name": {"v"}}, nil, []string{"headers.Bad Name"}},
		{"ControlCharacter", map[string]StringList{"X-A": {"a\x01b"}}, nil, []string{"headers.X-A"}},
		{"Tab", map[string]StringList{"X-A": {"a\tb"}}, nil, nil},
		{"QueryAtTheBound", nil, map[string]StringList{"ids": make(StringList, 256)}, nil},
		{"TooManyQueryValues", nil, map[string]StringList{"ids": make(StringList, 257)}, []string{"query"}},
		{"QueryValueTooLong", nil, map[string]StringList{"q": {long(8<<10 + 1)}}, []string{"query.q"}},
		{"QueryNameTooLong", nil, map[string]StringList{long(257): {"v"}}, []string{"query." + long(64) + "..."}},
		{"QueryTooLarge", nil, many(5, long(7<<10)), []string{"query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Request{Upstream: "github", Path: "/x", Headers: tt.headers, Query: tt.query}
			if got := fieldsOf(r.Validate([]string{"github"}, Limits{})); !slices.Equal(got, tt.fields) {
				t.Errorf("got problems with %q, want %q", got, tt.fields)
			}
		})
	}
}
