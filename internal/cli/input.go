package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/heedhq/heed/quota"
)

// maxInput is how many bytes of input heed explain reads: room for a few
// heads and more body than quota.MaxBody. The rest is ignored.
const maxInput = 1 << 20

// emptyInputHint tells what heed explain wants when it got nothing.
const emptyInputHint = "pipe a response head into stdin, e.g. " +
	"curl -sI https://api.github.com/rate_limit | heed explain"

// readResponse reads and parses the input. On failure it reports on stderr
// and returns a nonzero exit status.
func readResponse(ctx context.Context, s streams, opts explainOptions) (quota.Response, int) {
	data, err := readInput(ctx, s, opts.file)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(s.stderr, "heed explain: interrupted")
		return quota.Response{}, exitInterrupted
	}
	if err != nil {
		fmt.Fprintf(s.stderr, "heed explain: %v\n", err)
		return quota.Response{}, exitUsage
	}
	resp, err := readHead(data)
	if err != nil {
		fmt.Fprintf(s.stderr, "heed explain: %s\n", describeHeadError(opts.file, err))
		return quota.Response{}, exitUsage
	}
	return resp, exitOK
}

// describeHeadError turns an error of readHead into a message that says
// what heed explain wants.
func describeHeadError(file string, err error) string {
	msg := err.Error() + ": want a response head as curl -sI or curl -si prints it"
	if errors.Is(err, errEmptyInput) {
		msg = err.Error() + ": " + emptyInputHint
	}
	if !isStdin(file) {
		msg = file + ": " + msg
	}
	return msg
}

// isStdin reports whether the file argument names stdin.
func isStdin(file string) bool { return file == "" || file == "-" }

// readInput reads at most maxInput bytes of the named file, or of stdin.
func readInput(ctx context.Context, s streams, file string) ([]byte, error) {
	if isStdin(file) {
		hintIfTerminal(s)
		return readAll(ctx, s.stdin)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(ctx, f)
}

// readAll reads at most maxInput bytes of r, giving up when ctx is done. A
// read that never returns is left behind in its goroutine: heed exits.
func readAll(ctx context.Context, r io.Reader) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := io.ReadAll(io.LimitReader(r, maxInput))
		done <- result{data, err}
	}()
	select {
	case res := <-done:
		return res.data, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hintIfTerminal tells a person who ran heed explain without a pipe what it
// is waiting for.
func hintIfTerminal(s streams) {
	f, ok := s.stdin.(*os.File)
	if !ok {
		return
	}
	if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
		fmt.Fprintln(s.stderr, "heed explain: reading a response head from the terminal; "+
			"paste it and press Ctrl-D, or "+emptyInputHint)
	}
}
