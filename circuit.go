package heed

import (
	"context"
	"net/http"

	"github.com/heedhq/heed/breaker"
)

// breakerLayer asks the upstream's breaker (package breaker) to let each
// attempt go, as a probe when half-open, and tells it how the attempt
// went. While it refuses, the attempt is answered at once with a synthetic
// circuit-open response whose Retry-After is the time the breaker stays
// open.
func breakerLayer(next handler) handler {
	return func(c *call) outcome {
		b := c.u.breaker
		if b == nil {
			return next(c)
		}
		tk, wait, ok := b.Allow()
		if !ok {
			return outcome{syn: c.synthetic(refusalCircuitOpen, http.StatusServiceUnavailable, wait, nil)}
		}
		out := next(c)
		b.Done(tk, c.verdict(out))
		return out
	}
}

// verdict is what the breaker is told of an attempt: a failure for a 5xx
// or a transport error, nothing when it was not sent or the caller gave
// up.
func (c *call) verdict(out outcome) breaker.Verdict {
	switch {
	case out.syn != nil || out.unsent:
		return breaker.NotSent
	case out.err != nil && context.Cause(c.ctx) != nil:
		return breaker.NotSent
	case out.err != nil || out.resp.StatusCode >= 500:
		return breaker.Failure
	}
	return breaker.Success
}
