package mockapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// maxResourceChunks bounds the chunks parameter of a resource.
const maxResourceChunks = 10000

// resourceStream are the parameters of a resource request: its body is
// sent in chunks flushed one by one, each after the first held until
// ReleaseGate when gated.
type resourceStream struct {
	chunks int
	gated  bool
}

// serveResource answers an accepted GET or HEAD of a resource: 304 when
// its conditions said so, else 200 with the body, streamed in chunks when
// asked.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, a admission) int {
	v := a.resource
	if a.notModified {
		s.setValidators(w.Header(), v)
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	body := v.body()
	p, err := resourceParams(r.URL.Query(), len(body))
	if err != nil {
		return writeError(w, http.StatusBadRequest, err.Error())
	}
	s.setValidators(w.Header(), v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return http.StatusOK
	}
	return s.streamResource(w, r, body, p)
}

// setValidators sets the headers that a 200 and a 304 of a resource both
// carry: Cache-Control, Vary, ETag and Last-Modified.
func (s *Server) setValidators(h http.Header, v *resourceView) {
	h.Set("Cache-Control", s.cacheControl)
	h.Set("Vary", resourceVary)
	if v.etag != "" {
		h.Set("Etag", v.etag)
	}
	if !v.modified.IsZero() {
		h.Set("Last-Modified", v.modified.Format(http.TimeFormat))
	}
}

// streamResource writes body in p.chunks flushed chunks, holding each
// after the first at the gate when p.gated. It returns statusClientGone
// when the client left before the end.
func (s *Server) streamResource(w http.ResponseWriter, r *http.Request, body []byte, p resourceStream) int {
	var st *gatedStream
	if p.gated {
		st = s.gate.join()
		defer s.gate.leave(st)
	}
	rc := http.NewResponseController(w)
	for k := 1; k <= p.chunks; k++ {
		if st != nil && s.gate.wait(r.Context(), st, k) != nil {
			return statusClientGone
		}
		lo, hi := (k-1)*len(body)/p.chunks, k*len(body)/p.chunks
		if _, err := w.Write(body[lo:hi]); err != nil || r.Context().Err() != nil {
			return statusClientGone
		}
		if p.chunks > 1 && rc.Flush() != nil {
			return statusClientGone
		}
	}
	return http.StatusOK
}

// resourceParams reads a resource's chunks (from 1 to the body's length
// and maxResourceChunks, default 1) and gate (a boolean) parameters.
func resourceParams(q url.Values, size int) (resourceStream, error) {
	p := resourceStream{chunks: 1}
	if v := q.Get("chunks"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > min(size, maxResourceChunks) {
			return p, fmt.Errorf("chunks=%q is not a whole number from 1 to %d", v, min(size, maxResourceChunks))
		}
		p.chunks = n
	}
	if v := q.Get("gate"); v != "" {
		gated, err := strconv.ParseBool(v)
		if err != nil {
			return p, fmt.Errorf("gate=%q is not a boolean", v)
		}
		p.gated = gated
	}
	return p, nil
}
