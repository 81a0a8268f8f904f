package testenv

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// command sends one command to the Redis at addr and returns its reply,
// which must be a simple or bulk string. It gives up after timeout.
func command(addr string, timeout time.Duration, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := conn.Write(encodeCommand(args)); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(conn))
}

// encodeCommand encodes args as a RESP array of bulk strings.
func encodeCommand(args []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte(b.String())
}

// readReply reads a simple string, bulk string or error reply.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("testenv: empty reply")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("testenv: redis error: %s", line[1:])
	case '$':
		return readBulk(r, line[1:])
	}
	return "", fmt.Errorf("testenv: unexpected reply %q", line)
}

// readBulk reads the body of a bulk string whose header gave size.
func readBulk(r *bufio.Reader, size string) (string, error) {
	n, err := strconv.Atoi(size)
	if err != nil || n < 0 {
		return "", fmt.Errorf("testenv: bad bulk length %q", size)
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// ping reports whether the Redis at addr answers PING with PONG.
func ping(addr string, timeout time.Duration) error {
	reply, err := command(addr, timeout, "PING")
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("testenv: PING answered %q, want PONG", reply)
	}
	return nil
}

// serverPID returns the process_id the Redis at addr reports in INFO server.
func serverPID(addr string, timeout time.Duration) (int, error) {
	info, err := command(addr, timeout, "INFO", "server")
	if err != nil {
		return 0, err
	}
	v, ok := infoField(info, "process_id")
	if !ok {
		return 0, fmt.Errorf("testenv: INFO server has no process_id")
	}
	return strconv.Atoi(v)
}

// infoField returns the value of the line "name:value" in a reply of INFO
// or CLUSTER INFO, and whether there is one.
func infoField(info, name string) (string, bool) {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v, true
		}
	}
	return "", false
}
