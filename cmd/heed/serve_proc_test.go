package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heedhq/heed/internal/testenv"
)

// Helpers for the heed serve end-to-end tests: each test starts the real
// binary on a free loopback port (--listen 127.0.0.1:0, read back from the
// "listening on" line) and stops it by PID when it ends.

const (
	// serveStartTimeout bounds how long heed serve may take to listen.
	serveStartTimeout = 10 * time.Second
	// serveStopTimeout bounds how long heed serve may take to exit after
	// SIGTERM before the cleanup kills it.
	serveStopTimeout = 10 * time.Second
	// pollEvery is how often the helpers look again while waiting.
	pollEvery = 10 * time.Millisecond
)

// serveProc is one heed serve process started by startServe.
type serveProc struct {
	cmd    *exec.Cmd
	config string // path of its config file
	url    string // "http://127.0.0.1:port"
	addr   string // "127.0.0.1:port"
	stdout testenv.Buffer
	stderr testenv.Buffer
	done   chan struct{} // closed once the process has exited
	code   int           // exit status; read only after done is closed
}

// writeConfig writes yaml to path, atomically (a rename), so that a
// process reloading it never reads half a file.
func writeConfig(t *testing.T, path, yaml string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// startServe writes yaml to a config file and starts heed serve on it,
// listening on a free loopback port, and returns it once it listens. A
// cleanup stops it (SIGTERM, then SIGKILL after serveStopTimeout) if it is
// still running when the test ends.
func startServe(t *testing.T, yaml string) *serveProc {
	t.Helper()
	return startServeWith(t, yaml, procOptions{})
}

// procOptions adjust startServeWith.
type procOptions struct {
	// env is added to the process's environment ("NAME=value").
	env []string
	// listen is the --listen flag; "" means 127.0.0.1:0.
	listen string
}

// startServeWith is startServe with options.
func startServeWith(t *testing.T, yaml string, opts procOptions) *serveProc {
	t.Helper()
	if opts.listen == "" {
		opts.listen = "127.0.0.1:0"
	}
	p := &serveProc{config: filepath.Join(t.TempDir(), "heed.yaml"), done: make(chan struct{})}
	writeConfig(t, p.config, yaml)
	p.cmd = exec.Command(heedBinary(t), "serve", "--config", p.config, "--listen", opts.listen)
	p.cmd.Env = append(os.Environ(), opts.env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start heed serve: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	p.addr = p.waitListening(t)
	p.url = "http://" + p.addr
	return p
}

// waitListening waits for the "listening on" line and returns the address.
func (p *serveProc) waitListening(t *testing.T) string {
	t.Helper()
	const marker = "listening on http://"
	deadline := time.Now().Add(serveStartTimeout)
	for time.Now().Before(deadline) {
		if _, rest, ok := strings.Cut(p.stdout.String(), marker); ok {
			if addr, _, ok := strings.Cut(rest, " "); ok {
				return addr
			}
		}
		select {
		case <-p.done:
			t.Fatalf("heed serve exited with status %d before listening; stderr:\n%s", p.code, p.stderr.String())
		case <-time.After(pollEvery):
		}
	}
	t.Fatalf("heed serve did not listen within %v; stderr:\n%s", serveStartTimeout, p.stderr.String())
	return ""
}

// signal sends sig to the process.
func (p *serveProc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to heed serve: %v", sig, err)
	}
}

// wait waits up to timeout for the process to exit and returns its status.
func (p *serveProc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		t.Fatalf("heed serve did not exit within %v; stderr:\n%s", timeout, p.stderr.String())
		return 0
	}
}

// exited reports whether the process has exited.
func (p *serveProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop stops the process if it is running: SIGTERM, then SIGKILL.
func (p *serveProc) stop(t *testing.T) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(serveStopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("heed serve did not exit within %v of SIGTERM; killed it", serveStopTimeout)
	}
}

// waitStderr waits up to timeout for the process's stderr to contain s.
func (p *serveProc) waitStderr(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.stderr.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr did not mention %q within %v; stderr:\n%s", s, timeout, p.stderr.String())
		}
		time.Sleep(pollEvery)
	}
}

// runServeConfig runs heed serve on a config file holding yaml, with args
// after --config, expecting it to exit on its own within serveStartTimeout;
// it returns the exit status and stderr.
func runServeConfig(t *testing.T, yaml string, args ...string) (code int, path, stderr string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "heed.yaml")
	writeConfig(t, path, yaml)
	ctx, cancel := context.WithTimeout(t.Context(), serveStartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, heedBinary(t), append([]string{"serve", "--config", path}, args...)...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("running heed serve: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("heed serve did not exit within %v; stderr:\n%s", serveStartTimeout, errOut.String())
	}
	return cmd.ProcessState.ExitCode(), path, errOut.String()
}

// closedPort returns a loopback address nothing listens on (a port that
// was free a moment ago).
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// reply is an answer read to the end.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends req with client (a fresh short-lived client when nil), reads the
// answer to the end and closes it.
func do(t *testing.T, client *http.Client, req *http.Request) reply {
	t.Helper()
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}
}

// newRequest returns a request with a bounded context and, when token is
// not "", a bearer token.
func newRequest(t *testing.T, method, url, token string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// getWith sends a GET with a bearer token through client (nil: a fresh one).
func getWith(t *testing.T, client *http.Client, url, token string) reply {
	t.Helper()
	return do(t, client, newRequest(t, http.MethodGet, url, token, nil))
}

// serveError is the JSON body of an error heed serve makes itself.
type serveError struct {
	Error     string   `json:"error"`
	Message   string   `json:"message"`
	Upstreams []string `json:"upstreams"`
}

// wantServeError checks that r is a JSON error of heed serve with status
// and code, and returns it.
func wantServeError(t *testing.T, r reply, status int, code string) serveError {
	t.Helper()
	var e serveError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	if r.status != status || e.Error != code {
		t.Errorf("got status %d, error %q, want %d, %q (body %s)", r.status, e.Error, status, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	if e.Message == "" {
		t.Errorf("error %q has no message", e.Error)
	}
	return e
}
