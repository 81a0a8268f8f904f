package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

// Exit statuses returned by Run.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// streams are the standard streams a command reads and writes.
type streams struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand of heed.
type command struct {
	// name is the word that selects the command: heed <name>.
	name string
	// summary is the command's one-line description in heed help.
	summary string
	// run runs the command with the arguments after its name and returns
	// the exit status.
	run func(ctx context.Context, s streams, args []string) int
	// help writes the command's full help.
	help func(w io.Writer)
}

// commands lists heed's subcommands in the order heed help shows them.
func commands() []command {
	return []command{
		{name: "explain", summary: "say what an HTTP response head tells about the caller's quota",
			run: runExplain, help: writeExplainHelp},
		{name: "mock", summary: "run a rate-limited fake API to test clients against",
			run: runMock, help: writeMockHelp},
		{name: "serve", summary: "run the rate-limit sidecar: heed's pacing for clients in any language, with a dashboard",
			run: runServe, help: writeServeHelp},
		{name: "demo", summary: "show a naive client, go-retryablehttp and heed against a rate-limited API",
			run: runDemo, help: writeDemoHelp},
		{name: "help", summary: "show help for heed or one of its commands",
			run: runHelp, help: writeHelpHelp},
		{name: "version", summary: "print heed's version",
			run: runVersion, help: writeVersionHelp},
	}
}

// lookup finds the command with the given name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// Run runs the heed command line args (without the program name), reading
// stdin and writing stdout and stderr, and returns the process's exit
// status: 0 on success, 1 when output could not be written, 2 for a usage
// error or unreadable input, 130 when ctx was cancelled while reading input.
// Long-running subcommands (heed mock) serve until ctx is cancelled.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := streams{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		writeUsage(stderr)
		return exitUsage
	}
	if isHelpFlag(args[0]) {
		writeUsage(stdout)
		return exitOK
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "heed: unknown command %q\n\n", args[0])
		writeUsage(stderr)
		return exitUsage
	}
	return c.run(ctx, s, args[1:])
}

// isHelpFlag reports whether arg asks for help before any command.
func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// writeUsage writes heed's overview and its list of commands.
func writeUsage(w io.Writer) {
	fmt.Fprint(w, `heed makes programs good API citizens: it paces calls under an API's quota
and makes every worker that shares a quota wait when the API says wait.

usage: heed <command> [arguments]

commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, "\nRun \"heed help <command>\" for details.\n")
}

// usageError reports a bad command line of the named command. A request for
// help (-h) prints the command's help on stderr and exits 0, as the flag
// package does; anything else is one line on stderr and exit status 2.
func usageError(s streams, name string, help func(io.Writer), err error) int {
	if errors.Is(err, flag.ErrHelp) {
		help(s.stderr)
		return exitOK
	}
	fmt.Fprintf(s.stderr, "heed %s: %v (see heed help %s)\n", name, err, name)
	return exitUsage
}

// newFlagSet returns a flag set for the named command that reports nothing
// itself: usageError reports its errors, and help functions print its
// defaults.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("heed "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// writeDefaults writes fs's flags and their descriptions to w.
func writeDefaults(w io.Writer, fs *flag.FlagSet) {
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
