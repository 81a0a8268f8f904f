package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestRedisStop(t *testing.T) {
	t.Parallel()
	p := RedisServer(t)
	if err := ping(p.Addr(), probeTimeout); err != nil {
		t.Fatalf("PING %s: got %v, want PONG", p.Addr(), err)
	}
	p.Stop(t)
	if conn, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		conn.Close()
		t.Fatalf("dial %s after Stop: got a connection, want the port closed", p.Addr())
	}
}

func TestRedisRestart(t *testing.T) {
	t.Parallel()
	p := RedisServer(t)
	addr := p.Addr()
	before := pidOf(t, addr)
	p.Stop(t)
	p.Start(t)
	if p.Addr() != addr {
		t.Fatalf("Addr after restart: got %s, want %s", p.Addr(), addr)
	}
	if err := ping(addr, probeTimeout); err != nil {
		t.Fatalf("PING after restart: got %v, want PONG", err)
	}
	if after := pidOf(t, addr); after == before {
		t.Fatalf("pid after restart: got %d, want a new process", after)
	}
}

func TestRedisTwoInstances(t *testing.T) {
	t.Parallel()
	a, b := Redis(t), Redis(t)
	if a == b {
		t.Fatalf("two instances share address %s, want different ports", a)
	}
	if pa, pb := pidOf(t, a), pidOf(t, b); pa == pb {
		t.Fatalf("two instances share pid %d, want two processes", pa)
	}
}

func TestRedisAddrIsLoopback(t *testing.T) {
	t.Parallel()
	addr := Redis(t)
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" || port == "6379" {
		t.Fatalf("Redis() = %q, want 127.0.0.1 on a private port", addr)
	}
}

// pidOf returns the process ID the Redis at addr reports.
func pidOf(t *testing.T, addr string) int {
	t.Helper()
	pid, err := serverPID(addr, probeTimeout)
	if err != nil {
		t.Fatalf("INFO server at %s: %v", addr, err)
	}
	return pid
}

func TestMissingService(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		required bool
		wantFail bool
	}{
		{"NotRequiredSkips", false, false},
		{"RequiredFails", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, fail := missingService("redis-server", redisHint, tt.required)
			if fail != tt.wantFail {
				t.Errorf("fail: got %v, want %v", fail, tt.wantFail)
			}
			want := "redis-server not found: install it (Debian: apt-get install redis-server) or run ./scripts/test, which does"
			if !strings.HasPrefix(msg, want) {
				t.Errorf("message: got %q, want it to start with %q", msg, want)
			}
		})
	}
}

// childEnv marks the test binary run by TestRedisMissingBinary.
const childEnv = "HEED_TESTENV_CHILD"

// TestRedisMissingBinaryChild calls Redis with an empty PATH. It only runs
// inside TestRedisMissingBinary, whose subprocess checks how it ends.
func TestRedisMissingBinaryChild(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("runs only as a subprocess of TestRedisMissingBinary")
	}
	t.Setenv("PATH", t.TempDir())
	Redis(t)
	t.Log("REACHED: Redis returned without a binary")
}

func TestRedisMissingBinary(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		require string
		wantOK  bool
		want    string
	}{
		{"Skips", "", true, "--- SKIP: TestRedisMissingBinaryChild"},
		{"SkipsUnlessExactlyOne", "true", true, "--- SKIP: TestRedisMissingBinaryChild"},
		{"FailsWhenRequired", "1", false, "--- FAIL: TestRedisMissingBinaryChild"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(exe, "-test.run=^TestRedisMissingBinaryChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"=1", RequireEnv+"="+tt.require,
				"GORACE=atexit_sleep_ms=0")
			out, err := cmd.CombinedOutput()
			if gotOK := err == nil; gotOK != tt.wantOK {
				t.Errorf("child succeeded: got %v (%v), want %v", gotOK, err, tt.wantOK)
			}
			for _, want := range []string{tt.want, "redis-server not found: install it"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("child output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(string(out), "REACHED") {
				t.Errorf("child went on after Redis with no binary:\n%s", out)
			}
		})
	}
}

// TestWaitReadyRejectsForeignServer checks that a server answering on the
// port with another process ID does not count as ours.
func TestWaitReadyRejectsForeignServer(t *testing.T) {
	t.Parallel()
	addr := fakeRedis(t, 1)
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	proc := &process{cmd: &exec.Cmd{Process: self}, done: make(chan struct{})}
	if err := proc.waitReady(addr); !errors.Is(err, errPortTaken) {
		t.Fatalf("waitReady on a foreign server: got %v, want errPortTaken", err)
	}
}

// fakeRedis serves PING and INFO, reporting process ID pid, on a loopback
// port until the test ends, and returns its address.
func fakeRedis(t *testing.T, pid int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go serveFake(conn, pid)
		}
	}()
	return l.Addr().String()
}

// serveFake answers one command on conn: PONG, or an INFO reply with pid.
func serveFake(conn net.Conn, pid int) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	header, err := r.ReadString('\n')
	if err != nil {
		return
	}
	var n int
	fmt.Sscanf(header, "*%d", &n)
	var name string
	for i := 0; i < 2*n; i++ {
		line, _ := r.ReadString('\n')
		if i == 1 {
			name = strings.TrimSpace(line)
		}
	}
	if name == "PING" {
		fmt.Fprint(conn, "+PONG\r\n")
		return
	}
	body := fmt.Sprintf("# Server\r\nprocess_id:%d\r\n", pid)
	fmt.Fprintf(conn, "$%d\r\n%s\r\n", len(body), body)
}
