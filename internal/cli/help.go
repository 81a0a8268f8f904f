package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// runHelp runs heed help [command]: heed's overview, or one command's help,
// on stdout.
func runHelp(_ context.Context, s streams, args []string) int {
	fs := newFlagSet("help")
	if err := fs.Parse(args); err != nil {
		return usageError(s, "help", writeHelpHelp, err)
	}
	switch fs.NArg() {
	case 0:
		writeUsage(s.stdout)
		return exitOK
	case 1:
		return helpOn(s, fs.Arg(0))
	}
	return usageError(s, "help", writeHelpHelp, errors.New("too many arguments: want at most one command"))
}

// helpOn writes the help of the named command on stdout.
func helpOn(s streams, name string) int {
	c, ok := lookup(name)
	if !ok {
		return usageError(s, "help", writeHelpHelp, fmt.Errorf("unknown command %q", name))
	}
	c.help(s.stdout)
	return exitOK
}

// writeHelpHelp writes the help of heed help.
func writeHelpHelp(w io.Writer) {
	fmt.Fprint(w, `usage: heed help [command]

Help shows heed's overview and its commands, or the full help of one command.
`)
}

// runVersion runs heed version: heed's module version and the Go version it
// was built with, on stdout.
func runVersion(_ context.Context, s streams, args []string) int {
	fs := newFlagSet("version")
	if err := fs.Parse(args); err != nil {
		return usageError(s, "version", writeVersionHelp, err)
	}
	if fs.NArg() > 0 {
		return usageError(s, "version", writeVersionHelp, errors.New("takes no arguments"))
	}
	fmt.Fprintf(s.stdout, "heed %s (%s)\n", moduleVersion(), runtime.Version())
	return exitOK
}

// moduleVersion returns the version of heed's module this binary was built
// from, e.g. "v0.3.1", or "devel" for a build from a source tree.
func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "devel"
	}
	return info.Main.Version
}

// writeVersionHelp writes the help of heed version.
func writeVersionHelp(w io.Writer) {
	fmt.Fprint(w, `usage: heed version

Version prints heed's module version ("devel" when built from a source tree)
and the Go version it was built with.
`)
}
