package coalesce

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// readSize is the size of the pump's read buffer.
const readSize = 32 << 10

// A stream shares one upstream body among the readers of a flight. The
// pump appends what it reads to a log of chunks; each reader has its own
// place in the log; a chunk is dropped once every reader still reading has
// passed it.
type stream struct {
	src      io.ReadCloser
	upstream *http.Response     // its Trailer is complete once err is set
	maxLag   int64              // bytes
	cancel   context.CancelFunc // fetch's context

	mu      sync.Mutex // guards the fields below, and every reader's
	data    sync.Cond  // readers wait here for a chunk, the end, or a detach
	demand  sync.Cond  // the pump waits here for a reader that wants more
	readers []reader
	chunks  []chunk // the log; chunks[0] has index first
	first   int     // index of chunks[0] since the start
	end     int64   // bytes appended since the start
	active  int     // readers neither closed, detached nor at the end
	atEnd   int     // active readers that have read every chunk
	err     error   // the upstream's read error (io.EOF at its end)
}

// A chunk is one read of the upstream body.
type chunk struct {
	data    []byte
	pending int // active readers that have not passed it
}

func newStream(resp *http.Response, n int, maxLag int64, cancel context.CancelFunc) *stream {
	s := &stream{src: resp.Body, upstream: resp, maxLag: maxLag, cancel: cancel}
	s.data.L, s.demand.L = &s.mu, &s.mu
	s.readers = make([]reader, n)
	for i := range s.readers {
		s.readers[i].s = s
	}
	s.active, s.atEnd = n, n
	return s
}

// reader returns the i-th reader of s.
func (s *stream) reader(i int) *reader { return &s.readers[i] }

// pump reads the upstream body while some reader wants more, until it
// ends or every reader has gone; then it closes the body and cancels
// fetch's context.
func (s *stream) pump() {
	buf := make([]byte, readSize)
	for {
		if !s.awaitDemand() {
			break
		}
		n, err := s.src.Read(buf)
		if s.publish(buf[:n], err) {
			break
		}
		if n >= len(buf)/2 {
			buf = make([]byte, readSize) // the log keeps the old one
		}
	}
	s.src.Close()
	s.cancel()
}

// awaitDemand waits until an active reader has read every chunk, detaches
// the readers that lag more than maxLag behind it, and reports whether
// any reader is left.
func (s *stream) awaitDemand() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.atEnd == 0 && s.active > 0 {
		s.demand.Wait()
	}
	for i := range s.readers {
		if r := &s.readers[i]; !r.gone && s.end-r.off > s.maxLag {
			r.detach(fmt.Errorf("%w: %d bytes behind the fastest, more than MaxLag %d", ErrLagging, s.end-r.off, s.maxLag))
		}
	}
	return s.active > 0
}

// publish appends p (the pump's buffer, kept as is when it is at least
// half full, else copied) and records err, and reports whether the pump
// is done: the upstream ended or every reader has gone.
func (s *stream) publish(p []byte, err error) bool {
	if len(p) > 0 && len(p) < readSize/2 {
		p = bytes.Clone(p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(p) > 0 && s.active > 0 {
		s.chunks = append(s.chunks, chunk{data: p[:len(p):len(p)], pending: s.active})
		s.end += int64(len(p))
		s.atEnd = 0
	}
	if err != nil {
		s.err = err
	}
	s.data.Broadcast()
	return err != nil || s.active == 0
}

// passed records that one reader has passed the chunk of index i, and
// drops the chunks every active reader has passed.
func (s *stream) passed(i int) {
	s.chunks[i-s.first].pending--
	s.dropPassed()
}

// dropPassed drops the chunks at the start of the log that every active
// reader has passed. A chunk's pending count never exceeds the next one's,
// so these are all the chunks nobody needs.
func (s *stream) dropPassed() {
	for len(s.chunks) > 0 && s.chunks[0].pending == 0 {
		s.chunks[0] = chunk{}
		s.chunks = s.chunks[1:]
		s.first++
	}
}
