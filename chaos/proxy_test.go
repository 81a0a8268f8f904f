package chaos

import (
	"bufio"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// startEcho starts a TCP server on loopback that writes back every line
// it reads, and returns its address; it stops when the test ends.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// roundTrip writes a line on c and reads it back, returning how long that
// took.
func roundTrip(t *testing.T, c net.Conn, rd *bufio.Reader) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return 0, err
	}
	line, err := rd.ReadString('\n')
	if err == nil && line != "ping\n" {
		t.Fatalf("read back %q, want %q", line, "ping\n")
	}
	return time.Since(start), err
}

// dialProxy connects to px, closed when the test ends.
func dialProxy(t *testing.T, px *Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", px.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

func TestProxyPassesAndDelays(t *testing.T) {
	px := newProxy(t, startEcho(t))
	c, rd := dialProxy(t, px)
	if d, err := roundTrip(t, c, rd); err != nil || d > 100*time.Millisecond {
		t.Fatalf("without delay: %v %v, want a round trip at once", d, err)
	}
	px.SetDelay(150 * time.Millisecond)
	d, err := roundTrip(t, c, rd)
	if err != nil || d < 150*time.Millisecond || d > time.Second {
		t.Fatalf("with a 150ms delay: round trip %v %v, want 150ms more", d, err)
	}
	px.SetDelay(0)
	if d, err := roundTrip(t, c, rd); err != nil || d > 100*time.Millisecond {
		t.Fatalf("delay removed: %v %v, want a round trip at once", d, err)
	}
	if st := px.Stats(); st.Accepted != 1 || st.Open != 1 {
		t.Errorf("stats %+v, want 1 accepted, 1 open", st)
	}
}

func TestProxyDropResets(t *testing.T) {
	px := newProxy(t, startEcho(t))
	c, rd := dialProxy(t, px)
	if _, err := roundTrip(t, c, rd); err != nil {
		t.Fatal(err)
	}
	if n := px.Drop(); n != 1 {
		t.Fatalf("Drop reset %d connections, want 1", n)
	}
	_, err := rd.ReadString('\n')
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("reading a dropped connection: %v, want a reset", err)
	}
	c2, rd2 := dialProxy(t, px)
	if _, err := roundTrip(t, c2, rd2); err != nil {
		t.Errorf("a new connection after Drop: %v", err)
	}
}

func TestProxyRefuses(t *testing.T) {
	px := newProxy(t, startEcho(t))
	px.SetRefuse(true)
	// The reset may come before Dial returns, or at the first read.
	if c, err := net.Dial("tcp", px.Addr()); err == nil {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := roundTrip(t, c, bufio.NewReader(c)); err == nil {
			t.Fatal("a round trip through a refusing proxy succeeded")
		}
		c.Close()
	}
	px.SetRefuse(false)
	c2, rd2 := dialProxy(t, px)
	if _, err := roundTrip(t, c2, rd2); err != nil {
		t.Errorf("after SetRefuse(false): %v", err)
	}
	if st := px.Stats(); st.Refused != 1 || st.Accepted != 1 {
		t.Errorf("stats %+v, want 1 refused, 1 accepted", st)
	}
}

func TestProxyServerGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	px := newProxy(t, addr)
	if c, err := net.Dial("tcp", px.Addr()); err == nil {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := roundTrip(t, c, bufio.NewReader(c)); err == nil {
			t.Fatal("a round trip to no server succeeded")
		}
		c.Close()
	}
	if st := px.Stats(); st.Refused != 1 {
		t.Errorf("stats %+v, want the connection refused", st)
	}
}

func TestProxyCloseEndsEverything(t *testing.T) {
	f := newFigures(t)
	checkGoroutines(t, f)
	px, err := NewProxy(startEcho(t))
	if err != nil {
		t.Fatal(err)
	}
	px.SetDelay(time.Second)
	c, _ := dialProxy(t, px)
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the echo is held in the delay line
	start := time.Now()
	if err := px.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Close took %v with a chunk held for a second, want at once", d)
	}
	if _, err := net.DialTimeout("tcp", px.Addr(), time.Second); err == nil {
		t.Error("the proxy still accepts after Close")
	}
}
