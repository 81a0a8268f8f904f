package readme

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestREADMEJavaScript: every js block of README.md is valid JavaScript as
// an ES module (node --check parses it; the packages it imports, such as
// Octokit, need not be installed).
func TestREADMEJavaScript(t *testing.T) {
	t.Parallel()
	node := command(t, "node", "install Node.js (Debian: apt-get install nodejs)")
	for _, b := range blocksIn(t, "js") {
		// Padded, the file's line numbers are README.md's.
		file := filepath.Join(t.TempDir(), fmt.Sprintf("README.md_l%d.mjs", b.Line))
		writeFile(t, file, b.padded())
		if out, err := exec.Command(node, "--check", file).CombinedOutput(); err != nil {
			t.Errorf("%s: node --check: %v\n%s", b, err, out)
		}
	}
}
