package heed

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/heedhq/heed/quota"
	"github.com/heedhq/heed/store"
)

// The way of one request, in order, one file per step:
//
//	RoundTrip (transport.go)
//	  route    route.go       the upstream whose base URL covers the URL (or the one named)
//	  scope    scope.go       tenant + keyed fingerprint of the credential → the scope's state
//	  ┌ cache  cache.go       (with a cache or coalescing) a fresh entry answers; a stale one is
//	  │                       revalidated; identical GETs in flight share one request
//	  │ retry  retry.go       attempts until one is final; backoff (a server-given wait wins)
//	  │ breaker circuit.go    an open circuit answers circuit-open at once
//	  │ admit  admit.go       waits for cooldown, limits, paces, concurrency; or answers itself
//	  │ record record.go      cooldown, learned paces, kept quotas        ▲ on the way back
//	  │ read   send.go        the response's signals (package quota)      │
//	  └ send   send.go        the base transport, bounded by the upstream's timeout
//	  answer   synthetic.go   what heed says itself, in the vendor's error shape
//
// Each layer wraps the ones below it: it may answer without calling them
// (a synthetic answer), and it sees their outcome on the way back up. The
// layers are data (pipeline), so that a new one (a response cache, a
// coalescer: cache.go, put in above retry by Transport.openCaches) goes in
// at a named position without editing the others.

// call is one RoundTrip of a matched request: its attempts, waits and
// retries. It is used by one goroutine.
type call struct {
	u      *upstream
	req    *http.Request
	ctx    context.Context
	opts   requestOptions
	tenant string
	sc     *scopeState
	// started is when RoundTrip began; now is when the latest answer
	// arrived.
	started, now time.Time
	// deadline, when set, is waitDeadline's answer: a shared flight's call
	// (see responseCache.share) waits as its first caller would.
	deadline time.Time
	attempt  int
	// clientRetries is set when the request comes from a client that
	// retries on its own: heed then makes one attempt.
	clientRetries bool
	// seq is the scope's admission count when this call's latest attempt
	// was let go, sent when it was sent.
	seq  int64
	sent time.Time
	// probing is set while this call holds its scope's probe.
	probing bool
	// charge is what the latest admission charged, for settleAttempt;
	// estimated is set once est holds the request's estimate (see
	// pricing.estimate).
	charge    charge
	est       estimate
	estimated bool
	// waited is the time waited per reason since it was last reported
	// (see flushWaits).
	waited [waitReasons]time.Duration
	// waiter and turn are the call's place in its scope's waiting room and
	// among the fleet's, for an upstream with fair shares (admitFair).
	waiter waiter
	turn   store.Turn
}

// outcome is what an attempt produced on its way back up the layers: the
// request sent and the response or error, the signal read from the
// response, or heed's own answer when nothing was sent.
type outcome struct {
	req  *http.Request
	resp *http.Response
	err  error
	sig  quota.Signal
	// syn is heed's own answer, when a layer answered instead of sending.
	syn *synthetic
	// refused is set, for a response the API refused for a rate limit, to
	// what RefusalOf reports of it.
	refused *Refusal
	// unsent is set when err ended the call before anything was sent (the
	// context ended while waiting, the store was unavailable).
	unsent bool
}

// handler takes an attempt down the layers below it.
type handler func(c *call) outcome

// layer is one named step of the pipeline: wrap returns the handler that
// does the step around next, the layers below.
type layer struct {
	name string
	wrap func(next handler) handler
}

// The layers' names.
const (
	layerRetry   = "retry"
	layerBreaker = "breaker"
	layerAdmit   = "admit"
	layerRecord  = "record"
	layerRead    = "read"
)

// pipeline returns the layers an attempt goes down, outermost first, above
// send.
func pipeline() []layer {
	return []layer{
		{layerRetry, retryLayer},
		{layerBreaker, breakerLayer},
		{layerAdmit, admitLayer},
		{layerRecord, recordLayer},
		{layerRead, readLayer},
	}
}

// withLayer returns layers with l put in just above the layer named
// below (outermost when below is ""), leaving layers as it was.
func withLayer(layers []layer, below string, l layer) []layer {
	at := 0
	for i, x := range layers {
		if x.name == below {
			at = i
		}
	}
	out := make([]layer, 0, len(layers)+1)
	out = append(out, layers[:at]...)
	out = append(out, l)
	return append(out, layers[at:]...)
}

// compose returns the handler that takes an attempt down layers, then to
// bottom.
func compose(layers []layer, bottom handler) handler {
	h := bottom
	for i := len(layers) - 1; i >= 0; i-- {
		h = layers[i].wrap(h)
	}
	return h
}

// calls recycles calls: one is made for every request, and none is kept
// once its RoundTrip has returned (no layer, body wrapper or answer holds
// on to it).
var calls = sync.Pool{New: func() any { return new(call) }}

// newCall starts the call of req, matched to u.
func (u *upstream) newCall(req *http.Request, opts requestOptions) *call {
	now := u.t.clock.Now()
	c := calls.Get().(*call)
	*c = call{u: u, req: req, ctx: req.Context(), opts: opts, tenant: opts.tenantOr(u.t.cfg.Tenant), started: now,
		clientRetries: u.clientRetries(req.Header)}
	c.sc = u.scopeOf(req, now)
	return c
}

// run takes the call down the pipeline, returns its answer and recycles
// the call.
func (c *call) run() (*http.Response, error) {
	out := c.u.handle(c)
	c.flushWaits() // the waits of a request that gave up or was answered by heed
	resp, err := c.finish(out)
	*c = call{}
	calls.Put(c)
	return resp, err
}

// finish reports how the call ended and returns its answer.
func (c *call) finish(out outcome) (*http.Response, error) {
	m, name := c.u.t.metrics, c.u.cfg.Name
	switch {
	case out.syn != nil:
		m.Request(name, out.syn.kind.outcome())
		return c.answer(out.syn), nil
	case out.unsent:
		m.Request(name, OutcomeTransportError)
		return nil, out.err
	}
	m.Request(name, out.name())
	if out.refused != nil {
		markRefused(out.resp, out.refused)
	}
	return out.resp, out.err
}

// abandon is the outcome of a call that ends before anything is sent.
func abandon(err error) outcome { return outcome{err: err, unsent: true} }
