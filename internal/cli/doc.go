// Package cli implements the heed command: it dispatches a command line to a
// subcommand, which reads and writes the streams it is given and returns an
// exit status. cmd/heed only wires it to the process, so every subcommand is
// tested in-process.
//
// # Subcommands
//
// Run looks the first argument up in commands (cli.go). Each subcommand is a
// command value: a name, a one-line summary for heed help, a run function
// and a help function. A subcommand parses its own arguments with its own
// flag.FlagSet, whose errors it reports in one line on stderr with exit
// status 2 (see usageError). To add one, write its run and help functions in
// a file named after it (explain.go is the model) and add it to commands.
//
// # Exit status
//
// 0 when the command did its work (heed explain exits 0 whatever the
// response says), 1 when writing its output failed, 2 for a usage error or
// unreadable input, 130 when interrupted.
//
// # heed explain
//
// heed explain (explain.go) reads its input (input.go), an HTTP response
// head as curl -sI or curl -si prints it (readHead in head.go, a pure
// function from bytes to a quota.Response), parses it with quota.Parse and
// prints the verdict as text (render_text.go) or as one JSON object
// (render_json.go).
//
// # heed demo
//
// heed demo (demo.go) serves a mockapi.Server on a free loopback port and
// runs the same workload through each client in turn against a freshly
// reset mock (demo_run.go): a naive retry loop, go-retryablehttp with its
// defaults and heed's Transport (demo_clients.go). It shows one live line
// per client on a terminal (demo_progress.go), then a table or JSON of what
// the mock counted (demo_report.go). The clients run one after another, not
// at once, so that each has the machine to itself and the progress reads in
// order; the tests run one-second workloads the same way, each test with its
// own mock, in parallel with each other.
package cli
