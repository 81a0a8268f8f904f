package readme

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// importPaths maps the package names README.md's Go blocks use to their
// import paths. A block that names a package not listed here fails to
// compile with "undefined: name": add the package.
var importPaths = map[string]string{
	"config":     "github.com/heedhq/heed/config",
	"heed":       "github.com/heedhq/heed",
	"jobs":       "github.com/heedhq/heed/jobs",
	"mockapi":    "github.com/heedhq/heed/mockapi",
	"prom":       "github.com/heedhq/heed/metrics/prom",
	"prometheus": "github.com/prometheus/client_golang/prometheus",
	"quota":      "github.com/heedhq/heed/quota",
	"serve":      "github.com/heedhq/heed/serve",
	"context":    "context",
	"errors":     "errors",
	"fmt":        "fmt",
	"hex":        "encoding/hex",
	"hmac":       "crypto/hmac",
	"http":       "net/http",
	"httptest":   "net/http/httptest",
	"io":         "io",
	"json":       "encoding/json",
	"os":         "os",
	"sha256":     "crypto/sha256",
	"slog":       "log/slog",
	"strconv":    "strconv",
	"strings":    "strings",
	"testing":    "testing",
	"time":       "time",
}

// generatedDir is where, relative to the module root, the packages made of
// README.md's Go blocks are: they exist only in go build's overlay, one
// directory per block, named after the line of its fence (l97).
const generatedDir = "internal/readme/generated"

// goSnippet is a Go block made a package of its own.
type goSnippet struct {
	block
	// Files maps the package's file names to their sources.
	Files map[string]string
	// Verify reports that the block declares verify, the callback
	// receiver's check: the package is then a program that runs it (see
	// verifyMain).
	Verify bool
}

// Dir returns the package's directory, relative to the module root.
func (s goSnippet) Dir() string {
	return fmt.Sprintf("%s/l%d", generatedDir, s.Line)
}

// verifyMain is the second file of a block that declares verify: it prints
// what verify says of the secret, body and header its arguments hold, at
// the Unix time of the fourth.
const verifyMain = `package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	now, err := strconv.ParseInt(os.Args[4], 10, 64)
	if err != nil {
		panic(err)
	}
	fmt.Println(verify([]byte(os.Args[1]), []byte(os.Args[2]), os.Args[3], time.Unix(now, 0)))
}
`

// newGoSnippet makes block b a package: wrapped as its annotation says,
// with the imports it needs.
func newGoSnippet(b block) (goSnippet, error) {
	before, after, err := wrapping(b)
	if err != nil {
		return goSnippet{}, err
	}
	src := goSource(b, "snippet", nil, before, after)
	f, err := parser.ParseFile(token.NewFileSet(), "", src, 0)
	if err != nil {
		var all strings.Builder // every error, not the first alone; their positions are README.md's
		scanner.PrintError(&all, err)
		return goSnippet{}, fmt.Errorf("%s does not parse:\n%s", b, all.String())
	}
	s := goSnippet{block: b, Verify: declaresFunc(f, "verify")}
	pkg := "snippet"
	if s.Verify {
		pkg = "main"
	}
	s.Files = map[string]string{"snippet.go": goSource(b, pkg, importsOf(f), before, after)}
	if s.Verify {
		s.Files["main.go"] = verifyMain
	}
	return s, nil
}

// wrapping returns the code around block b: nothing for a declaration,
// else the function its annotation spells, split at its last "...", which
// stands for the block.
func wrapping(b block) (before, after string, err error) {
	if b.Wrap == "" {
		if isDeclaration(b.Code) {
			return "", "", nil
		}
		return "", "", fmt.Errorf("%s: a block of statements needs the function it is the body of, on the line before its fence, "+
			"with ... for the block: <!-- snippet: func(client *http.Client) error { ...; return nil } -->", b)
	}
	i := strings.LastIndex(b.Wrap, "...")
	if !strings.HasPrefix(b.Wrap, "func(") || i < 0 {
		return "", "", fmt.Errorf("%s: the snippet annotation %q is not a function literal with ... for the block", b, b.Wrap)
	}
	return "func snippet" + b.Wrap[len("func"):i], b.Wrap[i+len("..."):], nil
}

// isDeclaration reports whether code is Go declarations: its first word
// is func, type, var or const.
func isDeclaration(code string) bool {
	word, _, _ := strings.Cut(strings.TrimSpace(code), " ")
	return slices.Contains([]string{"func", "type", "var", "const"}, word)
}

// goSource returns block b as a Go file of package pkg: the imports, then
// the block between before and after. //line comments give the block its
// README.md lines and the code around it the line of its annotation, so
// that the compiler's messages name README.md's lines.
func goSource(b block, pkg string, imports []string, before, after string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "// Code generated from %s by internal/readme's test. DO NOT EDIT.\n\npackage %s\n\n", readmeName, pkg)
	for _, path := range imports {
		fmt.Fprintf(&s, "import %q\n", path)
	}
	if before != "" {
		fmt.Fprintf(&s, "//line %s:%d:1\n%s\n", readmeName, b.Line-1, before)
	}
	fmt.Fprintf(&s, "//line %s:%d:1\n%s", readmeName, b.Line+1, b.Code)
	if after != "" {
		fmt.Fprintf(&s, "//line %s:%d:1\n%s\n", readmeName, b.Line-1, after)
	}
	return s.String()
}

// importsOf returns the import paths, sorted, of the packages in
// importPaths that f names without declaring them.
func importsOf(f *ast.File) []string {
	var paths []string
	for _, id := range f.Unresolved {
		if path, ok := importPaths[id.Name]; ok && !slices.Contains(paths, path) {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	return paths
}

// declaresFunc reports whether f declares the function name.
func declaresFunc(f *ast.File, name string) bool {
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == name {
			return true
		}
	}
	return false
}

// writeOverlay writes the snippets' files to a temporary directory and
// returns the go build overlay that puts them in the module, in
// generatedDir, without writing into the source tree.
func writeOverlay(t *testing.T, snippets []goSnippet) string {
	t.Helper()
	root, tmp := moduleRoot(t), t.TempDir()
	if _, err := os.Stat(filepath.Join(root, generatedDir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s must not exist: the test builds README.md's Go blocks there through an overlay (%v)", generatedDir, err)
	}
	replace := map[string]string{}
	for _, s := range snippets {
		for name, src := range s.Files {
			disk := filepath.Join(tmp, fmt.Sprintf("l%d_%s", s.Line, name))
			writeFile(t, disk, src)
			replace[filepath.Join(root, s.Dir(), name)] = disk
		}
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(tmp, "overlay.json")
	writeFile(t, path, string(overlay))
	return path
}

// goBuild runs go build with overlay and args in the module root; the go
// command's output is the error. Given several packages and no -o, it
// compiles them all, reports every one that fails, and keeps no program.
func goBuild(t *testing.T, overlay string, args ...string) error {
	t.Helper()
	gobin := command(t, "go", "install Go (https://go.dev/dl/)")
	cmd := exec.Command(gobin, append([]string{"build", "-overlay", overlay}, args...)...)
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

// TestREADMEGo: every Go block of README.md compiles against this module,
// in one go build, and the callback verify function accepts what jobs
// signs and rejects what it must.
func TestREADMEGo(t *testing.T) {
	t.Parallel()
	var snippets []goSnippet
	var pkgs []string
	for _, b := range blocksIn(t, "go") {
		s, err := newGoSnippet(b)
		if err != nil {
			t.Error(err) // and build the others
			continue
		}
		snippets = append(snippets, s)
		pkgs = append(pkgs, "./"+s.Dir())
	}
	if len(pkgs) == 0 {
		return // none parses: reported above
	}
	overlay := writeOverlay(t, snippets)
	if err := goBuild(t, overlay, pkgs...); err != nil {
		t.Fatalf("README.md's Go blocks do not compile: %v", err)
	}
	verifiers := 0
	for _, s := range snippets {
		if !s.Verify {
			continue
		}
		verifiers++
		// Compiled above: this links it. (With -o, one go build for every
		// block would stop at the first that fails.)
		prog := filepath.Join(t.TempDir(), "verify")
		if err := goBuild(t, overlay, "-o", prog, "./"+s.Dir()); err != nil {
			t.Fatalf("%s: %v", s.block, err)
		}
		checkVerifier(t, s.block, func(c callbackCase) (bool, error) {
			return runVerifier(exec.Command(prog, string(c.secret), string(c.body), c.header, strconv.FormatInt(c.now.Unix(), 10)))
		})
	}
	if verifiers != 1 {
		t.Errorf("%s has %d Go blocks declaring verify, want 1: the callbacks section shows how to verify one", readmeName, verifiers)
	}
}

// TestGoBlockErrorsNameREADMELines: a Go block that does not compile fails
// the build with the compiler's message at the block's README.md line, and
// the build leaves nothing in the source tree.
func TestGoBlockErrorsNameREADMELines(t *testing.T) {
	t.Parallel()
	b := block{Lang: "go", Line: 40, Code: "x := time.Second\n", Wrap: "func() { ... }"}
	s, err := newGoSnippet(b)
	if err != nil {
		t.Fatalf("newGoSnippet: %v", err)
	}
	err = goBuild(t, writeOverlay(t, []goSnippet{s}), "./"+s.Dir())
	const want = "README.md:41:1: declared and not used: x"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error containing %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(moduleRoot(t), generatedDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after the build, %s: got %v, want it not to exist", generatedDir, err)
	}
}

// TestGoBlockWrapping: a declaration needs no annotation, statements do,
// and the annotation is a function literal whose last ... is the block.
func TestGoBlockWrapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		b             block
		before, after string
		wantErr       bool
	}{
		{"Declaration", block{Code: "func verify() bool { return true }\n"}, "", "", false},
		{"Body", block{Code: "x()\n", Wrap: "func(args ...string) error { ...; return nil }"}, "func snippet(args ...string) error { ", "; return nil }", false},
		{"StatementsWithoutAnnotation", block{Code: "x()\n"}, "", "", true},
		{"NotAFunction", block{Code: "x()\n", Wrap: "body"}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before, after, err := wrapping(tt.b)
			if (err != nil) != tt.wantErr || before != tt.before || after != tt.after {
				t.Errorf("got %q, %q, %v; want %q, %q, error %v", before, after, err, tt.before, tt.after, tt.wantErr)
			}
		})
	}
}
