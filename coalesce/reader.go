package coalesce

import (
	"context"
	"io"
	"net/http"
	"slices"
)

// A reader is one caller's Body of a shared response: its place in its
// stream's log. Its fields after s are guarded by s.mu, except resp and
// stop, which are set before the caller gets the body.
type reader struct {
	s    *stream
	resp *http.Response // its caller's, whose Trailer it fills at EOF
	stop func() bool    // stops the context.AfterFunc of its caller's ctx

	next int   // index of the chunk it reads
	pos  int   // bytes of that chunk it has read
	off  int64 // bytes it has read
	gone bool  // closed, detached or at the end: no longer active
	err  error // what Read returns once gone
}

// attach ties r to its caller: resp is the caller's response, and the end
// of ctx detaches r.
func (r *reader) attach(ctx context.Context, resp *http.Response) {
	r.resp = resp
	if ctx.Done() != nil {
		r.stop = context.AfterFunc(ctx, func() { r.leave(context.Cause(ctx)) })
	}
}

// Read reads the next bytes of the shared body, waiting for the pump when
// r has read every chunk. After the upstream body's end (or error), Read
// returns io.EOF (or that error) once r has read the bytes before it.
func (r *reader) Read(p []byte) (int, error) {
	s := r.s
	s.mu.Lock()
	for !r.gone {
		if i := r.next - s.first; i < len(s.chunks) {
			n := copy(p, s.chunks[i].data[r.pos:])
			r.advance(n)
			s.mu.Unlock()
			return n, nil
		}
		if s.err != nil {
			r.finish()
			break
		}
		if len(p) == 0 {
			s.mu.Unlock()
			return 0, nil
		}
		s.data.Wait()
	}
	err := r.err
	s.mu.Unlock()
	if err == io.EOF && r.stop != nil {
		r.stop()
	}
	return 0, err
}

// Close detaches r from the stream: its Read returns an error from then
// on. As with net/http's bodies, Close may be called more than once, and
// while a Read blocks in another goroutine, which it unblocks. The last
// reader to go cancels fetch's context, and the pump closes the upstream
// body.
func (r *reader) Close() error {
	r.leave(errClosed)
	if r.stop != nil {
		r.stop()
	}
	return nil
}

// leave detaches r with err, and cancels fetch if r was the last reader.
func (r *reader) leave(err error) {
	r.s.mu.Lock()
	last := r.detach(err)
	r.s.mu.Unlock()
	if last {
		r.s.cancel()
	}
}

// advance moves r n bytes on in its chunk, and to the next chunk at the
// end of this one.
func (r *reader) advance(n int) {
	s := r.s
	r.pos += n
	r.off += int64(n)
	if r.pos < len(s.chunks[r.next-s.first].data) {
		return
	}
	s.passed(r.next)
	r.next, r.pos = r.next+1, 0
	if r.next == s.first+len(s.chunks) {
		s.atEnd++
		s.demand.Signal()
	}
}

// finish ends r, which has read every chunk of a stream that has ended:
// its error is the stream's, and at io.EOF its caller's Trailer gets the
// upstream's trailer values.
func (r *reader) finish() {
	s := r.s
	r.gone, r.err = true, s.err
	s.active--
	s.atEnd--
	trailer := s.upstream.Trailer
	if s.err != io.EOF || len(trailer) == 0 {
		return
	}
	if r.resp.Trailer == nil {
		r.resp.Trailer = make(http.Header, len(trailer))
	}
	for k, v := range trailer {
		r.resp.Trailer[k] = slices.Clone(v)
	}
}

// detach ends r with err unless it has ended already, and reports whether
// it was the last active reader.
func (r *reader) detach(err error) bool {
	s := r.s
	if r.gone {
		return false
	}
	r.gone, r.err = true, err
	s.active--
	last := s.first + len(s.chunks)
	if r.next == last {
		s.atEnd--
	}
	for i := r.next; i < last; i++ {
		s.chunks[i-s.first].pending--
	}
	s.dropPassed()
	s.data.Broadcast()
	if s.active == 0 {
		s.demand.Signal()
		return true
	}
	return false
}
