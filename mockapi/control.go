package mockapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Force is a forced answer: the next Count requests of a credential get
// Status, whatever the limit says, without touching the limit's state.
type Force struct {
	// Credential is the plain credential as a client sends it: the token
	// of its Authorization header (after "Bearer "), its X-Api-Key or its
	// api_key parameter. "" means every credential. It is not kept: the
	// Server keeps only its cred id.
	Credential string
	// Status is the status to answer, from 200 to 599.
	Status int
	// RetryAfter, when > 0, is sent as Retry-After in whole seconds
	// (rounded up). A 429 or 503 with it tells the credential to wait that
	// long (see Counts.DuringWait).
	RetryAfter time.Duration
	// Count is how many requests get the answer; 0 means 1.
	Count int
}

// pendingForce is a Force with the number of answers left to give.
type pendingForce struct {
	force Force
	left  int
}

// validate checks f and returns it with Count defaulted and Credential
// cleared.
func (f Force) validate() (Force, error) {
	switch {
	case f.Status < 200 || f.Status > 599:
		return f, fmt.Errorf("mockapi: Force.Status %d is not from 200 to 599", f.Status)
	case f.RetryAfter < 0:
		return f, fmt.Errorf("mockapi: Force.RetryAfter %v is negative", f.RetryAfter)
	case f.Count < 0:
		return f, fmt.Errorf("mockapi: Force.Count %d is negative", f.Count)
	}
	f.Count = max(f.Count, 1)
	f.Credential = ""
	return f, nil
}

// tellsWait reports whether the forced answer tells its credential to wait.
func (f Force) tellsWait() bool {
	return f.RetryAfter > 0 && (f.Status == http.StatusTooManyRequests || f.Status == http.StatusServiceUnavailable)
}

// Force makes the next f.Count requests of f.Credential get f.Status. It
// replaces a pending Force for the same credential. A Force for one
// credential goes before a Force for every credential.
func (s *Server) Force(f Force) error {
	key := allCredentials
	if f.Credential != "" {
		key = CredID(f.Credential)
	}
	f, err := f.validate()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forces[key] = &pendingForce{force: f, left: f.Count}
	return nil
}

// takeForce returns the forced answer for the credential id, if any, and
// counts it as given. The caller holds mu.
func (s *Server) takeForce(id string) (Force, bool) {
	for _, key := range [...]string{id, allCredentials} {
		p, ok := s.forces[key]
		if !ok {
			continue
		}
		if p.left--; p.left <= 0 {
			delete(s.forces, key)
		}
		return p.force, true
	}
	return Force{}, false
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyStats(s.total, s.creds, s.resources)
}

// Log returns a copy of the request log, in the order the answers
// finished, oldest first; at most Config.LogSize entries.
func (s *Server) Log() []LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.list()
}

// Reset clears the counters, the log, every limit's state, told-to-wait
// times, pending Forces and the resources (which start again at version
// 1), and restarts the random source from Config.Seed. Requests in flight
// during a Reset are not counted or logged when they finish; gated
// streams stay held until released.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
}

// controlHandler returns the handler of the /_mock/ endpoints.
func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_mock/force", s.handleForce)
	mux.HandleFunc("GET /_mock/stats", s.handleStats)
	mux.HandleFunc("GET /_mock/log", s.handleLog)
	mux.HandleFunc("POST /_mock/reset", s.handleReset)
	mux.HandleFunc("GET /_mock/tokens", s.handleTokens)
	mux.HandleFunc("POST /_mock/resources/{name...}", s.handleResource)
	mux.HandleFunc("POST /_mock/gate", s.handleGate)
	return mux
}

// forceRequest is the JSON body of POST /_mock/force.
type forceRequest struct {
	Credential        string  `json:"credential"`
	Status            int     `json:"status"`
	RetryAfterSeconds float64 `json:"retry_after_seconds"`
	Count             int     `json:"count"`
}

// maxRetryAfterSeconds bounds retry_after_seconds so it fits a Duration.
const maxRetryAfterSeconds = 1e9

// handleForce answers POST /_mock/force.
func (s *Server) handleForce(w http.ResponseWriter, r *http.Request) {
	var req forceRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "the body is not a force request: "+err.Error())
		return
	}
	secs := req.RetryAfterSeconds
	if math.IsNaN(secs) || secs < 0 || secs > maxRetryAfterSeconds {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("retry_after_seconds %v is not from 0 to %v", secs, maxRetryAfterSeconds))
		return
	}
	f := Force{Credential: req.Credential, Status: req.Status, Count: req.Count,
		RetryAfter: time.Duration(secs * float64(time.Second))}
	if err := s.Force(f); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// handleStats answers GET /_mock/stats with Stats as JSON.
func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

// handleLog answers GET /_mock/log with the request log as JSON lines.
func (s *Server) handleLog(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, e := range s.Log() {
		if enc.Encode(e) != nil {
			return
		}
	}
}

// handleTokens answers GET /_mock/tokens?from=T&to=T[&cred_id=ID] with
// the TokenUse of every credential (or of cred_id) as JSON, by cred id.
// from and to are RFC 3339; from defaults to the first request, to to now.
func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.cfg.Now()
	from, err := timeParam(q.Get("from"), s.Stats().Total.FirstRequest)
	if err != nil {
		writeError(w, http.StatusBadRequest, "from: "+err.Error())
		return
	}
	to, err := timeParam(q.Get("to"), now)
	if err != nil {
		writeError(w, http.StatusBadRequest, "to: "+err.Error())
		return
	}
	ids := []string{q.Get("cred_id")}
	if ids[0] == "" {
		ids = ids[:0]
		for id := range s.Stats().Credentials {
			ids = append(ids, id)
		}
	}
	out := make(map[string]TokenUse, len(ids))
	for _, id := range ids {
		out[id] = s.TokenUse(id, from, to)
	}
	writeJSON(w, http.StatusOK, out)
}

// timeParam parses an RFC 3339 time, or returns def for "".
func timeParam(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	return time.Parse(time.RFC3339Nano, v)
}

// handleReset answers POST /_mock/reset.
func (s *Server) handleReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// handleResource answers POST /_mock/resources/{name}[?size=N]: a new
// version of the resource (padded to N bytes with size), as JSON.
func (s *Server) handleResource(w http.ResponseWriter, r *http.Request) {
	res, err := s.changeFromQuery(r.PathValue("name"), r.URL.Query().Get("size"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// changeFromQuery makes a new version of the resource called name, padded
// to size bytes unless size is "".
func (s *Server) changeFromQuery(name, size string) (Resource, error) {
	if size == "" {
		return s.BumpResource(name)
	}
	n, err := strconv.Atoi(size)
	if err != nil {
		return Resource{}, fmt.Errorf("size=%q is not a whole number from 0 to %d", size, MaxResourceSize)
	}
	return s.SetResourceSize(name, n)
}

// maxGateWait bounds how long POST /_mock/gate waits for held streams.
const maxGateWait = 30 * time.Second

// handleGate answers POST /_mock/gate?n=N[&wait=M]: once at least M
// gated streams are held (at most maxGateWait), it releases N chunks (1
// by default) of every gated stream and answers {"released":K}, K being
// how many streams it released.
func (s *Server) handleGate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := countParam(q.Get("n"), 1)
	if err != nil {
		writeError(w, http.StatusBadRequest, "n: "+err.Error())
		return
	}
	m, err := countParam(q.Get("wait"), 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, "wait: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), maxGateWait)
	defer cancel()
	if err := s.AwaitGate(ctx, m); err != nil {
		writeError(w, http.StatusConflict, fmt.Sprintf("fewer than %d gated streams were held within %v", m, maxGateWait))
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"released": s.ReleaseGate(n)})
}

// countParam parses a whole number from 0 to maxResourceChunks, or
// returns def for "".
func countParam(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxResourceChunks {
		return 0, fmt.Errorf("%q is not a whole number from 0 to %d", v, maxResourceChunks)
	}
	return n, nil
}
