package readme

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pythonVerifyMain ends the file made of the Python block that defines
// verify: it prints what verify says of the secret, body and header its
// arguments hold (at the time it runs: the README's verify reads the
// clock).
const pythonVerifyMain = `
import sys
print(verify(sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3]))
`

// TestREADMEPython: the Python callback verify function accepts what jobs
// signs and rejects what it must; the other Python blocks (SDK clients,
// whose packages are not installed here) are valid Python.
func TestREADMEPython(t *testing.T) {
	t.Parallel()
	python := command(t, "python3", "install Python 3 (Debian: apt-get install python3)")
	verifiers := 0
	for _, b := range blocksIn(t, "python") {
		// Padded, the file's line numbers are README.md's.
		file := filepath.Join(t.TempDir(), fmt.Sprintf("README.md_l%d.py", b.Line))
		if !strings.Contains(b.Code, "def verify(") {
			writeFile(t, file, b.padded())
			if out, err := exec.Command(python, "-m", "py_compile", file).CombinedOutput(); err != nil {
				t.Errorf("%s: python3 -m py_compile: %v\n%s", b, err, out)
			}
			continue
		}
		verifiers++
		writeFile(t, file, b.padded()+pythonVerifyMain)
		checkVerifier(t, b, func(c callbackCase) (bool, error) {
			return runVerifier(exec.Command(python, file, string(c.secret), string(c.body), c.header))
		})
	}
	if verifiers != 1 {
		t.Errorf("%s has %d Python blocks defining verify, want 1: the callbacks section shows how to verify one", readmeName, verifiers)
	}
}

// writeFile writes data to the file name, failing t if it cannot.
func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
