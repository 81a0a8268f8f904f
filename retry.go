package heed

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/heedhq/heed/quota"
)

// retryLayer makes attempts until one is final: heed's own answers are,
// and so is whatever the retry policy does not retry (see retryDelay).
// Between attempts it waits the backoff; a server-given wait is the
// scope's cooldown, which the next admission waits out.
func retryLayer(next handler) handler {
	return func(c *call) outcome {
		for {
			c.attempt++
			out := next(c)
			if out.syn != nil || out.unsent {
				return out
			}
			delay, again := c.retryDelay(out)
			if !again {
				return out
			}
			c.u.t.metrics.Retry(c.u.cfg.Name, retryReason(out))
			c.u.t.log.LogAttrs(c.ctx, slogInfo, "heed: retrying",
				attr("upstream", c.u.cfg.Name), attr("scope", c.sc.short), attr("attempt", c.attempt+1),
				attr("delay", delay), attr("reason", reasonOf(out)))
			discard(out.resp)
			if err := c.sleep(waitBackoff, delay); err != nil {
				return abandon(err)
			}
		}
	}
}

// retryableStatus reports the statuses worth retrying: 429 and the
// gateway-ish 5xx. Never another 4xx: a request that is wrong stays wrong.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableError reports transport errors worth retrying: refused and reset
// connections, timeouts, and connections that closed mid-response. A
// cancelled or expired context is not: the caller gave up.
func retryableError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	var op *net.OpError
	return errors.As(err, &op)
}

// idempotent reports whether req may be sent twice: its method is
// idempotent by RFC 9110 (GET, HEAD, OPTIONS, TRACE, PUT, DELETE), it
// carries an Idempotency-Key, or the policy allows retrying any method.
func idempotent(req *http.Request, anyMethod bool) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return anyMethod || req.Header.Get("Idempotency-Key") != ""
}

// replayable reports whether req's body can be sent again.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// retryDelay decides whether the call makes another attempt after out, and
// how long to wait first. A 429's wait is the scope's cooldown, which the
// next admission waits for; a retry that cannot happen within max_wait,
// max_elapsed or the deadline is not made, and the response is returned.
// A client that retries on its own gets every answer as it is: its retries
// and heed's would multiply.
func (c *call) retryDelay(out outcome) (time.Duration, bool) {
	pol := c.u.cfg.Retry
	if c.attempt >= pol.Attempts || c.clientRetries || !c.retryable(out) {
		return 0, false
	}
	delay := c.u.backoff.Delay(c.attempt, c.u.t.rand.Float64())
	if out.sig.Wait > 0 {
		// The server's wait wins: it is the scope's cooldown now. In fail
		// mode, or when it would pass max_wait or the deadline, the caller
		// gets the server's own answer rather than a synthetic one.
		delay = 0
		if c.u.cfg.OnLimit == OnLimitFail || c.u.t.clock.Now().Add(out.sig.Wait).After(c.waitDeadline()) {
			return 0, false
		}
	}
	if pol.MaxElapsed > 0 && c.u.t.clock.Now().Add(delay+out.sig.Wait).Sub(c.started) > pol.MaxElapsed {
		return 0, false
	}
	return delay, true
}

// retryable reports whether out is worth another attempt of this request.
func (c *call) retryable(out outcome) bool {
	if !idempotent(c.req, c.u.cfg.Retry.NonIdempotent) || !replayable(c.req) {
		return false
	}
	if out.err != nil {
		return retryableError(out.err) && c.ctx.Err() == nil
	}
	if out.sig.Limited && out.sig.Cause == quota.CauseRateLimit {
		return true // a rate limit whatever its status: GitHub's 403, a GraphQL 200
	}
	return retryableStatus(out.resp.StatusCode) && out.sig.Cause != quota.CauseQuotaExhausted
}

// reasonOf describes why an attempt is retried, for the log.
func reasonOf(out outcome) string {
	if out.err != nil {
		return "transport error: " + out.err.Error()
	}
	return "status " + strconv.Itoa(out.resp.StatusCode)
}

// retryReason is why an attempt is sent again, for Metrics.Retry: the
// status code that failed, or OutcomeTransportError.
func retryReason(out outcome) string {
	if out.err != nil {
		return OutcomeTransportError
	}
	return strconv.Itoa(out.resp.StatusCode)
}
