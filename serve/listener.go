package serve

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
)

// WrapListener returns ln with its connections' own answers in heed
// serve's JSON. An http.Server answers some requests itself, in plain text,
// before any handler sees them: 400 for a malformed request line, header
// or Host, 431 for a request line and headers over its MaxHeaderBytes, 501
// for a transfer coding it does not know, 505 for a protocol it does not
// speak, 417 for an Expect header other than 100-continue. On a connection
// of the returned listener each of these is written as the same status
// with heed serve's JSON error (and Connection: close, as net/http closes
// the connection after them); every other byte passes untouched.
//
// It recognises them by their exact form: written in one piece, the status
// line followed by the header lines net/http writes in that order, which a
// response written through an http.ResponseWriter never has (its header
// lines are sorted and carry a Date, and net/http adds Connection after
// Date). A connection switched to another protocol (101, such as a
// WebSocket through route mode) is left alone from then on. It cannot
// reach what an http.Server does not write: a connection closed without an
// answer (a read timeout, a client gone), TLS handshake errors (a TLS
// listener inside it sees only ciphertext; wrap the TLS listener instead),
// and HTTP/2, whose errors are frames.
func WrapListener(ln net.Listener) net.Listener { return jsonErrorListener{ln} }

// jsonErrorListener is WrapListener's listener.
type jsonErrorListener struct{ net.Listener }

func (l jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorConn{Conn: c}, nil
}

// jsonErrorConn rewrites net/http's own answers on one connection.
type jsonErrorConn struct {
	net.Conn
	// switched is set once the connection speaks another protocol (101).
	switched atomic.Bool
}

// Write writes p, or in place of one of net/http's own answers, the
// same status with heed serve's JSON error; it returns len(p) then.
func (c *jsonErrorConn) Write(p []byte) (int, error) {
	if c.switched.Load() {
		return c.Conn.Write(p)
	}
	if bytes.HasPrefix(p, []byte("HTTP/1.1 101 ")) {
		c.switched.Store(true)
		return c.Conn.Write(p)
	}
	status, detail, ok := serverAnswer(p)
	if !ok {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(rawError(status, serverError(status, detail))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite half-closes the connection when it can, as net/http does after
// a 431 so that the client reads the answer before the connection resets.
func (c *jsonErrorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// The header lines of net/http's own answers (net/http/server.go): the
// errors of reading a request, and the answer to an unknown expectation.
const (
	plainErrorHeader      = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	expectationFailedHead = "HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nDate: "
	expectationFailedTail = "\r\nContent-Length: 0\r\n\r\n"
)

// serverAnswer reports whether p is one of net/http's own answers, and
// its status and detail (the text after the status, such as "missing
// required Host header").
func serverAnswer(p []byte) (status int, detail string, ok bool) {
	s := string(p)
	if strings.HasPrefix(s, expectationFailedHead) && strings.HasSuffix(s, expectationFailedTail) &&
		!strings.Contains(strings.TrimSuffix(strings.TrimPrefix(s, expectationFailedHead), expectationFailedTail), "\r\n") {
		return 417, "", true
	}
	line, rest, found := strings.Cut(s, plainErrorHeader)
	code, reason, _ := strings.Cut(strings.TrimPrefix(line, "HTTP/1.1 "), " ")
	status, err := strconv.Atoi(code)
	switch {
	case !found || !strings.HasPrefix(line, "HTTP/1.1 ") || err != nil || status < 400 || status > 599 || len(code) != 3,
		strings.Contains(line, "\r\n"), !strings.HasPrefix(rest, code+" ") && status != 501:
		return 0, "", false
	}
	_, detail, _ = strings.Cut(reason, ": ")
	return status, detail, true
}

// serverError is heed serve's error for one of net/http's own answers.
func serverError(status int, detail string) apiError {
	e := apiError{Error: codeOf(status)}
	switch status {
	case 431:
		return headersTooLarge
	case 400:
		e.Message = "heed serve could not read the request: a malformed request line or header"
	case 417:
		e.Message = "heed serve takes no Expect header but Expect: 100-continue"
	case 501:
		e.Message = "heed serve does not know the request's transfer coding: it takes chunked, or none"
	case 505:
		e.Message = "heed serve speaks HTTP/1.0 and HTTP/1.1 only"
	default:
		e.Message = fmt.Sprintf("heed serve could not take the request (%d)", status)
	}
	if detail != "" {
		e.Message += " (" + detail + ")"
	}
	return e
}
