package chaos

import (
	"context"
	"encoding/json"
	"fmt"
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

// The heed serve processes of the suite: the real binary, each on a free
// loopback port (--listen 127.0.0.1:0, read back from its "listening on"
// line), stopped or killed by its PID only.

const (
	// serveStartTimeout bounds how long heed serve may take to listen.
	serveStartTimeout = 15 * time.Second
	// serveStopTimeout bounds how long heed serve may take to exit after
	// SIGTERM (it drains for --drain first) before it is killed.
	serveStopTimeout = 15 * time.Second
	// serveDrain is heed serve's --drain: requests in flight at SIGTERM.
	serveDrain = "3s"
)

// serveProc is one run of heed serve.
type serveProc struct {
	name   string // for messages
	cmd    *exec.Cmd
	url    string // "http://127.0.0.1:port"
	stdout testenv.Buffer
	stderr testenv.Buffer
	done   chan struct{} // closed once the process has exited
	code   int           // exit status; read only after done is closed
	killed bool          // sent SIGKILL by the test
}

// startServe writes yaml to a config file in dir and starts heed serve on
// it; it returns once the process listens. A cleanup stops it (SIGTERM,
// then SIGKILL) if it still runs when the test ends, and checks its
// output (checkOutput).
func startServe(t *testing.T, name, dir, yaml string) *serveProc {
	t.Helper()
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(heedBinary(t), "serve", "--config", path, "--listen", "127.0.0.1:0", "--drain", serveDrain)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start heed serve %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		p.checkOutput(t)
	})
	p.url = "http://" + p.waitListening(t)
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
			t.Fatalf("heed serve %s exited with status %d before listening; stderr:\n%s", p.name, p.code, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("heed serve %s did not listen within %v; stderr:\n%s", p.name, serveStartTimeout, p.stderr.String())
	return ""
}

// kill sends SIGKILL to the process, by its PID, and waits for it to die.
func (p *serveProc) kill(t *testing.T) {
	t.Helper()
	p.killed = true
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 heed serve %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(serveStopTimeout):
		t.Fatalf("heed serve %s (pid %d) did not die within %v of SIGKILL", p.name, p.cmd.Process.Pid, serveStopTimeout)
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

// stop stops the process if it runs: SIGTERM, then SIGKILL; it fails t
// when the process had to be killed or exited with a status other than 0.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(serveStopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("heed serve %s did not exit within %v of SIGTERM; killed it", p.name, serveStopTimeout)
		return
	}
	if p.code != 0 {
		t.Errorf("heed serve %s exited with status %d after SIGTERM; stderr:\n%s", p.name, p.code, p.stderr.String())
	}
}

// crashMarkers are what a Go program prints when it panics, dies of a
// fatal error or, built with -race, races.
var crashMarkers = []string{"panic:", "fatal error:", "WARNING: DATA RACE"}

// checkOutput fails t if the process's output shows a panic, a fatal
// error or a data race, or if it died of a signal the test did not send.
func (p *serveProc) checkOutput(t *testing.T) {
	t.Helper()
	out := p.stdout.String() + p.stderr.String()
	for _, m := range crashMarkers {
		if strings.Contains(out, m) {
			t.Errorf("heed serve %s printed %q; stderr:\n%s", p.name, m, p.stderr.String())
		}
	}
	if st := p.cmd.ProcessState; st != nil && !p.killed {
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() != syscall.SIGKILL {
			t.Errorf("heed serve %s died of %v", p.name, ws.Signal())
		}
	}
}

// serveState is the part of heed serve's /-/state the suite reads.
type serveState struct {
	StoreDown bool `json:"store_down"`
	Upstreams []struct {
		Breaker string `json:"breaker"`
	} `json:"upstreams"`
}

// state reads the process's /-/state with client.
func (p *serveProc) state(ctx context.Context, client *http.Client) (serveState, error) {
	var st serveState
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/-/state", nil)
	if err != nil {
		return st, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET /-/state: status %d", resp.StatusCode)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}
