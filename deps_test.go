package heed_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// heavy lists the import path prefixes that a program using only the root
// package, the memory store and a Config built in code must not link: the
// YAML reader and the Redis store (and what they import), the jobs' River
// and databases, Prometheus, gRPC (package heedgrpc's).
var heavy = []string{
	"github.com/heedhq/heed/config",
	"github.com/heedhq/heed/store/redis",
	"github.com/redis/go-redis",
	"go.yaml.in/yaml",
	"gopkg.in/yaml",
	"github.com/riverqueue",
	"modernc.org/sqlite",
	"github.com/jackc/pgx",
	"github.com/prometheus",
	"github.com/heedhq/heed/heedgrpc",
	"google.golang.org/grpc",
	"google.golang.org/genproto",
}

// TestMemoryOnlyProgramIsLight: testdata/memoryonly, a program that
// imports only the root package (a Config literal, the memory store, one
// Transport), links none of the heavy dependencies. It lives with the root
// package because it is a property of the root package's imports: a new
// import here is what would break it.
func TestMemoryOnlyProgramIsLight(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH (%v): cannot list the program's dependencies", err)
	}
	const prog = "./testdata/memoryonly"
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", prog).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", prog, err, stderrOf(err))
	}
	imports := make(map[string][]string) // by package, of every package linked
	var order []string
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		imports[fields[0]], order = fields[1:], append(order, fields[0])
	}
	main := order[len(order)-1] // go list -deps lists a package after its dependencies
	if got := nonStandard(imports[main]); !slices.Equal(got, []string{"github.com/heedhq/heed"}) {
		t.Fatalf("%s imports %v, want only github.com/heedhq/heed", prog, got)
	}
	for _, pkg := range order {
		if !isHeavy(pkg) {
			continue
		}
		var by []string
		for _, p := range order {
			if !isHeavy(p) && slices.Contains(imports[p], pkg) {
				by = append(by, p)
			}
		}
		if by != nil {
			t.Errorf("the program links %s, imported by %s", pkg, strings.Join(by, ", "))
		}
	}
	t.Logf("%s links %d packages", prog, len(order))
}

// isHeavy reports whether the package at path is one of heavy's.
func isHeavy(path string) bool {
	for _, prefix := range heavy {
		if strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}

// nonStandard returns the import paths of paths outside the standard
// library (whose first element has no dot).
func nonStandard(paths []string) []string {
	var out []string
	for _, p := range paths {
		if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
			out = append(out, p)
		}
	}
	return out
}

// stderrOf returns what a failed command wrote to its standard error.
func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
