package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds how long a redis-server may take to answer PING.
	startTimeout = 10 * time.Second
	// stopTimeout bounds how long a redis-server may take to exit after
	// SIGTERM before it is killed.
	stopTimeout = 10 * time.Second
	// portAttempts is how many free ports RedisServer and RedisCluster try
	// before giving up, in case another process takes a port between picking
	// and binding.
	portAttempts = 5
	// probeTimeout bounds one PING or INFO round trip.
	probeTimeout = time.Second
)

// errPortTaken means the server did not get its port: it exited before
// answering, or another process answered on the port.
var errPortTaken = errors.New("testenv: redis-server did not get its port")

// Redis starts a private redis-server for the test and returns its address,
// "127.0.0.1:port". The server is stopped when the test ends. It skips or
// fails the test when redis-server is missing (see the package doc).
func Redis(t testing.TB) string {
	t.Helper()
	return RedisServer(t).Addr()
}

// RedisProc is a private redis-server started by [RedisServer]. It keeps its
// address and directory across [RedisProc.Stop] and [RedisProc.Start], so a
// test can take the server away and bring it back on the same port.
//
// Addr is safe for concurrent use; Start and Stop must not be called
// concurrently with each other.
type RedisProc struct {
	bin     string // path of redis-server
	dir     string // working directory, data, log and a cluster node's nodes.conf
	addr    string // "127.0.0.1:port", fixed for the life of the RedisProc
	cluster bool   // run as a Redis Cluster node (see RedisCluster)
	busPort int    // a cluster node's bus port, fixed like addr; 0 otherwise
	proc    *process
}

// process is one run of redis-server.
type process struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer // read only after done is closed
	done   chan struct{} // closed once cmd.Wait returns
}

// RedisServer starts a private redis-server on a free loopback port in
// t.TempDir() and returns it running. A cleanup registered on t stops it
// (that process only, by PID) if it is running when the test ends. It skips
// or fails the test when redis-server is missing (see the package doc).
func RedisServer(t testing.TB) *RedisProc {
	t.Helper()
	return startRedisProc(t, false)
}

// startRedisProc starts a redis-server, a cluster node when cluster is true,
// on free loopback ports in t.TempDir(), and registers a cleanup on t that
// stops it (that process only, by PID) if it is running when the test ends.
func startRedisProc(t testing.TB, cluster bool) *RedisProc {
	t.Helper()
	p := &RedisProc{bin: lookService(t, "redis-server", redisHint), dir: t.TempDir(), cluster: cluster}
	var err error
	for range portAttempts {
		if err = p.startOnFreePort(); !errors.Is(err, errPortTaken) {
			break
		}
	}
	if err != nil {
		t.Fatalf("testenv: start redis-server: %v", err)
	}
	t.Cleanup(func() {
		if p.proc == nil {
			return
		}
		if err := p.stop(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// Addr returns the server's address, "127.0.0.1:port".
func (p *RedisProc) Addr() string { return p.addr }

// Stop stops the server: SIGTERM, then SIGKILL if it has not exited within
// ten seconds. Once Stop returns, nothing listens on Addr. It fails t if
// the server is not running.
func (p *RedisProc) Stop(t testing.TB) {
	t.Helper()
	if p.proc == nil {
		t.Fatalf("testenv: Stop: redis-server at %s is not running", p.addr)
	}
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
}

// Start starts the server again on the same port and directory and waits
// until it answers PING. It fails t if the server is running or cannot start.
func (p *RedisProc) Start(t testing.TB) {
	t.Helper()
	if p.proc != nil {
		t.Fatalf("testenv: Start: redis-server at %s is already running", p.addr)
	}
	if err := p.start(); err != nil {
		t.Fatalf("testenv: restart redis-server at %s: %v", p.addr, err)
	}
}

// startOnFreePort picks a free loopback port (and a cluster node's bus
// port) and starts the server on it.
func (p *RedisProc) startOnFreePort() error {
	n := 1
	if p.cluster {
		n = 2
	}
	ports, err := freePorts(n)
	if err != nil {
		return err
	}
	p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	if p.cluster {
		p.busPort = ports[1]
	}
	return p.start()
}

// freePorts returns n different loopback TCP ports that were free a moment
// ago. It holds each until it has them all, so that no two are the same.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("testenv: pick a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// start runs redis-server on p.addr and waits until it is ready. On failure
// the process it started is stopped.
func (p *RedisProc) start() error {
	cmd := exec.Command(p.bin, p.args()...)
	cmd.Dir = p.dir
	proc := &process{cmd: cmd, stderr: new(bytes.Buffer), done: make(chan struct{})}
	cmd.Stderr = proc.stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testenv: run redis-server: %w", err)
	}
	go func() {
		_ = cmd.Wait()
		close(proc.done)
	}()
	if err := proc.waitReady(p.addr); err != nil {
		_ = proc.stop()
		return fmt.Errorf("%w\n%s", err, p.diagnostics(proc))
	}
	p.proc = proc
	return nil
}

// args returns redis-server's command line: persistence off, loopback only,
// and for a cluster node the cluster settings (see clusterArgs).
func (p *RedisProc) args() []string {
	_, port, _ := net.SplitHostPort(p.addr)
	args := []string{
		"--save", "", "--appendonly", "no",
		"--bind", "127.0.0.1", "--port", port,
		"--dir", p.dir, "--daemonize", "no",
		"--logfile", filepath.Join(p.dir, "redis.log"),
	}
	if p.cluster {
		args = append(args, clusterArgs(p.busPort)...)
	}
	return args
}

// stop stops the running server and forgets it.
func (p *RedisProc) stop() error {
	proc := p.proc
	p.proc = nil
	return proc.stop()
}

// diagnostics returns the end of redis-server's log file and, once the
// process has exited, its stderr.
func (p *RedisProc) diagnostics(proc *process) string {
	log, _ := os.ReadFile(filepath.Join(p.dir, "redis.log"))
	if len(log) > 2000 {
		log = log[len(log)-2000:]
	}
	stderr := "(still running)"
	select {
	case <-proc.done:
		stderr = proc.stderr.String()
	default:
	}
	return fmt.Sprintf("redis-server stderr:\n%s\nredis.log (end):\n%s", stderr, log)
}

// waitReady waits until the server answers PING on addr and reports this
// process's PID, so that a different server on the same port never counts.
func (proc *process) waitReady(addr string) error {
	deadline := time.Now().Add(startTimeout)
	for ping(addr, probeTimeout) != nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("testenv: redis-server at %s did not answer PING within %v", addr, startTimeout)
		}
		select {
		case <-proc.done:
			return fmt.Errorf("%w: it exited before answering PING on %s", errPortTaken, addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	pid, err := serverPID(addr, probeTimeout)
	if err != nil {
		return err
	}
	if pid != proc.cmd.Process.Pid {
		return fmt.Errorf("%w: %s is answered by pid %d, not ours (%d)", errPortTaken, addr, pid, proc.cmd.Process.Pid)
	}
	return nil
}

// stop sends SIGTERM, waits up to stopTimeout for the process to exit, then
// kills it. It returns an error only when the process had to be killed.
func (proc *process) stop() error {
	_ = proc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-proc.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = proc.cmd.Process.Kill()
	<-proc.done
	return fmt.Errorf("testenv: redis-server (pid %d) did not exit within %v of SIGTERM; killed it", proc.cmd.Process.Pid, stopTimeout)
}
