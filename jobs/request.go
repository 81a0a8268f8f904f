package jobs

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/internal/httptoken"
)

// Request is what a client submits: one HTTP request for a configured
// upstream, and what to do with its answer.
type Request struct {
	// Upstream names a configured upstream; the request can go nowhere
	// else (heed is not an open relay).
	Upstream string `json:"upstream"`
	// Method is the HTTP method; "" means GET.
	Method string `json:"method,omitempty"`
	// Path is appended to the upstream's base URL; it starts with "/".
	Path string `json:"path"`
	// Query holds query parameters, each a string or a list of strings.
	Query map[string]StringList `json:"query,omitempty"`
	// Headers holds request headers, each a string or a list of strings.
	Headers map[string]StringList `json:"headers,omitempty"`
	// Body is the request body as text; BodyBase64 as base64 for binary
	// bodies. At most one of them.
	Body       *string `json:"body,omitempty"`
	BodyBase64 *string `json:"body_base64,omitempty"`
	// CallbackURL, when set, receives the job's result (POST, signed); it
	// must match the configured callback_allow patterns.
	CallbackURL string `json:"callback_url,omitempty"`
	// IdempotencyKey makes a second submission with the same key return
	// the first job; it is also sent upstream as Idempotency-Key when the
	// method is not idempotent.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Priority is 1 (first) to 4 (last); 0 means 2. It orders the queue,
	// and for an upstream with fair shares (heed.FairnessPolicy) it is
	// also the job's priority class, unless Class names one: 1 the first
	// of the upstream's priorities, 2 the second, and so on, the last
	// standing for the rest (see heed.WithPriority).
	Priority int `json:"priority,omitempty"`
	// Class, when set, names the job's priority class among its
	// upstream's fair shares instead of Priority: [a-z0-9][a-z0-9_.-]*,
	// at most 32 bytes (heed.ValidPriority).
	Class string `json:"class,omitempty"`
	// Deadline, when set, is when the job expires if it has not succeeded.
	Deadline *time.Time `json:"deadline,omitempty"`
}

// StringList is a JSON string or array of strings.
type StringList []string

// UnmarshalJSON accepts "v" or ["v", ...].
func (s *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &json.UnmarshalTypeError{Value: "a value that is not a string or strings", Type: reflect.TypeFor[StringList]()}
	}
	*s = many
	return nil
}

// Limits bounds what a Request may carry.
type Limits struct {
	// MaxBody is the largest request body, decoded; 0 means 1 MiB.
	MaxBody int
	// MaxKeyLen bounds idempotency keys; 0 means 255.
	MaxKeyLen int
}

func (l Limits) maxBody() int   { return orInt(l.MaxBody, 1<<20) }
func (l Limits) maxKeyLen() int { return orInt(l.MaxKeyLen, 255) }

// maxJobBytes bounds a job's JSON: its body as base64 (4/3 of it), and
// 128 KiB for the rest (headers and query within their bounds, escapes).
func (l Limits) maxJobBytes() int { return l.maxBody()/3*4 + 4 + 128<<10 }

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// ErrTooLarge is wrapped by the error of a Request over Limits.MaxBody.
var ErrTooLarge = errors.New("jobs: request body too large")

// FieldError is a problem with one field of a Request; Field is its JSON
// path ("headers.Accept", "jobs[3].path").
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// DecodeRequest reads one Request from r: strict JSON (an unknown field is
// an error naming it), then Validate.
func DecodeRequest(r io.Reader, upstreams []string, lim Limits) (Request, error) {
	var req Request
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, jsonError(err)
	}
	if dec.More() {
		return Request{}, &FieldError{Field: "(body)", Msg: "one JSON object expected; found more after it"}
	}
	return req, req.Validate(upstreams, lim)
}

// jsonError turns a decoding error into a FieldError naming the field, or
// "(body)" when the error is about the body as a whole. Batches prefix the
// field with the job's index (see prefixed).
func jsonError(err error) error {
	const body = "(body)"
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		want := te.Type.String()
		if te.Type == reflect.TypeFor[StringList]() {
			want = "a string or an array of strings"
		}
		return &FieldError{Field: te.Field, Msg: fmt.Sprintf("want %s, got %s", want, te.Value)}
	case errors.As(err, &se):
		return &FieldError{Field: body, Msg: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &FieldError{Field: name, Msg: "unknown field"}
	case errors.Is(err, io.EOF):
		return &FieldError{Field: body, Msg: "empty; want a JSON object"}
	}
	return &FieldError{Field: body, Msg: err.Error()}
}

// The bounds of a Request's method, path, headers and query, beyond
// Limits. A header or query parameter with several values counts once per
// value, as it is sent; the byte totals add up names and values.
const (
	maxMethodLen   = 16
	maxPathLen     = 8 << 10
	maxNameLen     = 256
	maxValueLen    = 8 << 10
	maxHeaders     = 64
	maxHeaderBytes = 32 << 10
	maxQuery       = 256
	maxQueryBytes  = 32 << 10
	// maxDecodes is how many times a path is percent-decoded to look for
	// dot segments (a proxy, then the API, may each decode once).
	maxDecodes = 8
)

// problems collects a Request's FieldErrors.
type problems []error

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks a Request against the configured upstreams and limits:
// a configured upstream; a method that is an RFC 9110 token of at most 16
// bytes, not CONNECT or TRACE; a plain path below the upstream's base URL,
// at most 8 KiB, without a "." or ".." segment in any encoding; at most 64
// header values and 256 query values, each name at most 256 bytes and each
// value 8 KiB, 32 KiB in all for each; a body within Limits.MaxBody; a
// priority of 1 to 4; a class, if any, that can name a priority class
// (whether the upstream has it is checked on submission when the Engine
// knows its classes, see Options.Classes, else when the job runs).
func (r *Request) Validate(upstreams []string, lim Limits) error {
	var errs problems
	known := false
	for _, u := range upstreams {
		known = known || u == r.Upstream
	}
	switch {
	case r.Upstream == "":
		errs.add("upstream", "required: one of %s", strings.Join(upstreams, ", "))
	case !known:
		errs.add("upstream", "%q is not a configured upstream (configured: %s)", r.Upstream, strings.Join(upstreams, ", "))
	}
	r.checkMethod(&errs)
	if msg := checkPath(r.Path); msg != "" {
		errs.add("path", "%s", msg)
	}
	checkHeaders(&errs, r.Headers)
	checkQuery(&errs, r.Query)
	if _, err := r.BodyBytes(); err != nil {
		errs.add("body_base64", "%v", err)
	}
	if r.Body != nil && r.BodyBase64 != nil {
		errs.add("body", "give body or body_base64, not both")
	}
	if b, _ := r.BodyBytes(); len(b) > lim.maxBody() {
		errs = append(errs, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(b), lim.maxBody()))
	}
	if len(r.IdempotencyKey) > lim.maxKeyLen() {
		errs.add("idempotency_key", "longer than %d bytes", lim.maxKeyLen())
	}
	if r.Priority < 0 || r.Priority > 4 {
		errs.add("priority", "%d: want 1 (first) to 4 (last)", r.Priority)
	}
	if r.Priority == 0 {
		r.Priority = 2
	}
	if r.Class != "" && !heed.ValidPriority(r.Class) {
		errs.add("class", "%q: want a priority class, [a-z0-9][a-z0-9_.-]* of at most %d bytes", shortName(r.Class), heed.MaxPriorityLen)
	}
	return errors.Join(errs...)
}

// checkMethod checks the method, "" meaning GET, and puts it in upper
// case.
func (r *Request) checkMethod(errs *problems) {
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	switch {
	case len(r.Method) > maxMethodLen:
		errs.add("method", "%d bytes; an HTTP method has at most %d", len(r.Method), maxMethodLen)
		return
	case !httptoken.Valid(r.Method):
		errs.add("method", "%q is not an HTTP method (an RFC 9110 token)", r.Method)
		return
	}
	r.Method = strings.ToUpper(r.Method)
	if r.Method == http.MethodConnect || r.Method == http.MethodTrace {
		errs.add("method", "%s is refused: a job is a request to the upstream's API (CONNECT opens a tunnel, TRACE echoes the request back)", r.Method)
	}
}

// checkPath returns what is wrong with a job's path, or "".
func checkPath(p string) string {
	switch u, err := url.Parse(p); {
	case p == "" || p[0] != '/':
		return "must start with /"
	case len(p) > maxPathLen:
		return fmt.Sprintf("%d bytes; at most %d", len(p), maxPathLen)
	case err != nil || u.Host != "" || u.Scheme != "" || u.RawQuery != "" || u.Fragment != "" || strings.Contains(p, ".."):
		return "must be a plain path below the upstream's base URL (no scheme, host, query, fragment or ..); put parameters in query"
	}
	for range maxDecodes {
		if dotSegment(p) {
			return "has a . or .. segment (percent-encoded, perhaps more than once, or with backslashes): it would leave the upstream's base URL"
		}
		if strings.ContainsFunc(p, isControl) {
			return "has a control character (percent-encoded, perhaps more than once)"
		}
		d, err := url.PathUnescape(p)
		if err != nil || d == p {
			return ""
		}
		p = d
	}
	return fmt.Sprintf("percent-encoded more than %d times over", maxDecodes)
}

// dotSegment reports whether p has a segment, between slashes or
// backslashes, that is dots alone ("." and "..", and "..." which some
// servers read as ".."), a path parameter after ";" aside ("..;x").
func dotSegment(p string) bool {
	for seg := range strings.FieldsFuncSeq(p, func(c rune) bool { return c == '/' || c == '\\' }) {
		seg, _, _ = strings.Cut(seg, ";")
		if seg != "" && strings.Trim(seg, ".") == "" {
			return true
		}
	}
	return false
}

// isControl reports whether c is an ASCII control character but a tab.
func isControl(c rune) bool { return (c < 0x20 && c != '\t') || c == 0x7f }

// checkHeaders checks header names, values and their bounds.
func checkHeaders(errs *problems, h map[string]StringList) {
	n, size := 0, 0
	for name, vs := range h {
		n += len(vs)
		for _, v := range vs {
			size += len(name) + len(v)
		}
	}
	switch {
	case n > maxHeaders:
		errs.add("headers", "%d header values; at most %d", n, maxHeaders)
		return
	case size > maxHeaderBytes:
		errs.add("headers", "%d bytes of names and values; at most %d", size, maxHeaderBytes)
		return
	}
	for name, vs := range h {
		field := "headers." + shortName(name)
		switch {
		case len(name) > maxNameLen:
			errs.add(field, "a name of %d bytes; at most %d", len(name), maxNameLen)
		case !httptoken.Valid(name):
			errs.add(field, "not a valid header name")
		}
		for _, v := range vs {
			switch {
			case len(v) > maxValueLen:
				errs.add(field, "a value of %d bytes; at most %d", len(v), maxValueLen)
			case strings.ContainsFunc(v, isControl):
				errs.add(field, "a value contains a control character (a line break, NUL...)")
			}
		}
	}
}

// checkQuery checks query parameters' bounds.
func checkQuery(errs *problems, q map[string]StringList) {
	n, size := 0, 0
	for name, vs := range q {
		n += len(vs)
		for _, v := range vs {
			size += len(name) + len(v)
		}
	}
	switch {
	case n > maxQuery:
		errs.add("query", "%d query values; at most %d", n, maxQuery)
		return
	case size > maxQueryBytes:
		errs.add("query", "%d bytes of names and values; at most %d", size, maxQueryBytes)
		return
	}
	for name, vs := range q {
		field := "query." + shortName(name)
		if len(name) > maxNameLen {
			errs.add(field, "a name of %d bytes; at most %d", len(name), maxNameLen)
		}
		for _, v := range vs {
			if len(v) > maxValueLen {
				errs.add(field, "a value of %d bytes; at most %d", len(v), maxValueLen)
			}
		}
	}
}

// shortName is a name as a field path shows it: a long one cut at 64
// bytes.
func shortName(name string) string {
	if len(name) > 64 {
		return name[:64] + "..."
	}
	return name
}

// BodyBytes returns the request body, decoded.
func (r *Request) BodyBytes() ([]byte, error) {
	switch {
	case r.BodyBase64 != nil:
		return base64.StdEncoding.DecodeString(*r.BodyBase64)
	case r.Body != nil:
		return []byte(*r.Body), nil
	}
	return nil, nil
}
