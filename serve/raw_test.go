package serve_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// rawReply is an answer to a request written on a connection of its own.
type rawReply struct {
	status int
	header http.Header
	body   string
}

// rawRequest writes raw on a new connection to addr and reads one answer.
// The request is written while the answer is read, so that a server
// answering before it has read it all does not block the test.
func rawRequest(t *testing.T, addr, raw string) rawReply {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(conn, raw) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %.60q: %v", raw, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawReply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// wantRawError checks that r is heed serve's JSON error with status and
// code.
func wantRawError(t *testing.T, what string, r rawReply, status int, code string) {
	t.Helper()
	var e struct{ Error, Message string }
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || r.header.Get("Content-Type") != "application/json" || e.Message == "" {
		t.Errorf("%s: body %q (Content-Type %q), want a JSON error", what, r.body, r.header.Get("Content-Type"))
		return
	}
	if r.status != status || e.Error != code {
		t.Errorf("%s: got %d %q, want %d %q (%s)", what, r.status, e.Error, status, code, e.Message)
	}
}
