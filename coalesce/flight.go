package coalesce

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// A flight is one fetch and the callers waiting for its response. Before
// fetch returns, callers join and leave (under mu); when it returns, the
// callers still there are counted, done is closed, and each of them takes
// its share: the error, the lone response, or a reader of the stream.
type flight struct {
	g      *Group
	key    string             // "" for a flight that is not in g.flights
	ctx    context.Context    // fetch's
	cancel context.CancelFunc // fetch's context
	done   chan struct{}      // closed once the fields after mu are set

	mu       sync.Mutex // guards callers and answered
	callers  int        // callers waiting for the response
	answered bool       // fetch returned; callers is final

	// Set before done is closed, read-only after.
	resp   *http.Response
	err    error
	stream *stream        // when two or more callers share the body
	base   *http.Response // resp before its body was read, for copies
	taken  atomic.Int32   // readers of stream handed out
	lone   loneBody       // the Body of a lone caller, set as it takes it
}

// join counts one more caller in f. It reports false when f can take no
// more: every caller left (its fetch is cancelled) or it was answered.
func (f *flight) join() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.answered || f.callers == 0 {
		return false
	}
	f.callers++
	return true
}

// run runs fetch and hands its outcome to the callers still waiting. If
// fetch panics (or calls runtime.Goexit), they get errFetchPanicked and
// the key is freed before the panic goes on.
func (f *flight) run(fetch func(context.Context) (*http.Response, error)) {
	returned := false
	defer func() {
		if !returned {
			f.answer(nil, errFetchPanicked)
		}
	}()
	resp, err := fetch(f.ctx)
	returned = true
	f.answer(resp, err)
}

// answer hands fetch's outcome to the callers still waiting.
func (f *flight) answer(resp *http.Response, err error) {
	if err == nil && resp == nil {
		err = errNilResponse
	}
	if err == nil && resp.Body == nil {
		resp.Body = http.NoBody
	}
	f.g.release(f)
	f.g.inFlight.Add(-1)
	f.mu.Lock()
	f.answered = true
	n := f.callers
	f.mu.Unlock()
	f.resp, f.err = resp, err
	switch {
	case err != nil:
		f.cancel()
	case n == 0:
		resp.Body.Close()
		f.cancel()
	case n > 1:
		// net/http fills resp.Trailer in (and may set it) when the
		// pump reads the body's end: copies are made of it as it was.
		base := *resp
		base.Trailer = resp.Trailer.Clone()
		f.base = &base
		f.stream = newStream(resp, n, f.g.maxLag, f.cancel)
		go f.stream.pump()
	}
	close(f.done)
}

// leave takes ctx's caller out of f after ctx ended, and returns ctx's
// cause. The last caller to leave cancels fetch. A caller that was
// already counted when fetch returned takes its share and closes it.
func (f *flight) leave(ctx context.Context) error {
	f.mu.Lock()
	if !f.answered {
		f.callers--
		last := f.callers == 0
		f.mu.Unlock()
		if last {
			f.cancel()
		}
		return context.Cause(ctx)
	}
	f.mu.Unlock()
	<-f.done
	if resp, err := f.take(context.Background()); err == nil {
		resp.Body.Close()
	}
	return context.Cause(ctx)
}

// take returns the share of a caller counted when fetch returned; ctx is
// that caller's, which detaches its body when it ends.
func (f *flight) take(ctx context.Context) (*http.Response, error) {
	if f.err != nil {
		return nil, f.err
	}
	if f.stream == nil {
		f.lone = loneBody{ReadCloser: f.resp.Body, cancel: f.cancel}
		if ctx.Done() != nil {
			f.lone.stop = context.AfterFunc(ctx, f.cancel)
		}
		f.resp.Body = &f.lone
		return f.resp, nil
	}
	r := f.stream.reader(int(f.taken.Add(1) - 1))
	resp := new(http.Response)
	*resp = *f.base
	resp.Header = f.base.Header.Clone()
	resp.Trailer = f.base.Trailer.Clone()
	resp.Body = r
	r.attach(ctx, resp)
	return resp, nil
}

// loneBody is the upstream body of a flight with one caller left: reads go
// straight to it, and Close (or the end of the caller's context) cancels
// fetch's context too.
type loneBody struct {
	io.ReadCloser
	cancel context.CancelFunc
	stop   func() bool // stops the context.AfterFunc; nil without one
}

// Close closes the upstream body and cancels fetch's context. Like
// net/http's bodies it may be called more than once, and while a Read
// blocks, as far as the upstream body allows it.
func (b *loneBody) Close() error {
	err := b.ReadCloser.Close()
	if b.stop != nil {
		b.stop()
	}
	b.cancel()
	return err
}
