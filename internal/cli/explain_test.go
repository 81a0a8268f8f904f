package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseExplainArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    explainOptions
		wantErr string // a part of the error, or "" for none
	}{
		{"None", nil, explainOptions{}, ""},
		{"All", []string{"--now", "2026-04-14T11:12:18+02:00", "--status", "429", "--host", "api.github.com", "--json", "head.txt"},
			explainOptions{now: sent, status: 429, host: "api.github.com", json: true, file: "head.txt"}, ""},
		{"FlagsAfterFile", []string{"head.txt", "-json"}, explainOptions{json: true, file: "head.txt"}, ""},
		{"Stdin", []string{"-"}, explainOptions{file: "-"}, ""},
		{"FileAfterDashes", []string{"--", "-json"}, explainOptions{file: "-json"}, ""},
		{"TwoFiles", []string{"a.txt", "b.txt"}, explainOptions{}, "too many arguments"},
		{"BadNow", []string{"--now", "yesterday"}, explainOptions{}, `invalid value "yesterday" for flag -now`},
		{"DateNotTime", []string{"--now", "2026-04-14"}, explainOptions{}, "RFC 3339"},
		{"BadStatus", []string{"--status", "abc"}, explainOptions{}, "status code from 100 to 999"},
		{"StatusOutOfRange", []string{"--status", "1000"}, explainOptions{}, "status code from 100 to 999"},
		{"UnknownFlag", []string{"--wait"}, explainOptions{}, "flag provided but not defined: -wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseExplainArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error: got %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseExplainArgs: %v", err)
			}
			if !got.now.Equal(tt.want.now) {
				t.Errorf("now: got %v, want %v", got.now, tt.want.now)
			}
			got.now, tt.want.now = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseExplainArgsHelp(t *testing.T) {
	t.Parallel()
	if _, err := parseExplainArgs([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("got %v, want flag.ErrHelp", err)
	}
}

func TestReferenceTime(t *testing.T) {
	t.Parallel()
	current := sent.Add(time.Hour)
	flagNow := sent.Add(2 * time.Hour)
	tests := []struct {
		name     string
		flagNow  time.Time
		date     string
		want     time.Time
		wantFrom string
	}{
		{"FlagWins", flagNow, "Tue, 14 Apr 2026 09:12:18 GMT", flagNow, "--now"},
		{"DateHeader", time.Time{}, "Tue, 14 Apr 2026 09:12:18 GMT", sent, "the Date header"},
		{"DateHeaderRFC850", time.Time{}, "Tuesday, 14-Apr-26 09:12:18 GMT", sent, "the Date header"},
		{"NoDateHeader", time.Time{}, "", current, "the current time"},
		{"BadDateHeader", time.Time{}, "yesterday", current, "the current time; the Date header is not an HTTP-date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.date != "" {
				h.Set("Date", tt.date)
			}
			got, from := referenceTime(tt.flagNow, h, current)
			if !got.Equal(tt.want) || from != tt.wantFrom {
				t.Errorf("got %v (%s), want %v (%s)", got, from, tt.want, tt.wantFrom)
			}
		})
	}
}

func TestExplainStatusFlagOverridesStatusLine(t *testing.T) {
	t.Parallel()
	got := runHeed(t.Context(), "HTTP/1.1 200 OK\r\n\r\n", "explain", "--json", "--status", "503")
	if got.code != 0 {
		t.Fatalf("exit status: got %d, want 0 (stderr %q)", got.code, got.stderr)
	}
	var out struct{ Status int }
	if err := json.Unmarshal([]byte(got.stdout), &out); err != nil {
		t.Fatalf("stdout %q is not JSON: %v", got.stdout, err)
	}
	if out.Status != 503 {
		t.Errorf("status: got %d, want 503", out.Status)
	}
}

func TestExplainReadsFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "head.txt")
	if err := os.WriteFile(path, []byte("HTTP/2 404 \r\n\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := runHeed(t.Context(), "stdin is not read", "explain", path)
	if got.code != 0 || got.stdout != "404 not found: nothing says to wait\n" {
		t.Errorf("got %d %q (stderr %q), want 0 and the 404's verdict", got.code, got.stdout, got.stderr)
	}
}

func TestExplainUnusableInput(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.txt")
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantStderr string
	}{
		{"Empty", "", nil, "heed explain: input is empty: pipe a response head into stdin, e.g. curl -sI"},
		{"BlankLines", "\r\n\r\n", nil, "heed explain: input is empty"},
		{"BodyOnly", `{"message":"API rate limit exceeded"}`, nil,
			"heed explain: line 1: neither a status line nor a header"},
		{"MissingFile", "", []string{missing}, "heed explain: open " + missing},
		{"BadNow", "HTTP/1.1 200 OK\n", []string{"--now", "noon"}, "heed explain: invalid value \"noon\" for flag -now"},
		{"BadStatus", "HTTP/1.1 200 OK\n", []string{"--status", "OK"}, "heed explain: invalid value \"OK\" for flag -status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runHeed(t.Context(), tt.stdin, append([]string{"explain"}, tt.args...)...)
			if got.code != 2 {
				t.Errorf("exit status: got %d, want 2", got.code)
			}
			if !strings.HasPrefix(got.stderr, tt.wantStderr) || strings.Count(got.stderr, "\n") != 1 {
				t.Errorf("stderr: got %q, want one line starting %q", got.stderr, tt.wantStderr)
			}
			if got.stdout != "" {
				t.Errorf("stdout: got %q, want nothing", got.stdout)
			}
		})
	}
}

func TestExplainInterrupted(t *testing.T) {
	t.Parallel()
	stdin, w := io.Pipe() // never written: the read blocks
	t.Cleanup(func() { w.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stdout, stderr strings.Builder
	code := Run(ctx, []string{"explain"}, stdin, &stdout, &stderr)
	if code != exitInterrupted || stderr.String() != "heed explain: interrupted\n" {
		t.Errorf("got %d %q, want %d and a note on stderr", code, stderr.String(), exitInterrupted)
	}
}

// errWriter fails every write.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestExplainOutputFails(t *testing.T) {
	t.Parallel()
	var stderr strings.Builder
	code := Run(t.Context(), []string{"explain"}, strings.NewReader("HTTP/1.1 200 OK\n"), errWriter{}, &stderr)
	if code != exitFailure || !strings.Contains(stderr.String(), "broken pipe") {
		t.Errorf("got %d %q, want %d and the write error", code, stderr.String(), exitFailure)
	}
}

// FuzzExplain checks that no input makes heed explain panic, that it exits
// 0 or 2, and that with --json it prints one valid JSON object.
func FuzzExplain(f *testing.F) {
	examples, _ := filepath.Glob("../../examples/*.txt")
	for _, path := range examples {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 42\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var stdout, stderr strings.Builder
		args := []string{"explain", "--json", "--now", "2026-04-14T09:12:18Z"}
		code := Run(t.Context(), args, strings.NewReader(string(data)), &stdout, &stderr)
		if code == exitUsage {
			return
		}
		if code != exitOK || !json.Valid([]byte(stdout.String())) || strings.Count(stdout.String(), "\n") != 1 {
			t.Fatalf("got %d %q (stderr %q), want 0 and one line of JSON", code, stdout.String(), stderr.String())
		}
		runHeed(t.Context(), string(data), "explain")
	})
}
