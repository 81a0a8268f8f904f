// Package readme holds the test that keeps README.md's snippets working:
// every fenced block is checked by its language, so that a snippet that no
// longer compiles, parses or verifies fails the tests, and so does a block
// in a language that no check knows.
//
//   - go: each block compiles against this module, in one go build of a
//     package per block, made in a temporary overlay (nothing is written
//     into the source tree). The callback verify function also runs,
//     against signatures made by jobs.Sign.
//   - yaml: each block parses with config.Parse and serve.ParseConfig and
//     validates.
//   - python: the callback verify function runs under python3 against the
//     same signatures; the other blocks are byte-compiled (py_compile).
//   - js: each block passes node --check as an ES module.
//   - sh, console and blocks with no language are shown, not run.
//
// A Go block that is a declaration (it starts with func, type, var or
// const) is a file as it is. Any other Go block is the body of the
// function that an HTML comment on the line before its fence spells out,
// "..." standing for the block; GitHub does not show it:
//
//	<!-- snippet: func(client *http.Client, req *http.Request) error { ...; return nil } -->
//
// The parameters are the free names the prose promises (client, req, t),
// and imports are added for the package names a block uses (importPaths).
// Failures name README.md's lines.
//
// The package has no code of its own. The test lives here, apart from the
// root package's tests, because it imports every surface the README shows
// (config, serve, jobs, mockapi) and runs the go command, python3 and
// node: go test ./internal/readme checks the README alone, in seconds.
package readme
