package serve

import (
	"bytes"
	"net"
	"strings"
	"testing"
)

// recordingConn is a net.Conn that keeps what is written to it.
type recordingConn struct {
	net.Conn
	buf bytes.Buffer
}

func (c *recordingConn) Write(p []byte) (int, error) { return c.buf.Write(p) }

func TestServerAnswer(t *testing.T) {
	t.Parallel()
	const plain = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	tests := []struct {
		name, p string
		status  int
		detail  string
	}{
		{"BadRequest", "HTTP/1.1 400 Bad Request" + plain + "400 Bad Request", 400, ""},
		{"BadRequestDetail", "HTTP/1.1 400 Bad Request: missing required Host header" + plain + "400 Bad Request: missing required Host header", 400, "missing required Host header"},
		{"TooLarge", "HTTP/1.1 431 Request Header Fields Too Large" + plain + "431 Request Header Fields Too Large", 431, ""},
		{"TransferCoding", "HTTP/1.1 501 Not Implemented" + plain + "Unsupported transfer encoding", 501, ""},
		{"Expectation", "HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nDate: Mon, 02 Jan 2026 15:04:05 GMT\r\nContent-Length: 0\r\n\r\n", 417, ""},
		// Answers written through a ResponseWriter: sorted headers, a Date.
		{"HandlerPlain", "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Mon, 02 Jan 2026 15:04:05 GMT\r\n\r\n400 Bad Request", 0, ""},
		{"HandlerExtraHeaders", "HTTP/1.1 400 Bad Request\r\nDate: Mon, 02 Jan 2026 15:04:05 GMT\r\nContent-Length: 15\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request", 0, ""},
		{"Handler417", "HTTP/1.1 417 Expectation Failed\r\nDate: Mon, 02 Jan 2026 15:04:05 GMT\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 0, ""},
		{"Handler417MoreHeaders", "HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nDate: x\r\nX: y\r\nContent-Length: 0\r\n\r\n", 0, ""},
		{"Success", "HTTP/1.1 200 OK" + plain + "200 OK", 0, ""},
		{"Body", `{"error":"x"}`, 0, ""},
		{"BodyMismatch", "HTTP/1.1 400 Bad Request" + plain + "something else", 0, ""},
	}
	for _, tt := range tests {
		status, detail, ok := serverAnswer([]byte(tt.p))
		if ok != (tt.status != 0) || status != tt.status || detail != tt.detail {
			t.Errorf("%s: got %d %q %t, want %d %q", tt.name, status, detail, ok, tt.status, tt.detail)
		}
	}
}

// TestSwitchedConnectionLeftAlone: after a 101, the bytes are another
// protocol's, passed as they are even when they look like net/http's.
func TestSwitchedConnectionLeftAlone(t *testing.T) {
	t.Parallel()
	rec := &recordingConn{}
	c := &jsonErrorConn{Conn: rec}
	const canned = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"
	if n, err := c.Write([]byte(canned)); err != nil || n != len(canned) || !strings.Contains(rec.buf.String(), `"error":"bad_request"`) ||
		!strings.HasPrefix(rec.buf.String(), "HTTP/1.1 400 Bad Request\r\n") || !strings.Contains(rec.buf.String(), "\r\nConnection: close\r\n") {
		t.Fatalf("before a switch: wrote %d, %v: %q, want the JSON error and len(p)", n, err, rec.buf.String())
	}
	rec.buf.Reset()
	for _, p := range []string{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", canned} {
		if _, err := c.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasSuffix(rec.buf.String(), canned) {
		t.Errorf("after a switch: %q, want the bytes untouched", rec.buf.String())
	}
}
