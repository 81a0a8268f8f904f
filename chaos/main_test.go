package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

var (
	// binDir holds the heed binary the cases start; TestMain removes it.
	binDir string
	// buildOnce builds the binary for the first case that needs it.
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "heed-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	goredis.SetLogger(redisLogger{})
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// heedBinary returns the path of the real heed binary, built once (with
// the race detector when the suite runs under it, so that a data race in
// heed serve under a fault shows up in its stderr; see checkOutput).
func heedBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "heed")
		args := []string{"build", "-o", binPath}
		if raceDetector {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "github.com/heedhq/heed/cmd/heed")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// redisLogLines counts the lines go-redis logs through its own package
// logger ("redis: ... pool.go:...: failed to dial ..."), which heed's
// Redis store leaves at go-redis's default: straight to stderr, past
// heed's Logger and its rate limit. TestMain takes them so that a case's
// output stays readable; the Redis cases report how many came, and
// redisLogFirst keeps the first.
var (
	redisLogLines atomic.Int64
	redisLogFirst atomic.Pointer[string]
)

// redisLogger is go-redis's logger in this test binary: it counts.
type redisLogger struct{}

func (redisLogger) Printf(_ context.Context, format string, v ...any) {
	if redisLogLines.Add(1) == 1 {
		line := fmt.Sprintf(format, v...)
		redisLogFirst.Store(&line)
	}
}
