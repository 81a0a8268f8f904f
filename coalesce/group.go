package coalesce

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
)

// defaultMaxLag is Options.MaxLag's zero value: 1 MiB.
const defaultMaxLag = 1 << 20

// Options of a Group.
type Options struct {
	// MaxLag bounds, in bytes, how far a waiter's reading may fall behind
	// the fastest waiter's; a waiter further behind is detached: its
	// body's Read returns an error wrapping ErrLagging. 0 means 1 MiB;
	// a negative value is treated as 0. The pump reads up to 32 KiB at a
	// time, so a MaxLag below that detaches readers that are merely a
	// chunk apart.
	MaxLag int
}

// ErrLagging is wrapped by the Read error of a body whose reader fell more
// than Options.MaxLag bytes behind the fastest reader of the same flight.
// The bytes it had not read are gone for it; the caller may fetch again.
var ErrLagging = errors.New("coalesce: reader fell behind")

// errNilResponse is the error of Do when fetch returns neither a response
// nor an error.
var errNilResponse = errors.New("coalesce: fetch returned a nil response and a nil error")

// errFetchPanicked is the error of Do for the callers that joined a flight
// whose fetch panicked; the panic goes on in fetch's goroutine.
var errFetchPanicked = errors.New("coalesce: fetch panicked")

// errClosed is the Read error of a body after its Close.
var errClosed = errors.New("coalesce: read on closed response body")

// Group coalesces identical in-flight requests: callers of Do with the same
// key, while a fetch of that key is in progress, share its response. A
// Group is safe for concurrent use; it holds no goroutine when idle. The
// zero Group is not usable: make one with New.
type Group struct {
	maxLag   int64
	inFlight atomic.Int64 // fetches not yet returned

	mu      sync.Mutex         // guards flights
	flights map[string]*flight // by key, while fetch runs; "" is never here
}

// New returns a Group with options o.
func New(o Options) *Group {
	lag := int64(o.MaxLag)
	if lag <= 0 {
		lag = defaultMaxLag
	}
	return &Group{maxLag: lag, flights: make(map[string]*flight)}
}

// InFlight returns how many fetches this Group has started that have not
// returned yet (a flight whose callers all left counts until its fetch
// returns). Bodies still streaming after fetch returned are not counted.
func (g *Group) InFlight() int { return int(g.inFlight.Load()) }

// Do returns the response for key.
//
// The first caller of a key starts a flight: fetch runs in a new goroutine
// with a context that carries the first caller's values
// (context.WithoutCancel of its ctx) and is cancelled only when every
// caller of the flight has gone: its ctx ended, it closed its body, or its
// body hit an error or was detached. One caller leaving never cancels it.
// Callers of the same key that arrive before fetch has returned join the
// flight (shared is true for them, false for the first caller). A key ""
// never coalesces: fetch runs for that caller alone, under the same rules.
// Once fetch has returned, the key is free and later callers start a new
// flight.
//
// Each caller gets its own *http.Response: a shallow copy of fetch's, with
// its own clone of Header and Trailer (trailer values are filled in when
// its body reaches EOF), and a Body that streams the upstream body's bytes
// as they arrive (see the package doc for the bounds on memory and on how
// far behind a reader may fall). When exactly one caller remains when
// fetch returns, it gets fetch's response itself, whose Body is wrapped
// only so that closing it cancels fetch's context. Request is fetch's
// request for every caller; a caller that needs its own sets it.
//
// fetch's error, or an error saying it returned a nil response, is every
// caller's error. An error reading the upstream body reaches every caller
// still reading, as its Read error, after the bytes read before it.
//
// If ctx ends before the response arrives, Do returns context.Cause(ctx)
// for that caller, which leaves the flight; the others go on. If ctx ends
// after, that caller's body is detached as if closed and its Read returns
// context.Cause(ctx), as net/http's bodies stop with their request's
// context.
func (g *Group) Do(ctx context.Context, key string, fetch func(ctx context.Context) (*http.Response, error)) (resp *http.Response, shared bool, err error) {
	f, shared := g.join(ctx, key)
	done := ctx.Done()
	switch {
	case shared:
	case done == nil:
		// This caller can never leave before the response: fetch may
		// as well run in its goroutine, and spare one.
		f.run(fetch)
	default:
		go f.run(fetch)
	}
	if done != nil {
		select {
		case <-f.done:
		case <-done:
			return nil, shared, f.leave(ctx)
		}
	} else {
		<-f.done
	}
	resp, err = f.take(ctx)
	return resp, shared, err
}

// join returns the flight of key that ctx's caller is now counted in, and
// whether it was already running; it makes a new one, which the caller
// runs, when there is none.
func (g *Group) join(ctx context.Context, key string) (*flight, bool) {
	if key == "" {
		return g.newFlight(ctx, ""), false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.flights[key]; f != nil && f.join() {
		return f, true
	}
	f := g.newFlight(ctx, key)
	g.flights[key] = f
	return f, false
}

// newFlight returns a flight of key with one caller, ctx's; fetch's
// context carries ctx's values.
func (g *Group) newFlight(ctx context.Context, key string) *flight {
	f := &flight{g: g, key: key, done: make(chan struct{}), callers: 1}
	parent := ctx
	if ctx.Done() != nil {
		parent = context.WithoutCancel(ctx) // a ctx that never ends has no deadline either
	}
	f.ctx, f.cancel = context.WithCancel(parent)
	g.inFlight.Add(1)
	return f
}

// release frees f's key for a new flight, unless a new one already has it.
func (g *Group) release(f *flight) {
	if f.key == "" {
		return
	}
	g.mu.Lock()
	if g.flights[f.key] == f {
		delete(g.flights, f.key)
	}
	g.mu.Unlock()
}
