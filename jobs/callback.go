package jobs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river"
)

// SignatureHeader carries a callback's signature:
//
//	Heed-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>
//
// A receiver recomputes the HMAC over the timestamp, a dot and the raw
// body with the shared callback secret, compares it in constant time, and
// rejects timestamps too far from its clock (replays). JobIDHeader carries
// the job's id, for deduplication: a callback may arrive more than once.
const (
	SignatureHeader = "Heed-Signature"
	JobIDHeader     = "Heed-Job-Id"
)

// Sign returns the Heed-Signature value for body at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// callbackArgs is a callback job: POST job JobID's result to URL until
// Until.
type callbackArgs struct {
	JobID int64     `json:"job_id"`
	URL   string    `json:"url"`
	Until time.Time `json:"until"`
}

// Kind implements river.JobArgs.
func (callbackArgs) Kind() string { return "heed_callback" }

// callbackWorker delivers callbacks.
type callbackWorker struct {
	river.WorkerDefaults[callbackArgs]
	e *Engine
}

// callbackTimeout bounds one delivery.
const callbackTimeout = 10 * time.Second

// Work posts the job's result, signed; anything but a 2xx is retried (see
// NextRetry) until Until.
func (w *callbackWorker) Work(ctx context.Context, job *river.Job[callbackArgs]) error {
	a := job.Args
	if time.Now().After(a.Until) {
		return river.JobCancel(fmt.Errorf("callback for job %d not delivered before %v", a.JobID, a.Until))
	}
	j, err := w.e.Get(ctx, a.JobID)
	if err != nil {
		return err
	}
	if j.FinishedAt == nil { // queued as the job finished: its result lands a moment later
		return river.JobSnooze(200 * time.Millisecond)
	}
	body, err := json.Marshal(j)
	if err != nil {
		return river.JobCancel(err)
	}
	ctx, cancel := context.WithTimeout(ctx, callbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, bytes.NewReader(body))
	if err != nil {
		return river.JobCancel(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(JobIDHeader, strconv.FormatInt(a.JobID, 10))
	req.Header.Set(SignatureHeader, Sign(w.e.opts.CallbackSecret, time.Now(), body))
	resp, err := w.e.callbackClient.Do(req)
	if err != nil {
		return fmt.Errorf("callback %d: %w", a.JobID, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("callback %d: the receiver answered %d", a.JobID, resp.StatusCode)
	}
	return nil
}

// NextRetry spaces deliveries: 1s, 2s, 4s, ... up to 10 minutes apart.
func (w *callbackWorker) NextRetry(job *river.Job[callbackArgs]) time.Time {
	d := time.Second << min(job.Attempt, 10)
	return time.Now().Add(min(d, 10*time.Minute))
}

// Timeout bounds one Work call.
func (w *callbackWorker) Timeout(*river.Job[callbackArgs]) time.Duration { return 2 * callbackTimeout }

// callbackAttempts is enough attempts to reach any CallbackRetryFor; Until
// ends a callback first.
const callbackAttempts = 10_000
