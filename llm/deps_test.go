package llm

import (
	"go/build"
	"strings"
	"testing"
)

// TestImportsStayLight: llm is imported by heed's root package, so it
// imports only the standard library, and no I/O package (net, os, net/http):
// the exact tokenizer lives in llm/tiktoken.
func TestImportsStayLight(t *testing.T) {
	t.Parallel()
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if strings.Contains(first, ".") || imp == "net" || strings.HasPrefix(imp, "net/") || imp == "os" || imp == "os/exec" {
			t.Errorf("llm imports %s", imp)
		}
	}
}
