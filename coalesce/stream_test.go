package coalesce_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/heedhq/heed/coalesce"
)

// These tests give Do a fetch of their own, whose body is a reader the
// test controls.

// gatedFetch returns a fetch that waits for answer, then answers 200 with
// the body newBody returns, and counts its calls.
func gatedFetch(answer gate, calls *atomic.Int32, newBody func() io.ReadCloser) func(context.Context) (*http.Response, error) {
	return func(ctx context.Context) (*http.Response, error) {
		calls.Add(1)
		select {
		case <-answer:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: newBody()}, nil
	}
}

// startShared has n callers of key "k" share one flight of fetch, and
// returns their responses.
func startShared(t *testing.T, g *coalesce.Group, n int, answer gate, fetch func(context.Context) (*http.Response, error)) []*http.Response {
	t.Helper()
	ctxs, _ := contexts(t, n)
	results := doAll(g, ctxs, "k", fetch)
	awaitCallers(t, g, "k", n)
	answer.open()
	resps := make([]*http.Response, n)
	for i, c := range results {
		r := receive(t, c)
		if r.err != nil {
			t.Fatalf("caller %d: Do: %v", i, r.err)
		}
		resps[i] = r.resp
		t.Cleanup(func() { r.resp.Body.Close() })
	}
	return resps
}

// TestSlowReaderIsDetached: a reader that reads nothing while three others
// read 1 MiB is detached with ErrLagging, and the others finish.
func TestSlowReaderIsDetached(t *testing.T) {
	t.Parallel()
	body := pattern(1 << 20)
	g := coalesce.New(coalesce.Options{MaxLag: 64 << 10})
	answer, calls := newGate(), new(atomic.Int32)
	resps := startShared(t, g, 4, answer, gatedFetch(answer, calls, func() io.ReadCloser {
		return io.NopCloser(bytes.NewReader(body))
	}))
	// The fast readers keep within 16 KiB of each other, so that only
	// the slow one lags more than MaxLag.
	p := newPacer(3, 16<<10)
	var fast []<-chan readResult
	for i, r := range resps[1:] {
		c := make(chan readResult, 1)
		fast = append(fast, c)
		go func() {
			defer p.done(i)
			var got []byte
			buf := make([]byte, 8<<10)
			for {
				n, err := r.Body.Read(buf)
				got = append(got, buf[:n]...)
				p.reached(i, int64(len(got)))
				if err != nil {
					if err == io.EOF {
						err = nil
					}
					c <- readResult{got, err}
					return
				}
			}
		}()
	}
	for i, c := range fast {
		if r := <-c; r.err != nil || !bytes.Equal(r.data, body) {
			t.Fatalf("fast reader %d: read %d bytes, %v; want all %d", i, len(r.data), r.err, len(body))
		}
	}
	_, err := io.ReadAll(resps[0].Body)
	if !errors.Is(err, coalesce.ErrLagging) {
		t.Fatalf("the slow reader's error: %v, want ErrLagging", err)
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error { return nil }

// TestLoneSlowReaderGetsBackPressure: a reader left alone on a shared
// body (the other closed its body) reads it all in small reads, however
// small MaxLag is, and the pump reads from the upstream at most one buffer
// ahead of it.
func TestLoneSlowReaderGetsBackPressure(t *testing.T) {
	t.Parallel()
	body := pattern(512 << 10)
	src := &countingReader{r: bytes.NewReader(body)}
	g := coalesce.New(coalesce.Options{MaxLag: 1 << 10})
	answer, calls := newGate(), new(atomic.Int32)
	resps := startShared(t, g, 2, answer, gatedFetch(answer, calls, func() io.ReadCloser { return src }))
	resps[0].Body.Close()
	var got []byte
	buf := make([]byte, 700)
	for {
		n, err := resps[1].Body.Read(buf)
		got = append(got, buf[:n]...)
		if ahead := src.n.Load() - int64(len(got)); ahead > 32<<10 {
			t.Fatalf("the pump read %d bytes ahead of the lone reader, want at most one buffer (32 KiB)", ahead)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("read %d bytes, want the %d bytes of the body", len(got), len(body))
	}
}

// TestLoneCallerGetsFetchResponse: a caller alone when fetch returns gets
// fetch's response itself; closing its body cancels fetch's context.
func TestLoneCallerGetsFetchResponse(t *testing.T) {
	t.Parallel()
	g := coalesce.New(coalesce.Options{})
	var fetched *http.Response
	var fetchCtx context.Context
	resp, shared, err := g.Do(t.Context(), "k", func(ctx context.Context) (*http.Response, error) {
		fetchCtx = ctx
		fetched = &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader([]byte("hi")))}
		return fetched, nil
	})
	if err != nil || shared || resp != fetched {
		t.Fatalf("Do = %p, %v, %v; want fetch's response %p, false, nil", resp, shared, err, fetched)
	}
	if b, err := io.ReadAll(resp.Body); string(b) != "hi" || err != nil {
		t.Fatalf("body %q, %v; want %q", b, err, "hi")
	}
	if fetchCtx.Err() != nil {
		t.Fatal("fetch's context ended before the body was closed")
	}
	resp.Body.Close()
	resp.Body.Close()
	if fetchCtx.Err() == nil {
		t.Fatal("closing the body did not cancel fetch's context")
	}
}

// TestFetchErrorReachesAll: fetch's error, or a nil response, is every
// caller's error.
func TestFetchErrorReachesAll(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		err  error
	}{{"Error", boom}, {"NilResponse", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const callers = 10
			g := coalesce.New(coalesce.Options{})
			answer := newGate()
			ctxs, _ := contexts(t, callers)
			results := doAll(g, ctxs, "k", func(ctx context.Context) (*http.Response, error) {
				answer.wait()
				return nil, tc.err
			})
			awaitCallers(t, g, "k", callers)
			answer.open()
			for i, c := range results {
				r := receive(t, c)
				if r.resp != nil || r.err == nil || (tc.err != nil && !errors.Is(r.err, tc.err)) {
					t.Errorf("caller %d: Do = %v, %v; want nil and an error (%v)", i, r.resp, r.err, tc.err)
				}
			}
		})
	}
}

// TestBodyErrorReachesAll: an error reading the upstream body mid-stream
// reaches every reader after the bytes before it.
func TestBodyErrorReachesAll(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	data := pattern(100 << 10)
	g := coalesce.New(coalesce.Options{})
	answer, calls := newGate(), new(atomic.Int32)
	resps := startShared(t, g, 5, answer, gatedFetch(answer, calls, func() io.ReadCloser {
		return io.NopCloser(io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom)))
	}))
	for i, r := range resps {
		got, err := io.ReadAll(r.Body)
		if !errors.Is(err, boom) || !bytes.Equal(got, data) {
			t.Errorf("reader %d: %d bytes, %v; want %d bytes, %v", i, len(got), err, len(data), boom)
		}
	}
}

// TestCloseUnblocksRead: Close from another goroutine unblocks a Read
// waiting for the upstream; the other reader and the upstream go on.
func TestCloseUnblocksRead(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	defer pw.Close()
	g := coalesce.New(coalesce.Options{})
	answer, calls := newGate(), new(atomic.Int32)
	var fetchCtx atomic.Value
	fetch := gatedFetch(answer, calls, func() io.ReadCloser { return pr })
	resps := startShared(t, g, 2, answer, func(ctx context.Context) (*http.Response, error) {
		fetchCtx.Store(ctx)
		return fetch(ctx)
	})
	blocked := make(chan error, 1)
	go func() {
		_, err := resps[0].Body.Read(make([]byte, 10))
		blocked <- err
	}()
	time.Sleep(10 * time.Millisecond) // give the Read time to block; it fails either way
	go resps[0].Body.Close()
	resps[0].Body.Close()
	select {
	case err := <-blocked:
		if err == nil {
			t.Fatal("the Read unblocked by Close returned no error")
		}
	case <-time.After(patience):
		t.Fatal("Close did not unblock the Read")
	}
	go pw.Write([]byte("still here"))
	got := make([]byte, len("still here"))
	if _, err := io.ReadFull(resps[1].Body, got); err != nil || string(got) != "still here" {
		t.Fatalf("the other reader: %q, %v", got, err)
	}
	if err := fetchCtx.Load().(context.Context).Err(); err != nil {
		t.Fatalf("one reader's Close ended fetch's context: %v", err)
	}
}

// TestFetchContext: fetch's context carries the first caller's values
// but not its deadline or cancellation.
func TestFetchContext(t *testing.T) {
	t.Parallel()
	type key struct{}
	ctx, cancel := context.WithTimeout(context.WithValue(t.Context(), key{}, "first"), time.Hour)
	defer cancel()
	g := coalesce.New(coalesce.Options{})
	resp, _, err := g.Do(ctx, "k", func(fctx context.Context) (*http.Response, error) {
		if v := fctx.Value(key{}); v != "first" {
			t.Errorf("fetch's context value %v, want %q", v, "first")
		}
		if _, ok := fctx.Deadline(); ok {
			t.Error("fetch's context has the caller's deadline")
		}
		return &http.Response{Body: http.NoBody}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestKeyFreeAfterFetch: once fetch has returned, the next caller of the
// key starts a new flight, while the previous body is still being read.
func TestKeyFreeAfterFetch(t *testing.T) {
	t.Parallel()
	g := coalesce.New(coalesce.Options{})
	var calls atomic.Int32
	fetch := func(ctx context.Context) (*http.Response, error) {
		calls.Add(1)
		return &http.Response{Body: io.NopCloser(bytes.NewReader([]byte("x")))}, nil
	}
	for i := range 2 {
		resp, shared, err := g.Do(t.Context(), "k", fetch)
		if err != nil || shared {
			t.Fatalf("call %d: shared %v, error %v; want false, nil", i, shared, err)
		}
		defer resp.Body.Close()
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("fetch ran %d times, want 2", n)
	}
}

// TestFetchPanic: when fetch panics in the first caller's goroutine (its
// ctx never ends), the panic reaches that caller, the callers that joined
// get an error, and the key is free again.
func TestFetchPanic(t *testing.T) {
	t.Parallel()
	g := coalesce.New(coalesce.Options{})
	answer := newGate()
	fetch := func(context.Context) (*http.Response, error) {
		answer.wait()
		panic("fetch broke")
	}
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		g.Do(context.Background(), "k", fetch)
	}()
	awaitCallers(t, g, "k", 1)
	joiner := doAll(g, []context.Context{t.Context()}, "k", fetch)[0]
	awaitCallers(t, g, "k", 2)
	answer.open()
	if p := <-panicked; p != "fetch broke" {
		t.Errorf("the first caller recovered %v, want the panic of fetch", p)
	}
	if r := receive(t, joiner); r.err == nil || !r.shared {
		t.Errorf("the joiner: shared %v, error %v; want true and an error", r.shared, r.err)
	}
	resp, shared, err := g.Do(t.Context(), "k", func(context.Context) (*http.Response, error) {
		return &http.Response{Body: http.NoBody}, nil
	})
	if err != nil || shared {
		t.Fatalf("after the panic: Do: shared %v, %v; want a new flight", shared, err)
	}
	resp.Body.Close()
}

// TestLoneBodyFollowsCallerContext: the lone caller's ctx ending after the
// response cancels fetch's context, which stops the upstream body.
func TestLoneBodyFollowsCallerContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	g := coalesce.New(coalesce.Options{})
	var fetchCtx context.Context
	resp, _, err := g.Do(ctx, "k", func(fctx context.Context) (*http.Response, error) {
		fetchCtx = fctx
		return &http.Response{Body: http.NoBody}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	cancel()
	select {
	case <-fetchCtx.Done():
	case <-time.After(patience):
		t.Fatal("the caller's ctx ended and fetch's context did not")
	}
}

// closeRecorder is a body that records its Close.
type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

// TestAbandonedFlight: once every caller has left, a new caller of the key
// starts a new flight rather than join the cancelled one, and the response
// the abandoned fetch returns anyway is closed.
func TestAbandonedFlight(t *testing.T) {
	t.Parallel()
	g := coalesce.New(coalesce.Options{})
	answer := newGate()
	abandoned := &closeRecorder{Reader: bytes.NewReader([]byte("late"))}
	ignoring := func(context.Context) (*http.Response, error) { // ignores its ctx
		answer.wait()
		return &http.Response{Body: abandoned}, nil
	}
	ctxs, cancels := contexts(t, 1)
	first := doAll(g, ctxs, "k", ignoring)[0]
	awaitCallers(t, g, "k", 1)
	cancels[0](nil)
	if r := receive(t, first); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("the caller that left: %v, want context.Canceled", r.err)
	}
	resp, shared, err := g.Do(t.Context(), "k", func(context.Context) (*http.Response, error) {
		return &http.Response{Body: io.NopCloser(bytes.NewReader([]byte("fresh")))}, nil
	})
	if err != nil || shared {
		t.Fatalf("the next caller: shared %v, %v; want a flight of its own", shared, err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "fresh" {
		t.Fatalf("the next caller read %q, want %q", b, "fresh")
	}
	resp.Body.Close()
	answer.open()
	eventually(t, "the abandoned response closed", abandoned.closed.Load)
	eventually(t, "InFlight() = 0", func() bool { return g.InFlight() == 0 })
}
