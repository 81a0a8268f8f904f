package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// result is what one in-process run of heed produced.
type result struct {
	code   int
	stdout string
	stderr string
}

// runHeed runs heed's command line args in-process with stdin.
func runHeed(ctx context.Context, stdin string, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := Run(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestRunDispatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // a part of stdout, or "" for none at all
		wantStderr string // a part of stderr, or "" for none at all
	}{
		{"NoArguments", nil, 2, "", "usage: heed <command>"},
		{"UnknownCommand", []string{"serve-me"}, 2, "", `heed: unknown command "serve-me"`},
		{"HelpFlag", []string{"--help"}, 0, "usage: heed <command>", ""},
		{"Help", []string{"help"}, 0, "explain", ""},
		{"HelpListsEveryCommand", []string{"help"}, 0, "version", ""},
		{"HelpOnExplain", []string{"help", "explain"}, 0, "usage: heed explain", ""},
		{"HelpOnUnknown", []string{"help", "nope"}, 2, "", `heed help: unknown command "nope"`},
		{"HelpTooManyArguments", []string{"help", "explain", "version"}, 2, "", "too many arguments"},
		{"Version", []string{"version"}, 0, "heed ", ""},
		{"VersionWithArgument", []string{"version", "now"}, 2, "", "heed version: takes no arguments"},
		{"ExplainDashH", []string{"explain", "-h"}, 0, "", "usage: heed explain"},
		{"VersionDashH", []string{"version", "-h"}, 0, "", "usage: heed version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runHeed(t.Context(), "", tt.args...)
			if got.code != tt.wantCode {
				t.Errorf("exit status: got %d, want %d (stderr %q)", got.code, tt.wantCode, got.stderr)
			}
			checkOutput(t, "stdout", got.stdout, tt.wantStdout)
			checkOutput(t, "stderr", got.stderr, tt.wantStderr)
		})
	}
}

// checkOutput checks that got contains want, or is empty when want is.
func checkOutput(t *testing.T, stream, got, want string) {
	t.Helper()
	if want == "" && got != "" {
		t.Errorf("%s: got %q, want nothing", stream, got)
	}
	if !strings.Contains(got, want) {
		t.Errorf("%s: got %q, want it to contain %q", stream, got, want)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		var b bytes.Buffer
		c.help(&b)
		if !strings.HasPrefix(b.String(), "usage: heed "+c.name) {
			t.Errorf("help of %s: got %q, want it to start with its usage", c.name, b.String())
		}
		if c.summary == "" || c.run == nil {
			t.Errorf("command %s has no summary or no run function", c.name)
		}
	}
}
