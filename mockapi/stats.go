package mockapi

import (
	"net/http"
	"time"
)

// Counts are the counters of one credential, or of all of them together.
// Every request counts in Requests and in at most one of Accepted, Limited
// and Errors: a request answered with another 4xx, or whose client left
// before its answer, counts in Requests only.
type Counts struct {
	// Requests counts the requests that arrived.
	Requests int `json:"requests"`
	// Accepted counts the 2xx and 3xx answers.
	Accepted int `json:"accepted"`
	// Limited counts refusals by the limit (the dialect's limited
	// response, which is a 403 for GitHub) and every other 429.
	Limited int `json:"limited"`
	// Errors counts the 5xx answers.
	Errors int `json:"errors"`
	// DuringWait counts the requests that arrived while their credential
	// had been told to wait: after a limited response that stated a wait
	// (Retry-After or the dialect's reset), or a forced 429 or 503 with
	// Retry-After, and before that wait ended. The wait is measured
	// exactly, before the headers round it up, so a client that honours
	// any header the mock sent never counts here.
	DuringWait int `json:"during_wait"`
	// MaxInFlight is the most requests in flight at once.
	MaxInFlight int `json:"max_in_flight"`
	// FirstRequest and LastRequest are the arrival times, in UTC, of the
	// first and the last request; zero when there was none.
	FirstRequest time.Time `json:"first_request,omitzero"`
	LastRequest  time.Time `json:"last_request,omitzero"`
	// Tokens counts what the LLM endpoint charged, refused and used; zero
	// when Config.LLM is off.
	Tokens TokenCounts `json:"tokens,omitzero"`
}

// Stats are a Server's counters since it started or was last Reset.
type Stats struct {
	// Total counts every request.
	Total Counts `json:"total"`
	// Credentials counts each credential's requests, by cred id (see
	// CredID).
	Credentials map[string]Counts `json:"credentials"`
	// Resources holds each resource under /resources/ that was asked for
	// or changed: its version and the answers it got, by name.
	Resources map[string]ResourceStats `json:"resources,omitempty"`
}

// LogEntry is one answered request in the request log.
type LogEntry struct {
	// Time is when the request arrived, in UTC.
	Time time.Time `json:"time"`
	// CredID names the request's credential (see CredID).
	CredID string `json:"cred_id"`
	// Method and Path are the request's method and URL path.
	Method string `json:"method"`
	Path   string `json:"path"`
	// Status is the answer's status code; 499 when the client left before
	// it was answered.
	Status int `json:"status"`
	// DuringWait reports that the request arrived while its credential had
	// been told to wait (see Counts.DuringWait).
	DuringWait bool `json:"during_wait"`
	// IdempotencyKey is the request's Idempotency-Key header, if any.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// LLM describes a request to the LLM endpoint whose body was read.
	LLM *LLMEntry `json:"llm,omitempty"`
}

// statusClientGone is the status logged when the client left before the
// request was answered (nginx's 499).
const statusClientGone = 499

// arrive counts a request arriving at now.
func (c *Counts) arrive(now time.Time, duringWait bool) {
	c.Requests++
	if duringWait {
		c.DuringWait++
	}
	if c.FirstRequest.IsZero() {
		c.FirstRequest = now
	}
	c.LastRequest = now
}

// finish counts a request's answer; refused reports that the limit refused
// it.
func (c *Counts) finish(status int, refused bool) {
	switch {
	case refused || status == http.StatusTooManyRequests:
		c.Limited++
	case status >= 500:
		c.Errors++
	case status >= 200 && status < 400:
		c.Accepted++
	}
}

// requestLog keeps the newest size entries of the request log. It is not
// safe for concurrent use; the Server guards it.
type requestLog struct {
	size    int
	entries []LogEntry
	// next is where the next entry goes once entries is full.
	next int
}

// add appends e, dropping the oldest entry when the log is full.
func (l *requestLog) add(e LogEntry) {
	if len(l.entries) < l.size {
		l.entries = append(l.entries, e)
		return
	}
	l.entries[l.next] = e
	l.next = (l.next + 1) % l.size
}

// list returns a copy of the entries, oldest first.
func (l *requestLog) list() []LogEntry {
	out := make([]LogEntry, 0, len(l.entries))
	out = append(out, l.entries[l.next:]...)
	return append(out, l.entries[:l.next]...)
}

// copyStats returns a deep copy of the counters.
func copyStats(total Counts, creds map[string]*credState, resources map[string]*resourceState) Stats {
	st := Stats{Total: total, Credentials: make(map[string]Counts, len(creds)), Resources: copyResources(resources)}
	for id, c := range creds {
		st.Credentials[id] = c.counts
	}
	return st
}
