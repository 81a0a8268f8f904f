package mockapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxBody is the largest request body the mock reads; a larger one is
// answered 413.
const MaxBody = 10 << 20

// Limits of the /stream endpoint's parameters.
const (
	maxStreamEvents   = 10000
	maxStreamInterval = time.Minute
)

// answer writes the answer decided by a and returns its status. An LLM
// request notes its state in a.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, a *admission) int {
	switch a.kind {
	case kindForced:
		return writeForced(w, a.force)
	case kindRandomError:
		return writeError(w, http.StatusServiceUnavailable, "a random failure (Config.ErrorRate)")
	case kindLimited:
		s.describe(w, *a, a.now)
		return s.dialect.refuse(w, a.decision)
	}
	if a.llm {
		return s.serveLLM(w, r, a)
	}
	now := a.now
	if a.latency > 0 {
		if err := s.cfg.Sleep(r.Context(), a.latency); err != nil {
			return statusClientGone
		}
		now = s.cfg.Now()
	}
	s.describe(w, *a, now)
	return s.route(w, r, *a)
}

// describe sets the dialect's quota headers when the limiter decided on a,
// with resets measured from now.
func (s *Server) describe(w http.ResponseWriter, a admission, now time.Time) {
	if a.limited && s.dialect.describe != nil {
		s.dialect.describe(w.Header(), a.decision, now)
	}
}

// route answers an accepted request by its path: GET and HEAD
// /resources/{name}, GET /stream, /status/{code}, or else the echo.
func (s *Server) route(w http.ResponseWriter, r *http.Request, a admission) int {
	if a.resource != nil {
		return s.serveResource(w, r, a)
	}
	if r.URL.Path == "/stream" && r.Method == http.MethodGet {
		return s.stream(w, r)
	}
	if code, ok := strings.CutPrefix(r.URL.Path, "/status/"); ok {
		return answerStatus(w, code)
	}
	return echo(w, r, a.n)
}

// echoBody is the answer to an accepted request.
type echoBody struct {
	OK     bool   `json:"ok"`
	Method string `json:"method"`
	Path   string `json:"path"`
	// N is the request's number among its credential's requests.
	N              int    `json:"n"`
	IdempotencyKey string `json:"idempotency_key"`
	// BodySHA256 is the hex SHA-256 of the request body.
	BodySHA256 string `json:"body_sha256"`
}

// echo answers 200 with what the request was, n being its number.
func echo(w http.ResponseWriter, r *http.Request, n int) int {
	sum, err := bodySHA256(w, r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return writeError(w, http.StatusRequestEntityTooLarge, "the body is larger than MaxBody")
		}
		return writeError(w, http.StatusBadRequest, "the body could not be read")
	}
	writeJSON(w, http.StatusOK, echoBody{
		OK: true, Method: r.Method, Path: r.URL.Path, N: n,
		IdempotencyKey: r.Header.Get("Idempotency-Key"), BodySHA256: sum,
	})
	return http.StatusOK
}

// bodySHA256 reads the request body, at most MaxBody bytes, and returns
// its hex SHA-256.
func bodySHA256(w http.ResponseWriter, r *http.Request) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, http.MaxBytesReader(w, r.Body, MaxBody)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stream answers GET /stream?events=N&interval=D with a text/event-stream
// of N events (default 10), D apart (default 100ms), flushing each.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) int {
	events, interval, err := streamParams(r.URL.Query())
	if err != nil {
		return writeError(w, http.StatusBadRequest, err.Error())
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for i := 1; i <= events; i++ {
		if i > 1 && s.cfg.Sleep(r.Context(), interval) != nil {
			break
		}
		fmt.Fprintf(w, "id: %d\nevent: tick\ndata: {\"n\":%d,\"of\":%d}\n\n", i, i, events)
		if rc.Flush() != nil {
			break
		}
	}
	return http.StatusOK
}

// streamParams reads /stream's events and interval parameters.
func streamParams(q url.Values) (events int, interval time.Duration, err error) {
	events, interval = 10, 100*time.Millisecond
	if v := q.Get("events"); v != "" {
		events, err = strconv.Atoi(v)
		if err != nil || events < 1 || events > maxStreamEvents {
			return 0, 0, fmt.Errorf("events=%q is not a whole number from 1 to %d", v, maxStreamEvents)
		}
	}
	if v := q.Get("interval"); v != "" {
		interval, err = time.ParseDuration(v)
		if err != nil || interval < 0 || interval > maxStreamInterval {
			return 0, 0, fmt.Errorf("interval=%q is not a duration from 0 to %v", v, maxStreamInterval)
		}
	}
	return events, interval, nil
}

// answerStatus answers /status/{code} with that status, from 200 to 599.
func answerStatus(w http.ResponseWriter, code string) int {
	status, err := strconv.Atoi(code)
	if err != nil || status < 200 || status > 599 {
		return writeError(w, http.StatusBadRequest, fmt.Sprintf("status %q is not a number from 200 to 599", code))
	}
	return writeStatus(w, status, map[string]int{"status": status})
}

// writeForced writes a forced answer.
func writeForced(w http.ResponseWriter, f Force) int {
	if f.RetryAfter > 0 {
		setRetryAfter(w.Header(), f.RetryAfter)
	}
	return writeStatus(w, f.Status, map[string]any{
		"error": map[string]any{"message": "forced by the mock (Force)", "status": f.Status},
	})
}

// writeError answers status with {"error":{"message":msg,"status":status}}.
func writeError(w http.ResponseWriter, status int, msg string) int {
	return writeStatus(w, status, map[string]any{
		"error": map[string]any{"message": msg, "status": status},
	})
}

// writeStatus answers status with v as a JSON body, or with no body when
// the status allows none (204, 304), and returns status.
func writeStatus(w http.ResponseWriter, status int, v any) int {
	if status == http.StatusNoContent || status == http.StatusNotModified {
		w.WriteHeader(status)
		return status
	}
	writeJSON(w, status, v)
	return status
}
