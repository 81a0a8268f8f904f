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
	// Priority is 1 (first) to 4 (last); 0 means 2.
	Priority int `json:"priority,omitempty"`
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

// Validate checks a Request against the configured upstreams and limits.
func (r *Request) Validate(upstreams []string, lim Limits) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	known := false
	for _, u := range upstreams {
		known = known || u == r.Upstream
	}
	switch {
	case r.Upstream == "":
		bad("upstream", "required: one of %s", strings.Join(upstreams, ", "))
	case !known:
		bad("upstream", "%q is not a configured upstream (configured: %s)", r.Upstream, strings.Join(upstreams, ", "))
	}
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	if !httptoken.Valid(r.Method) {
		bad("method", "%q is not an HTTP method", r.Method)
	}
	r.Method = strings.ToUpper(r.Method)
	switch u, err := url.Parse(r.Path); {
	case r.Path == "" || r.Path[0] != '/':
		bad("path", "must start with /")
	case err != nil || u.Host != "" || u.Scheme != "" || u.RawQuery != "" || u.Fragment != "" || strings.Contains(r.Path, ".."):
		bad("path", "must be a plain path below the upstream's base URL (no scheme, host, query, fragment or ..); put parameters in query")
	}
	for name, v := range r.Headers {
		if !httptoken.Valid(name) {
			bad("headers."+name, "not a valid header name")
		}
		for _, s := range v {
			if strings.ContainsAny(s, "\r\n\x00") {
				bad("headers."+name, "a value contains a line break or NUL")
			}
		}
	}
	if _, err := r.BodyBytes(); err != nil {
		bad("body_base64", "%v", err)
	}
	if r.Body != nil && r.BodyBase64 != nil {
		bad("body", "give body or body_base64, not both")
	}
	if b, _ := r.BodyBytes(); len(b) > lim.maxBody() {
		errs = append(errs, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(b), lim.maxBody()))
	}
	if len(r.IdempotencyKey) > lim.maxKeyLen() {
		bad("idempotency_key", "longer than %d bytes", lim.maxKeyLen())
	}
	if r.Priority < 0 || r.Priority > 4 {
		bad("priority", "%d: want 1 (first) to 4 (last)", r.Priority)
	}
	if r.Priority == 0 {
		r.Priority = 2
	}
	return errors.Join(errs...)
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
