package heed

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	"github.com/heedhq/heed/quota"
)

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
