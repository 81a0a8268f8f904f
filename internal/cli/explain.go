package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/heedhq/heed/quota"
)

// explainOptions are heed explain's flags and argument.
type explainOptions struct {
	// now is --now, or the zero Time when not given.
	now time.Time
	// status is --status, or 0 when not given.
	status int
	// host is --host, passed to quota.Parse as Response.Host.
	host string
	// json is --json.
	json bool
	// file is the input file; "" or "-" means stdin.
	file string
}

// explanation is what heed explain prints: the signal of one response and
// the moment its resets are measured from.
type explanation struct {
	signal quota.Signal
	// now is the moment the response was sent, or the current time.
	now time.Time
	// nowFrom says where now came from, e.g. "the Date header".
	nowFrom string
}

// runExplain runs heed explain [flags] [file].
func runExplain(ctx context.Context, s streams, args []string) int {
	opts, err := parseExplainArgs(args)
	if err != nil {
		return usageError(s, "explain", writeExplainHelp, err)
	}
	resp, code := readResponse(ctx, s, opts)
	if code != exitOK {
		return code
	}
	e := explain(resp, opts, time.Now())
	if err := writeExplanation(s.stdout, e, opts.json); err != nil {
		fmt.Fprintf(s.stderr, "heed explain: writing the result: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// explain parses resp as opts say; current is the time to use when neither
// --now nor a valid Date header gives one.
func explain(resp quota.Response, opts explainOptions, current time.Time) explanation {
	if opts.status != 0 {
		resp.Status = opts.status
	}
	resp.Host = opts.host
	now, from := referenceTime(opts.now, resp.Header, current)
	return explanation{signal: quota.Parse(resp, now), now: now, nowFrom: from}
}

// referenceTime picks the moment resets are measured from: flagNow when
// set, else the response's Date header when it is a valid HTTP-date, else
// current. It also says which one it picked.
func referenceTime(flagNow time.Time, h http.Header, current time.Time) (time.Time, string) {
	if !flagNow.IsZero() {
		return flagNow, "--now"
	}
	date := h.Get("Date")
	if date == "" {
		return current, "the current time"
	}
	if t, err := http.ParseTime(date); err == nil {
		return t, "the Date header"
	}
	return current, "the current time; the Date header is not an HTTP-date"
}

// writeExplanation writes e as text or, when asJSON, as one JSON object.
func writeExplanation(w io.Writer, e explanation, asJSON bool) error {
	if asJSON {
		return writeJSON(w, e)
	}
	return writeText(w, e)
}

// parseExplainArgs parses heed explain's command line. Flags may come
// before or after the file; after "--" everything is the file.
func parseExplainArgs(args []string) (explainOptions, error) {
	var opts explainOptions
	fs := newExplainFlags(&opts)
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return opts, err
		}
		rest := fs.Args()
		if len(rest) == 0 || endedByDashes(args, rest) {
			files = append(files, rest...)
			break
		}
		files, args = append(files, rest[0]), rest[1:]
	}
	if len(files) > 1 {
		return opts, errors.New("too many arguments: want at most one file")
	}
	if len(files) == 1 {
		opts.file = files[0]
	}
	return opts, nil
}

// endedByDashes reports whether flag parsing of args stopped at "--",
// leaving rest.
func endedByDashes(args, rest []string) bool {
	i := len(args) - len(rest) - 1
	return i >= 0 && args[i] == "--"
}

// newExplainFlags returns heed explain's flag set, storing into opts.
func newExplainFlags(opts *explainOptions) *flag.FlagSet {
	fs := newFlagSet("explain")
	fs.Func("now", "measure resets from `RFC3339` time "+
		"(default: the response's Date header, else the current time)", opts.setNow)
	fs.Func("status", "use status code `N`, overriding the input's status line", opts.setStatus)
	fs.StringVar(&opts.host, "host", "", "the API's host `NAME`, e.g. api.github.com; "+
		"it decides the vendor before the headers' shape does")
	fs.BoolVar(&opts.json, "json", false, "print one JSON object on one line instead of text")
	return fs
}

// setNow sets --now from an RFC 3339 time.
func (o *explainOptions) setNow(value string) error {
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return errors.New("want an RFC 3339 time such as 2026-04-14T09:12:18Z")
	}
	o.now = t
	return nil
}

// setStatus sets --status from a status code.
func (o *explainOptions) setStatus(value string) error {
	n, err := strconv.Atoi(value)
	if err != nil || n < 100 || n > 999 {
		return errors.New("want a status code from 100 to 999")
	}
	o.status = n
	return nil
}

// writeExplainHelp writes the help of heed explain.
func writeExplainHelp(w io.Writer) {
	fmt.Fprint(w, `usage: heed explain [flags] [file]

Explain reads an HTTP response head from file, or from stdin, and says what
it tells about the caller's quota: whether the request was refused by a
limit, how long to wait before the next request can succeed, and every quota
the response describes.

	curl -sI https://api.github.com/rate_limit | heed explain
	curl -si https://api.example.com/v1/things | heed explain --json
	heed explain --host api.openai.com response.txt

The input is what curl -sI or curl -si prints. The status line is optional
(give --status instead); when curl printed several heads (100 Continue, a
proxy's Connection established, redirects) the last one is read; a body
after the blank line is read too, for limits reported in it.

Resets are explained relative to when the response was sent: --now defaults
to the response's own Date header, else the current time.

Exit status: 0 when the input was read, whatever it says; 2 when the command
line or the input is not usable.

flags:
`)
	var opts explainOptions
	writeDefaults(w, newExplainFlags(&opts))
}
