package coalesce_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/heedhq/heed/coalesce"
)

// patience bounds every wait of these tests for something to happen.
const patience = 20 * time.Second

// eventually polls cond until it holds, or fails the test after patience.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: still not %s", patience, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// awaitCallers waits until n callers wait for the flight of key.
func awaitCallers(t *testing.T, g *coalesce.Group, key string, n int) {
	t.Helper()
	eventually(t, "all callers joined", func() bool { return coalesce.Callers(g, key) == n })
}

// result is what one caller of Do got.
type result struct {
	resp   *http.Response
	shared bool
	err    error
}

// doAll calls g.Do(ctxs[i], key, fetch) for every ctx at once, and returns
// a channel of each call's result by index once it returns.
func doAll(g *coalesce.Group, ctxs []context.Context, key string, fetch func(context.Context) (*http.Response, error)) []chan result {
	out := make([]chan result, len(ctxs))
	for i, ctx := range ctxs {
		out[i] = make(chan result, 1)
		go func() {
			resp, shared, err := g.Do(ctx, key, fetch)
			out[i] <- result{resp, shared, err}
		}()
	}
	return out
}

// receive returns the result on c, or fails the test after patience.
func receive(t *testing.T, c chan result) result {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(patience):
		t.Fatalf("Do has not returned after %v", patience)
		return result{}
	}
}

// contexts returns n contexts under t's, each with its cancel function.
func contexts(t *testing.T, n int) ([]context.Context, []context.CancelCauseFunc) {
	ctxs := make([]context.Context, n)
	cancels := make([]context.CancelCauseFunc, n)
	for i := range n {
		ctxs[i], cancels[i] = context.WithCancelCause(t.Context())
	}
	return ctxs, cancels
}

// getter returns a fetch that GETs url with client.
func getter(client *http.Client, url string) func(context.Context) (*http.Response, error) {
	return func(ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		return client.Do(req)
	}
}

// newClient returns a client of its own transport, whose idle connections
// are closed at the test's end.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// pattern returns n bytes that differ from offset to offset.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}

// gate is a channel a test closes to let a blocked server or fetch go on.
type gate chan struct{}

func newGate() gate  { return make(gate) }
func (g gate) open() { close(g) }
func (g gate) wait() { <-g }
func (g gate) isOpen() bool {
	select {
	case <-g:
		return true
	default:
		return false
	}
}

// goroutinesBack waits until no more goroutines run than base, closing the
// client's idle connections (and their goroutines) meanwhile.
func goroutinesBack(t *testing.T, client *http.Client, base int) {
	t.Helper()
	eventually(t, "back to the goroutines before the flight", func() bool {
		client.CloseIdleConnections()
		return runtime.NumGoroutine() <= base
	})
}

// readAllAsync reads body to its end in a new goroutine.
func readAllAsync(body io.Reader) <-chan readResult {
	c := make(chan readResult, 1)
	go func() {
		b, err := io.ReadAll(body)
		c <- readResult{b, err}
	}()
	return c
}

type readResult struct {
	data []byte
	err  error
}

// pacer keeps readers within step bytes of each other.
type pacer struct {
	step int64
	mu   sync.Mutex
	cond sync.Cond
	at   []int64
}

func newPacer(n int, step int64) *pacer {
	p := &pacer{step: step, at: make([]int64, n)}
	p.cond.L = &p.mu
	return p
}

// reached records that reader i has read off bytes, and waits until every
// reader has read off-step.
func (p *pacer) reached(i int, off int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at[i] = off
	p.cond.Broadcast()
	for p.min() < off-p.step {
		p.cond.Wait()
	}
}

// done takes reader i out of the pacing.
func (p *pacer) done(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at[i] = 1 << 62
	p.cond.Broadcast()
}

func (p *pacer) min() int64 {
	m := p.at[0]
	for _, a := range p.at[1:] {
		m = min(m, a)
	}
	return m
}
