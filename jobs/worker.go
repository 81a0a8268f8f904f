package jobs

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/heedhq/heed"
)

// worker runs heed_request jobs.
type worker struct {
	river.WorkerDefaults[requestArgs]
	e *Engine
}

// errExpired cancels a job past its deadline; errFailed one whose answer
// is final and not a success. The API tells them from a cancellation by
// these words at the start of the job's last error (see cancelCauses).
var (
	errExpired = errors.New("expired: the job's deadline passed")
	errFailed  = errors.New("failed")
)

// cancelCauses are the starts of a cancelled job's last error that make
// the job expired or failed rather than cancelled. River records the error
// of river.JobCancel after riverCancelPrefix.
var cancelCauses = []struct{ prefix, state string }{
	{errExpired.Error(), StateExpired},
	{errFailed.Error() + ":", StateFailed},
}

// riverCancelPrefix starts the error River records for river.JobCancel.
const riverCancelPrefix = "JobCancelError: "

// causeOf is the state a cancelled job's last error gives it (expired,
// failed), or "" for a plain cancellation.
func causeOf(lastError string) string {
	why := strings.TrimPrefix(lastError, riverCancelPrefix)
	for _, c := range cancelCauses {
		if strings.HasPrefix(why, c.prefix) {
			return c.state
		}
	}
	return ""
}

// Work sends the job's request through the Transport. A refusal for a rate
// limit (heed's, when the wait for the quota is longer than SnoozeAfter, or
// the API's own in any form heed reads) snoozes the job until the wait ends,
// no attempt spent; other 429s, 5xx (a circuit-open answer among them) and
// transport errors are retried by River with backoff; other answers are
// final and kept.
func (w *worker) Work(ctx context.Context, job *river.Job[requestArgs]) error {
	err := w.attempt(ctx, job)
	var snooze *river.JobSnoozeError
	final := err == nil || errors.As(err, new(*river.JobCancelError)) || (!errors.As(err, &snooze) && job.Attempt >= job.MaxAttempts)
	if final && job.Args.Request.CallbackURL != "" {
		if cbErr := w.e.callback(ctx, job.ID, job.Args.Request.CallbackURL); cbErr != nil {
			return cbErr // the job runs again, and calls back then
		}
	}
	return err
}

// attempt sends the job's request once.
func (w *worker) attempt(ctx context.Context, job *river.Job[requestArgs]) error {
	a := job.Args.Request
	if a.Deadline != nil && time.Now().After(*a.Deadline) {
		return river.JobCancel(errExpired)
	}
	opened, err := w.e.unseal(job.Args)
	if err != nil {
		return river.JobCancel(fmt.Errorf("%w: %w", errFailed, err))
	}
	req, err := w.e.build(withClass(heed.WithMaxWait(ctx, w.e.opts.SnoozeAfter), a), opened)
	if err != nil {
		return river.JobCancel(fmt.Errorf("%w: %w", errFailed, err))
	}
	resp, err := w.e.opts.Transport.RoundTrip(req)
	if errors.Is(err, heed.ErrTooLarge) { // it could never be sent: no retry would help
		return river.JobCancel(fmt.Errorf("%w: %w", errFailed, withoutURL(err)))
	}
	if cause := unknownClass(a, err); cause != nil {
		return river.JobCancel(cause)
	}
	if err != nil {
		return fmt.Errorf("send: %w", withoutURL(err))
	}
	defer resp.Body.Close()
	if r, ok := heed.RefusalOf(resp); ok && !errors.Is(r, heed.ErrCircuitOpen) {
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10) // the connection may serve again
		return putAside(a, r)
	}
	out := w.e.response(resp)
	if err := river.RecordOutput(ctx, out); err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("upstream answered %d", resp.StatusCode)
	case resp.StatusCode >= 400:
		return river.JobCancel(fmt.Errorf("%w: upstream answered %d", errFailed, resp.StatusCode))
	}
	return nil
}

// withoutURL returns err, or for an *url.Error, which quotes the URL (its
// query may hold a credential), its Op and Err: errors are stored with the
// job, shown by the API and logged.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// callback queues the delivery of job id's result to url. A job that
// finishes more than once (a crash between its callback and its
// completion) calls back more than once: receivers deduplicate by id.
func (e *Engine) callback(ctx context.Context, id int64, url string) error {
	_, err := e.client.Insert(ctx, callbackArgs{JobID: id, URL: url, Until: time.Now().Add(e.opts.CallbackRetryFor)},
		&river.InsertOpts{Queue: callbackQueue, MaxAttempts: callbackAttempts})
	if err != nil {
		return fmt.Errorf("queue the callback: %w", err)
	}
	return nil
}

// putAside snoozes a job refused for a rate limit for exactly the
// refusal's wait, or expires it when its deadline comes first. A wait of 0
// makes the job available again at once (river.JobSnooze takes 0; its doc
// says it panics below).
func putAside(a Request, r *heed.Refusal) error {
	if a.Deadline != nil && r.Until().After(*a.Deadline) {
		return river.JobCancel(errExpired)
	}
	return river.JobSnooze(max(r.Wait, 0))
}

// build makes the job's HTTP request.
func (e *Engine) build(ctx context.Context, a Request) (*http.Request, error) {
	base, ok := (*e.upstreams.Load())[a.Upstream]
	if !ok {
		return nil, fmt.Errorf("upstream %q is no longer configured", a.Upstream)
	}
	u, err := url.Parse(strings.TrimSuffix(base, "/") + a.Path)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	q := url.Values{}
	for k, vs := range a.Query {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	body, err := a.BodyBytes()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, a.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, withoutURL(err)
	}
	if len(body) == 0 {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	}
	for k, vs := range a.Headers {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if a.IdempotencyKey != "" && !idempotent(a.Method) && req.Header.Get("Idempotency-Key") == "" {
		req.Header.Set("Idempotency-Key", a.IdempotencyKey)
	}
	return req, nil
}

// idempotent reports whether RFC 9110 calls the method idempotent.
func idempotent(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// Response is a job's stored answer.
type Response struct {
	Status     int                 `json:"status"`
	Headers    map[string][]string `json:"headers"`
	Body       *string             `json:"body,omitempty"`
	BodyBase64 *string             `json:"body_base64,omitempty"`
	Truncated  bool                `json:"truncated,omitempty"`
}

// response reads resp into a Response, bounded by MaxResponse.
func (e *Engine) response(resp *http.Response) Response {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, int64(e.opts.MaxResponse)+1))
	out := Response{Status: resp.StatusCode, Headers: resp.Header}
	if len(b) > e.opts.MaxResponse {
		b, out.Truncated = b[:e.opts.MaxResponse], true
	}
	if utf8.Valid(b) {
		s := string(b)
		out.Body = &s
	} else {
		s := base64.StdEncoding.EncodeToString(b)
		out.BodyBase64 = &s
	}
	return out
}
