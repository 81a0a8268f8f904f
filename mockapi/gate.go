package mockapi

import (
	"context"
	"sync"
)

// chunkGate holds gated resource streams between chunks until a test releases
// them. It is safe for concurrent use.
type chunkGate struct {
	// mu guards every field below and the fields of every gatedStream.
	mu      sync.Mutex
	streams map[*gatedStream]struct{}
	// changed is closed, and replaced, whenever a stream joins, leaves,
	// is held or is released, to wake whoever waits on it.
	changed chan struct{}
}

// gatedStream is one gated stream in flight.
type gatedStream struct {
	// allowed is how many chunks the stream may send; held reports that
	// it sent them all and waits for more.
	allowed int
	held    bool
}

func newChunkGate() *chunkGate {
	return &chunkGate{streams: make(map[*gatedStream]struct{}), changed: make(chan struct{})}
}

// join registers a stream that may send its first chunk.
func (g *chunkGate) join() *gatedStream {
	st := &gatedStream{allowed: 1}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.streams[st] = struct{}{}
	g.broadcast()
	return st
}

// leave unregisters st.
func (g *chunkGate) leave(st *gatedStream) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.streams, st)
	g.broadcast()
}

// wait returns once st may send its chunk number k (from 1), or ctx's
// error when ctx is done first.
func (g *chunkGate) wait(ctx context.Context, st *gatedStream, k int) error {
	for {
		g.mu.Lock()
		ok := st.allowed >= k
		if st.held != !ok {
			st.held = !ok
			g.broadcast()
		}
		changed := g.changed
		g.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release lets every stream in flight send n more chunks and returns how
// many streams it released.
func (g *chunkGate) release(n int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	for st := range g.streams {
		st.allowed += n
	}
	g.broadcast()
	return len(g.streams)
}

// await returns once at least m streams are held, or ctx's error when
// ctx is done first.
func (g *chunkGate) await(ctx context.Context, m int) error {
	for {
		g.mu.Lock()
		held := 0
		for st := range g.streams {
			if st.held {
				held++
			}
		}
		changed := g.changed
		g.mu.Unlock()
		if held >= m {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// broadcast wakes every waiter. The caller holds mu.
func (g *chunkGate) broadcast() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// ReleaseGate lets every gated stream now in flight (GET
// /resources/{name}?chunks=N&gate=1) send n more chunks, n > 0, and
// returns how many streams it released: with coalescing clients, how many
// requests really reached the mock. A stream that arrives later starts
// with its first chunk only.
func (s *Server) ReleaseGate(n int) int {
	return s.gate.release(max(n, 0))
}

// AwaitGate returns once at least m gated streams are held at the gate,
// having sent every chunk they were allowed, or ctx's error when ctx is
// done first. A test calls it before ReleaseGate so that the release
// reaches every stream it means to release.
func (s *Server) AwaitGate(ctx context.Context, m int) error {
	return s.gate.await(ctx, m)
}
