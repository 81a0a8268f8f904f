package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// These tests build the real heed binary once and run it as a user would.

var (
	// binDir holds the built binary; TestMain removes it.
	binDir string
	// buildOnce builds the binary for the first test that needs it.
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "heed-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// heedBinary returns the path of the built binary, building it once.
func heedBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		name := "heed"
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		binPath = filepath.Join(binDir, name)
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// run runs the binary with stdin and returns its exit status and output.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), heedBinary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("running heed: %v", err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// explanation is the part of heed explain --json's output these tests read.
type explanation struct {
	Status      int     `json:"status"`
	Vendor      string  `json:"vendor"`
	Limited     bool    `json:"limited"`
	WaitSeconds float64 `json:"wait_seconds"`
	WaitSource  string  `json:"wait_source"`
	Quotas      []any   `json:"quotas"`
	Warnings    []any   `json:"warnings"`
}

// explainJSON runs heed explain --json with stdin and decodes its output.
func explainJSON(t *testing.T, stdin string, args ...string) explanation {
	t.Helper()
	code, stdout, stderr := run(t, stdin, append([]string{"explain", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("exit status: got %d, want 0 (stderr %q)", code, stderr)
	}
	var e explanation
	if err := json.Unmarshal([]byte(stdout), &e); err != nil {
		t.Fatalf("stdout %q is not JSON: %v", stdout, err)
	}
	if e.Quotas == nil || e.Warnings == nil {
		t.Errorf("quotas and warnings must be arrays: %s", stdout)
	}
	return e
}

func TestExplainRetryAfter(t *testing.T) {
	t.Parallel()
	got := explainJSON(t, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 42\r\n\r\n")
	if got.Status != 429 || !got.Limited || got.WaitSeconds != 42 || got.WaitSource != "retry-after" {
		t.Errorf("got %+v, want status 429, limited, a 42s wait from retry-after", got)
	}
}

func TestExplainLastHeadOfCurlOutput(t *testing.T) {
	t.Parallel()
	in := "HTTP/1.1 200 Connection established\r\n\r\nHTTP/2 503 \r\ncontent-type: text/plain\r\n\r\ndown"
	if got := explainJSON(t, in); got.Status != 503 {
		t.Errorf("status: got %d, want 503", got.Status)
	}
}

func TestExplainEmptyInput(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run(t, "", "explain")
	if code != 2 {
		t.Errorf("exit status: got %d, want 2", code)
	}
	if !strings.HasPrefix(stderr, "heed explain: input is empty: pipe a response head into stdin") {
		t.Errorf("stderr: got %q, want the empty-input message", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout: got %q, want nothing", stdout)
	}
}

func TestExplainExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file        string
		wantStatus  int
		wantVendor  string
		wantLimited bool
	}{
		{"github-rate-limited.txt", 403, "github", true},
		{"openai-429.txt", 429, "openai", true},
		{"anthropic-200.txt", 200, "anthropic", false},
		{"anthropic-529-overloaded.txt", 529, "anthropic", false},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".txt"), func(t *testing.T) {
			t.Parallel()
			got := explainJSON(t, "", filepath.Join("..", "..", "examples", tt.file))
			if got.Status != tt.wantStatus || got.Vendor != tt.wantVendor || got.Limited != tt.wantLimited {
				t.Errorf("got %+v, want status %d, vendor %q, limited %v",
					got, tt.wantStatus, tt.wantVendor, tt.wantLimited)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	code, _, stderr := run(t, "", "frobnicate")
	if code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("got %d %q, want 2 and the unknown command named", code, stderr)
	}
}
