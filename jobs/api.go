package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// APIOptions configure the job API.
type APIOptions struct {
	// Limits bound each submitted job.
	Limits Limits
	// CallbackAllow lists the patterns a callback_url must match; none
	// means callbacks are refused.
	CallbackAllow []URLPattern
	// MaxBatch bounds the jobs of one batch; 0 means 1000.
	MaxBatch int
	// MaxBatchBytes bounds the body of one batch; 0 means 16 MiB. A batch
	// is read as a stream, each job validated as it is read, so that the
	// API never holds more than this of it; a longer one is refused with
	// 413 once this much has been read.
	MaxBatchBytes int
}

func (o APIOptions) maxBatch() int      { return orInt(o.MaxBatch, 1000) }
func (o APIOptions) maxBatchBytes() int { return orInt(o.MaxBatchBytes, 16<<20) }

// The error codes of the job API.
const (
	CodeInvalidJob = "invalid_job"
	CodeTooLarge   = "too_large"
	CodeNotFound   = "not_found"
	CodeInternal   = "internal"
)

// apiError is the body of every error of the job API.
type apiError struct {
	Error   string       `json:"error"`
	Message string       `json:"message"`
	Fields  []fieldError `json:"fields,omitempty"`
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Handler returns the job API: POST /v1/jobs, POST /v1/jobs:batch,
// GET /v1/jobs/{id}, DELETE /v1/jobs/{id} and GET /v1/jobs.
func (e *Engine) Handler(opts APIOptions) http.Handler {
	a := &api{e: e, opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs", a.submit)
	mux.HandleFunc("POST /v1/jobs:batch", a.batch)
	mux.HandleFunc("GET /v1/jobs/{id}", a.get)
	mux.HandleFunc("DELETE /v1/jobs/{id}", a.cancel)
	mux.HandleFunc("GET /v1/jobs", a.list)
	return mux
}

type api struct {
	e    *Engine
	opts APIOptions
}

// accepted is what a submission answers per job.
type accepted struct {
	ID        int64  `json:"id"`
	StatusURL string `json:"status_url"`
	State     string `json:"state"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

func (a *api) submit(w http.ResponseWriter, r *http.Request) {
	body, ok := a.read(w, r, a.opts.Limits.maxJobBytes())
	if !ok {
		return
	}
	req, err := a.decode(bytes.NewReader(body))
	if err != nil {
		a.invalid(w, err)
		return
	}
	job, dup, err := a.e.Submit(r.Context(), req)
	if err != nil {
		writeError(w, http.StatusInternalServerError, apiError{Error: CodeInternal, Message: err.Error()})
		return
	}
	status := http.StatusAccepted
	if dup {
		status = http.StatusOK
	}
	writeJSON(w, status, accepted{ID: job.ID, StatusURL: statusURL(r, job.ID), State: job.State, Duplicate: dup})
}

// batch accepts many jobs in one call: all valid and stored in one
// transaction, or none. See decodeBatch.
func (a *api) batch(w http.ResponseWriter, r *http.Request) {
	limit := a.opts.maxBatchBytes()
	if r.ContentLength > int64(limit) {
		a.invalid(w, batchTooLarge(limit))
		return
	}
	reqs, err := a.decodeBatch(http.MaxBytesReader(w, r.Body, int64(limit)), limit)
	if err != nil {
		a.invalid(w, err)
		return
	}
	jobs, dups, err := a.e.SubmitMany(r.Context(), reqs)
	if err != nil {
		writeError(w, http.StatusInternalServerError, apiError{Error: CodeInternal, Message: err.Error()})
		return
	}
	out := make([]accepted, len(jobs))
	for i, j := range jobs {
		out[i] = accepted{ID: j.ID, StatusURL: statusURL(r, j.ID), State: j.State, Duplicate: dups[i]}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"jobs": out})
}

// decode reads one job and checks it as the API takes it: valid, its
// callback allowed, its credentials sealable, and its class, if any, one
// of its upstream's.
func (a *api) decode(r io.Reader) (Request, error) {
	req, err := DecodeRequest(r, a.e.Upstreams(), a.opts.Limits)
	if err == nil {
		err = a.checkCallback(req)
	}
	if err == nil {
		err = a.e.checkSealable(req)
	}
	if err == nil {
		err = a.e.checkClass(req)
	}
	return req, err
}

// read reads a body of at most limit bytes, answering 413 beyond.
func (a *api) read(w http.ResponseWriter, r *http.Request, limit int) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, apiError{Error: CodeTooLarge, Message: fmt.Sprintf("request body over %d bytes", limit)})
			return nil, false
		}
		writeError(w, http.StatusBadRequest, apiError{Error: CodeInvalidJob, Message: "reading the body: " + err.Error()})
		return nil, false
	}
	return b, true
}

// checkCallback refuses a callback URL outside the allow-list.
func (a *api) checkCallback(req Request) error {
	if req.CallbackURL == "" {
		return nil
	}
	for _, p := range a.opts.CallbackAllow {
		if p.Match(req.CallbackURL) {
			return nil
		}
	}
	if len(a.opts.CallbackAllow) == 0 {
		return &FieldError{Field: "callback_url", Msg: "callbacks are off: the config's jobs.callback_allow lists no pattern"}
	}
	return &FieldError{Field: "callback_url", Msg: "does not match any pattern of jobs.callback_allow"}
}

// invalid answers 400 (413 for a body too large) naming every field.
func (a *api) invalid(w http.ResponseWriter, err error) {
	e := apiError{Error: CodeInvalidJob, Message: err.Error()}
	status := http.StatusBadRequest
	if errors.Is(err, ErrTooLarge) {
		status, e.Error = http.StatusRequestEntityTooLarge, CodeTooLarge
	}
	for _, fe := range fieldErrors(err) {
		e.Fields = append(e.Fields, fieldError{Field: fe.Field, Message: fe.Msg})
	}
	writeError(w, status, e)
}

// fieldErrors lists the FieldErrors in err (joined or not).
func fieldErrors(err error) []*FieldError {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range joined.Unwrap() {
			out = append(out, fieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	return nil
}

// prefixed puts prefix before the field of every FieldError in err.
func prefixed(err error, prefix string) error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, prefixed(e, prefix))
		}
		return errors.Join(out...)
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: prefix + fe.Field, Msg: fe.Msg}
	}
	return fmt.Errorf("%s: %w", strings.TrimSuffix(prefix, "."), err)
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	j, err := a.e.Get(r.Context(), id)
	a.answer(w, j, err)
}

func (a *api) cancel(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	j, err := a.e.Cancel(r.Context(), id)
	a.answer(w, j, err)
}

// answer writes a job, or its error.
func (a *api) answer(w http.ResponseWriter, j Job, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, apiError{Error: CodeNotFound, Message: "no such job"})
	case err != nil:
		writeError(w, http.StatusInternalServerError, apiError{Error: CodeInternal, Message: err.Error()})
	default:
		writeJSON(w, http.StatusOK, j)
	}
}

// jobID reads the {id} of the path.
func jobID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, apiError{Error: CodeNotFound, Message: fmt.Sprintf("no such job %q: ids are positive integers", r.PathValue("id"))})
		return 0, false
	}
	return id, true
}

// list answers GET /v1/jobs?state=&cursor=&limit=.
func (a *api) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			a.invalid(w, &FieldError{Field: "limit", Msg: "want 1 to 1000"})
			return
		}
		limit = n
	}
	params := river.NewJobListParams().Kinds(requestArgs{}.Kind()).First(limit)
	if s := q.Get("state"); s != "" {
		states, ok := riverStates[s]
		if !ok {
			a.invalid(w, &FieldError{Field: "state", Msg: "want queued, waiting_quota, running, succeeded, failed, cancelled or expired"})
			return
		}
		params = params.States(states...)
	}
	if c := q.Get("cursor"); c != "" {
		var cur river.JobListCursor
		if err := cur.UnmarshalText([]byte(c)); err != nil {
			a.invalid(w, &FieldError{Field: "cursor", Msg: "not a cursor this API gave"})
			return
		}
		params = params.After(&cur)
	}
	res, err := a.e.client.JobList(r.Context(), params)
	if err != nil {
		writeError(w, http.StatusInternalServerError, apiError{Error: CodeInternal, Message: err.Error()})
		return
	}
	out := struct {
		Jobs       []Job  `json:"jobs"`
		NextCursor string `json:"next_cursor,omitempty"`
	}{Jobs: []Job{}}
	for _, row := range res.Jobs {
		j := jobOf(row)
		if s := q.Get("state"); s == "" || j.State == s {
			out.Jobs = append(out.Jobs, j)
		}
	}
	if res.LastCursor != nil && len(res.Jobs) == limit {
		if b, err := res.LastCursor.MarshalText(); err == nil {
			out.NextCursor = string(b)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// riverStates maps the API's states to River's.
var riverStates = map[string][]rivertype.JobState{
	StateQueued:       {rivertype.JobStateAvailable, rivertype.JobStateRetryable, rivertype.JobStatePending},
	StateWaitingQuota: {rivertype.JobStateScheduled},
	StateRunning:      {rivertype.JobStateRunning},
	StateSucceeded:    {rivertype.JobStateCompleted},
	StateFailed:       {rivertype.JobStateDiscarded, rivertype.JobStateCancelled},
	StateCancelled:    {rivertype.JobStateCancelled},
	StateExpired:      {rivertype.JobStateCancelled},
}

// statusURL is where a job's state is read.
func statusURL(r *http.Request, id int64) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s/v1/jobs/%d", scheme, r.Host, id)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, e apiError) { writeJSON(w, status, e) }
