package cli_test

import (
	"context"
	"os"
	"strings"

	"github.com/heedhq/heed/internal/cli"
)

// Run explains a response head as heed explain does when one is piped in.
func ExampleRun() {
	head := "HTTP/1.1 429 Too Many Requests\r\n" +
		"Date: Tue, 14 Apr 2026 09:12:18 GMT\r\n" +
		"Retry-After: 42\r\n\r\n"
	cli.Run(context.Background(), []string{"explain"}, strings.NewReader(head), os.Stdout, os.Stderr)
	// Output: 429 rate limited: wait 42s (retry-after)
}

// With --json the same explanation is one JSON object on one line.
func ExampleRun_json() {
	head := "HTTP/1.1 429 Too Many Requests\r\n" +
		"Date: Tue, 14 Apr 2026 09:12:18 GMT\r\n" +
		"Retry-After: 42\r\n\r\n"
	cli.Run(context.Background(), []string{"explain", "--json"}, strings.NewReader(head), os.Stdout, os.Stderr)
	// Output: {"status":429,"limited":true,"cause":"rate_limit","wait_helps":true,"wait_seconds":42,"wait_source":"retry-after","quotas":[],"warnings":[]}
}
