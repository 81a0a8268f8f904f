package mockapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// llmAPI is one vendor's LLM endpoint: how it reads a request, what it
// charges and how it answers. Its methods only compute and format; the
// Server holds the state.
type llmAPI interface {
	// path is the endpoint's path; it answers POST only.
	path() string
	parse(body []byte, l LLM) (llmRequest, error)
	// arrivalCost is what a request is charged when it arrives, given its
	// input usage; finalCost what it is charged in the end.
	arrivalCost(req llmRequest, in Usage) cost
	finalCost(u Usage) cost
	describe(h http.Header, views [numBuckets]bucketView, now time.Time)
	refuse(w http.ResponseWriter, call *llmCall, v verdict) int
	invalid(w http.ResponseWriter, msg string) int
	reply(w http.ResponseWriter, call *llmCall) int
	stream(sw *sseWriter, call *llmCall) error
}

// newLLMAPI returns the endpoint of vendor, nil for "".
func newLLMAPI(vendor string) llmAPI {
	switch vendor {
	case VendorOpenAI:
		return openAI{}
	case VendorAnthropic:
		return anthropic{}
	}
	return nil
}

// llmCall is one LLM request while it is answered. Only the request's own
// goroutine touches it, but for the copy finish logs.
type llmCall struct {
	req llmRequest
	// output is how many tokens each choice produces.
	output int64
	id     string
	// created is when the request was charged.
	created time.Time
	// usage is the true usage: the input side from arrival, the output
	// growing as it is sent.
	usage Usage
	// arrival is what the request costs at arrival; charged reports that
	// it was charged (not refused); settled that it was then corrected to
	// final.
	arrival, final   cost
	charged, settled bool
	// firstChunk is when the first event of a stream was flushed.
	firstChunk time.Time
}

// isLLM reports whether r goes to the LLM endpoint.
func (s *Server) isLLM(r *http.Request) bool {
	return s.llm != nil && r.Method == http.MethodPost && r.URL.Path == s.llm.path()
}

// serveLLM answers a request to the LLM endpoint that admit accepted:
// read, charge at arrival (or refuse), wait Latency, answer, settle.
func (s *Server) serveLLM(w http.ResponseWriter, r *http.Request, a *admission) int {
	call, status, ok := s.readLLM(w, r, a)
	if !ok {
		return status
	}
	a.call = call
	v := s.chargeLLM(a, call)
	s.llm.describe(w.Header(), v.views, call.created)
	if !v.allowed {
		return s.llm.refuse(w, call, v)
	}
	defer s.settleLLM(a, call)
	if a.latency > 0 && s.cfg.Sleep(r.Context(), a.latency) != nil {
		return statusClientGone
	}
	if !call.req.stream {
		return s.llm.reply(w, call)
	}
	return s.streamLLM(w, r, call)
}

// readLLM reads and parses the request body, answering 400 or 413 in the
// vendor's shape when it cannot.
func (s *Server) readLLM(w http.ResponseWriter, r *http.Request, a *admission) (*llmCall, int, bool) {
	w.Header().Set(requestIDHeader(s.cfg.LLM.Vendor), fmt.Sprintf("req_heedmock_%s_%d", a.credID, a.n))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "the body is larger than MaxBody")
			return nil, http.StatusRequestEntityTooLarge, false
		}
		return nil, writeError(w, http.StatusBadRequest, "the body could not be read"), false
	}
	req, err := s.llm.parse(body, s.cfg.LLM)
	if err != nil {
		return nil, s.llm.invalid(w, err.Error()), false
	}
	output, err := s.cfg.LLM.outputTokens(req, r.Header.Get(outputTokensHeader))
	if err != nil {
		return nil, s.llm.invalid(w, err.Error()), false
	}
	return &llmCall{req: req, output: output, id: callID(s.cfg.LLM.Vendor, a)}, 0, true
}

// requestIDHeader is the vendor's request id header.
func requestIDHeader(vendor string) string {
	if vendor == VendorAnthropic {
		return "Request-Id"
	}
	return "X-Request-Id"
}

// callID returns a response id in the vendor's style, unique per
// credential and request number.
func callID(vendor string, a *admission) string {
	if vendor == VendorAnthropic {
		return fmt.Sprintf("msg_heedmock_%s_%d", a.credID, a.n)
	}
	return fmt.Sprintf("chatcmpl-heedmock-%s-%d", a.credID, a.n)
}

// streamLLM answers call as a text/event-stream.
func (s *Server) streamLLM(w http.ResponseWriter, r *http.Request, call *llmCall) int {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{w: w, rc: http.NewResponseController(w), ctx: r.Context(), call: call,
		now: s.cfg.Now, sleep: s.cfg.Sleep, delay: s.cfg.LLM.ChunkDelay, size: int64(s.cfg.LLM.ChunkTokens)}
	if err := s.llm.stream(sw, call); err != nil {
		return statusClientGone
	}
	return http.StatusOK
}

// sseWriter writes server-sent events, flushing each, and notes when the
// first was sent.
type sseWriter struct {
	w     io.Writer
	rc    *http.ResponseController
	ctx   context.Context
	call  *llmCall
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// delay is the wait between content chunks; size their tokens.
	delay time.Duration
	size  int64
}

// event writes one event, named name ("" for a data-only event, as OpenAI
// sends) with data as JSON.
func (sw *sseWriter) event(name string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if name != "" {
		return sw.raw("event: " + name + "\ndata: " + string(b) + "\n\n")
	}
	return sw.raw("data: " + string(b) + "\n\n")
}

// raw writes text and flushes it.
func (sw *sseWriter) raw(text string) error {
	if _, err := io.WriteString(sw.w, text); err != nil {
		return err
	}
	if err := sw.rc.Flush(); err != nil {
		return err
	}
	if sw.call.firstChunk.IsZero() {
		sw.call.firstChunk = sw.now().UTC()
	}
	return nil
}

// chunks calls send for each chunk of n output tokens, [from, to), with
// the delay before every chunk but the first.
func (sw *sseWriter) chunks(n int64, send func(from, to int64) error) error {
	for from := int64(0); from < n; from += sw.size {
		if from > 0 && sw.delay > 0 {
			if err := sw.sleep(sw.ctx, sw.delay); err != nil {
				return err
			}
		}
		if err := send(from, min(from+sw.size, n)); err != nil {
			return err
		}
	}
	return nil
}
