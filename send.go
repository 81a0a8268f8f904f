package heed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/heedhq/heed/quota"
)

// send is the bottom of the pipeline: it sends the attempt through the
// base transport.
func (u *upstream) send(c *call) outcome {
	c.flushWaits() // the waits before this attempt left
	req, err := c.attemptRequest()
	if err != nil {
		return abandon(err)
	}
	if c.u.adaptive() {
		c.sent = c.u.t.clock.Now() // what learning a quota times answers by
	}
	resp, err := c.roundTrip(req)
	c.sc.answered.Add(1)
	if err != nil {
		return outcome{req: req, err: err}
	}
	return outcome{req: req, resp: resp}
}

// readLayer reads each response's rate-limit signals (package quota) on
// its way back up; now is when it arrived.
func readLayer(next handler) handler {
	return func(c *call) outcome {
		out := next(c)
		if out.resp == nil {
			return out
		}
		c.now = c.u.t.clock.Now()
		out.sig = c.read(out.req, out.resp)
		return out
	}
}

// read parses the response's rate-limit signals.
func (c *call) read(req *http.Request, resp *http.Response) quota.Signal {
	var peek []byte
	if shouldPeek(req, resp) {
		peek = peekBody(resp, errorPeek)
	}
	return quota.Parse(quota.Response{Status: resp.StatusCode, Header: resp.Header, Body: peek, Vendor: c.u.vendor}, c.now)
}

// ErrUpstreamTimeout is wrapped by the error of an attempt whose response
// headers did not arrive within the upstream's Timeout.
var ErrUpstreamTimeout = errors.New("heed: upstream did not answer in time")

// roundTrip sends one attempt through the base transport, bounding the
// wait for the response's headers by the upstream's Timeout. The body,
// which may be a long stream, is not bounded.
func (c *call) roundTrip(req *http.Request) (*http.Response, error) {
	d := c.u.cfg.Timeout
	if d <= 0 {
		return c.u.t.base.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(d, func() { cancel(ErrUpstreamTimeout) })
	resp, err := c.u.t.base.RoundTrip(req.WithContext(ctx))
	fired := !timer.Stop()
	if err != nil {
		cancel(nil)
		if fired && errors.Is(context.Cause(ctx), ErrUpstreamTimeout) {
			err = fmt.Errorf("%w (timeout %v): %w", ErrUpstreamTimeout, d, err)
		}
		return nil, err
	}
	whenDone(resp, func() { cancel(nil) })
	return resp, nil
}

// attemptRequest returns the request to send: the caller's own the first
// time (heed changes nothing in it), then a shallow copy whose body is
// replayed from GetBody.
func (c *call) attemptRequest() (*http.Request, error) {
	if c.attempt <= 1 || c.req.Body == nil || c.req.Body == http.NoBody {
		return c.req, nil
	}
	b, err := c.req.GetBody()
	if err != nil {
		return nil, err
	}
	req := *c.req
	req.Body = b
	return &req, nil
}

// body is the one wrapper heed puts around a response's body: it runs its
// done functions once, at EOF, at a read error or at Close, whichever
// comes first, may carry what RefusalOf reports of the response, and may
// show what passes to a tap.
type body struct {
	io.ReadCloser
	once    sync.Once
	done    []func()
	refusal *Refusal
	// tap, when set, sees every byte the caller reads (a usage meter, the
	// cache's copy); eof is set once the body was read to its end.
	tap io.Writer
	eof bool
}

// addTap has w see every byte the caller reads, besides any tap already
// there.
func (b *body) addTap(w io.Writer) {
	if b.tap != nil {
		w = io.MultiWriter(b.tap, w)
	}
	b.tap = w
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 && b.tap != nil {
		_, _ = b.tap.Write(p[:n])
	}
	if err != nil {
		b.eof = b.eof || err == io.EOF
		b.once.Do(b.finish)
	}
	return n, err
}

func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.finish)
	return err
}

func (b *body) finish() {
	for _, f := range b.done {
		f()
	}
}

// bodyOf returns resp's body as heed's wrapper, wrapping it first when it
// is not one yet.
func bodyOf(resp *http.Response) *body {
	if b, ok := resp.Body.(*body); ok {
		return b
	}
	rc := resp.Body
	if rc == nil {
		rc = http.NoBody
	}
	b := &body{ReadCloser: rc}
	resp.Body = b
	return b
}

// whenDone runs f once when resp's body is read to the end or closed.
func whenDone(resp *http.Response, f func()) {
	b := bodyOf(resp)
	b.done = append(b.done, f)
}

// discard drains (bounded) and closes the body of a response that will not
// reach the caller, so its connection can be reused.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}

// errorPeek is how much of an error body heed reads for the signal parser.
const errorPeek = 16 << 10

// shouldPeek reports whether the body may carry a rate-limit signal worth
// reading before the caller does: error bodies, and GraphQL answers, which
// report throttling with status 200. Other bodies (streams above all) are
// left untouched.
func shouldPeek(req *http.Request, resp *http.Response) bool {
	if resp.Body == nil || resp.Body == http.NoBody || req.Method == http.MethodHead {
		return false
	}
	if resp.StatusCode >= 400 {
		return true
	}
	return strings.HasSuffix(req.URL.Path, "/graphql") &&
		strings.Contains(resp.Header.Get("Content-Type"), "json")
}

// peekBody reads up to n bytes of resp's body and puts them back in front
// of the rest, so the caller reads the body whole.
func peekBody(resp *http.Response, n int) []byte {
	n = min(n, quota.MaxBody)
	buf := make([]byte, n)
	got, err := io.ReadFull(resp.Body, buf)
	buf = buf[:got]
	rest := resp.Body
	var tail io.Reader = rest
	if err != nil { // the whole body was read, or reading failed: replay what came
		tail = errReader{err: err}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			tail = http.NoBody
		}
	}
	resp.Body = peekedBody{Reader: io.MultiReader(bytes.NewReader(buf), tail), closer: rest}
	return buf
}

// peekedBody is a body whose first bytes were read ahead.
type peekedBody struct {
	io.Reader
	closer io.Closer
}

func (b peekedBody) Close() error { return b.closer.Close() }

// errReader replays a read error after the peeked bytes.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
