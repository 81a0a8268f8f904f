package coalesce_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heedhq/heed/coalesce"
)

// These tests send real requests over loopback to an httptest server that
// answers only when the test lets it, so that every caller has joined the
// flight first.

// TestDoSharesOneRequest: 50 concurrent callers of one key reach the
// server once, and every one reads the whole body, header and trailer;
// with contexts that may end (fetch runs in a goroutine of its own) and
// with Background (fetch runs in the first caller's).
func TestDoSharesOneRequest(t *testing.T) {
	t.Parallel()
	t.Run("Cancellable", func(t *testing.T) {
		t.Parallel()
		ctxs, _ := contexts(t, 50)
		testDoShares(t, ctxs)
	})
	t.Run("Background", func(t *testing.T) {
		t.Parallel()
		ctxs := make([]context.Context, 50)
		for i := range ctxs {
			ctxs[i] = context.Background()
		}
		testDoShares(t, ctxs)
	})
}

func testDoShares(t *testing.T, ctxs []context.Context) {
	callers := len(ctxs)
	body := pattern(300 << 10) // several of the pump's reads
	var requests atomic.Int32
	answer := newGate()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		answer.wait()
		w.Header().Set("Trailer", "X-Sum")
		w.Header().Set("X-Kind", "pattern")
		w.Write(body)
		w.Header().Set("X-Sum", "251")
	}))
	defer srv.Close()
	g := coalesce.New(coalesce.Options{})
	results := doAll(g, ctxs, "k", getter(newClient(t), srv.URL))
	awaitCallers(t, g, "k", callers)
	answer.open()

	var unshared int
	for i, c := range results {
		r := receive(t, c)
		if r.err != nil {
			t.Fatalf("caller %d: Do: %v", i, r.err)
		}
		if !r.shared {
			unshared++
		}
		got, err := io.ReadAll(r.resp.Body)
		r.resp.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("caller %d read %d bytes (equal: %v), error %v; want the %d bytes", i, len(got), bytes.Equal(got, body), err, len(body))
		}
		if h := r.resp.Header.Get("X-Kind"); h != "pattern" {
			t.Errorf("caller %d: header X-Kind %q, want %q", i, h, "pattern")
		}
		if tr := r.resp.Trailer.Get("X-Sum"); tr != "251" {
			t.Errorf("caller %d: trailer X-Sum %q, want %q", i, tr, "251")
		}
		r.resp.Header.Set("X-Kind", "mine") // each caller's header is its own
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("the server got %d requests, want 1", n)
	}
	if unshared != 1 {
		t.Errorf("%d callers got shared = false, want 1 (the first)", unshared)
	}
	if n := g.InFlight(); n != 0 {
		t.Errorf("InFlight() = %d after the flight, want 0", n)
	}
}

// TestDoStreamsChunkByChunk: the server sends chunk k+1 only once every
// caller has read chunk k, so a body that waited for the upstream's end
// before reaching the callers would never arrive.
func TestDoStreamsChunkByChunk(t *testing.T) {
	t.Parallel()
	const callers, chunks = 10, 5
	steps := make([]gate, chunks)
	for k := range steps {
		steps[k] = newGate()
	}
	chunk := func(k int) []byte { return bytes.Repeat([]byte{byte('a' + k)}, 1000+k) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k := range chunks {
			steps[k].wait()
			w.Write(chunk(k))
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	g := coalesce.New(coalesce.Options{})
	ctxs, _ := contexts(t, callers)
	results := doAll(g, ctxs, "k", getter(newClient(t), srv.URL))
	awaitCallers(t, g, "k", callers)
	steps[0].open() // the headers go with the first chunk

	bodies := make([]io.ReadCloser, callers)
	for i, c := range results {
		r := receive(t, c)
		if r.err != nil {
			t.Fatalf("caller %d: Do: %v", i, r.err)
		}
		bodies[i] = r.resp.Body
		defer r.resp.Body.Close()
	}
	for k := range chunks {
		if k > 0 {
			steps[k].open()
		}
		want := chunk(k)
		for i, b := range bodies {
			got := make([]byte, len(want))
			if _, err := io.ReadFull(b, got); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("caller %d, chunk %d: read %q, %v; want %q", i, k, got, err, want)
			}
		}
	}
	for i, b := range bodies {
		if n, err := b.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("caller %d after the last chunk: Read = %d, %v; want 0, EOF", i, n, err)
		}
	}
}

// stagedServer answers with two parts, the first when answer opens and the
// second when second opens; it reports on started that it has the request,
// and on ended whether its request's context ended before it was done.
type stagedServer struct {
	*httptest.Server
	answer, second gate
	started        chan struct{}
	ended          chan bool
	part           func(k int) []byte
}

func newStagedServer(t *testing.T) *stagedServer {
	s := &stagedServer{answer: newGate(), second: newGate(), started: make(chan struct{}, 1), ended: make(chan bool, 1)}
	s.part = func(k int) []byte { return bytes.Repeat([]byte{byte('x' + k)}, 100<<10) }
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		select {
		case s.started <- struct{}{}:
		default:
		}
		for k, step := range []gate{s.answer, s.second} {
			select {
			case <-step:
			case <-ctx.Done():
				s.ended <- true
				return
			}
			w.Write(s.part(k))
			w.(http.Flusher).Flush()
		}
		s.ended <- ctx.Err() != nil
	}))
	t.Cleanup(s.Close)
	return s
}

// await returns what the server sends on c, or fails the test after
// patience.
func await[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(patience):
		t.Fatalf("after %v: the server has not %s", patience, what)
		var zero T
		return zero
	}
}

// TestCancelSomeLeavesTheRest: of 50 callers, 30 leave before the response
// (their ctx ends), 10 close their bodies mid-stream and 9 have their ctx
// end mid-stream; the last one reads the whole body, and the server never
// sees its request cancelled.
func TestCancelSomeLeavesTheRest(t *testing.T) {
	t.Parallel()
	const callers = 50
	srv := newStagedServer(t)
	g := coalesce.New(coalesce.Options{})
	ctxs, cancels := contexts(t, callers)
	results := doAll(g, ctxs, "k", getter(newClient(t), srv.URL))
	awaitCallers(t, g, "k", callers)

	gone := errors.New("the caller went away")
	for i := range 30 {
		cancels[i](gone)
		if r := receive(t, results[i]); r.err != gone || r.resp != nil {
			t.Fatalf("caller %d, cancelled before the response: Do = %v, %v; want nil, %v", i, r.resp, r.err, gone)
		}
	}
	if n := coalesce.Callers(g, "k"); n != callers-30 {
		t.Fatalf("%d callers wait after 30 left, want %d", n, callers-30)
	}
	srv.answer.open()
	bodies := make([]io.ReadCloser, callers)
	first := srv.part(0)
	for i := 30; i < callers; i++ {
		r := receive(t, results[i])
		if r.err != nil {
			t.Fatalf("caller %d: Do: %v", i, r.err)
		}
		bodies[i] = r.resp.Body
		got := make([]byte, len(first))
		if _, err := io.ReadFull(bodies[i], got); err != nil || !bytes.Equal(got, first) {
			t.Fatalf("caller %d: first part: %v", i, err)
		}
	}
	for i := 30; i < 40; i++ {
		bodies[i].Close()
		bodies[i].Close() // twice is fine
		if _, err := bodies[i].Read(make([]byte, 1)); err == nil {
			t.Errorf("caller %d: Read after Close returned no error", i)
		}
	}
	for i := 40; i < callers-1; i++ {
		cancels[i](gone)
		eventually(t, "a reader detached by its ctx", func() bool {
			_, err := bodies[i].Read(make([]byte, 1))
			return err == gone
		})
	}
	srv.second.open()
	rest, err := io.ReadAll(bodies[callers-1])
	if want := srv.part(1); err != nil || !bytes.Equal(rest, want) {
		t.Fatalf("the last caller read %d bytes after the first part, %v; want %d, nil", len(rest), err, len(want))
	}
	bodies[callers-1].Close()
	if await(t, srv.ended, "finished its answer") {
		t.Error("the server saw its request cancelled")
	}
}

// TestCancelAllCancelsUpstream: when every caller has gone, before the
// response or mid-stream, the server sees its request's context end, and
// the pump and the connection goroutines exit.
func TestCancelAllCancelsUpstream(t *testing.T) {
	// Not parallel: it counts goroutines.
	const callers = 50
	for _, tc := range []struct {
		name      string
		midStream bool
	}{{"BeforeResponse", false}, {"MidStream", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newStagedServer(t)
			client := newClient(t)
			base := runtime.NumGoroutine()
			g := coalesce.New(coalesce.Options{})
			ctxs, cancels := contexts(t, callers)
			results := doAll(g, ctxs, "k", getter(client, srv.URL))
			awaitCallers(t, g, "k", callers)
			if tc.midStream {
				srv.answer.open()
				for i, c := range results {
					r := receive(t, c)
					if r.err != nil {
						t.Fatalf("caller %d: Do: %v", i, r.err)
					}
					io.ReadFull(r.resp.Body, make([]byte, 1000))
					if i%2 == 0 {
						r.resp.Body.Close()
					} else {
						cancels[i](nil)
					}
				}
			} else {
				// Only a request the server has can be seen cancelled there.
				await(t, srv.started, "got the request")
				for i := range callers {
					cancels[i](nil)
					if r := receive(t, results[i]); !errors.Is(r.err, context.Canceled) {
						t.Fatalf("caller %d: Do error %v, want context.Canceled", i, r.err)
					}
				}
			}
			if !await(t, srv.ended, "finished its answer") {
				t.Error("the server's request was not cancelled")
			}
			eventually(t, "InFlight() = 0", func() bool { return g.InFlight() == 0 })
			goroutinesBack(t, client, base)
		})
	}
}

// TestDoEmptyKeyDoesNotCoalesce: callers of key "" each get their own
// request.
func TestDoEmptyKeyDoesNotCoalesce(t *testing.T) {
	t.Parallel()
	const callers = 5
	var requests atomic.Int32
	answer := newGate()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		answer.wait()
		fmt.Fprintf(w, "answer %d", n)
	}))
	defer srv.Close()
	g := coalesce.New(coalesce.Options{})
	ctxs, _ := contexts(t, callers)
	results := doAll(g, ctxs, "", getter(newClient(t), srv.URL))
	eventually(t, "every caller's request at the server", func() bool { return requests.Load() == callers })
	answer.open()
	for i, c := range results {
		r := receive(t, c)
		if r.err != nil || r.shared {
			t.Fatalf("caller %d: Do: shared %v, error %v; want false, nil", i, r.shared, r.err)
		}
		r.resp.Body.Close()
	}
}
