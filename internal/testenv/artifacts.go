package testenv

import (
	"os"
	"testing"
)

// ArtifactsEnv is the environment variable naming the directory where tests
// keep files for people to look at after the run, such as screenshots.
// ./scripts/test sets it to the repository's artifacts/ directory.
const ArtifactsEnv = "HEED_ARTIFACTS"

// ArtifactDir returns the directory where the test should keep files for
// people to look at: ArtifactsEnv's directory, created if missing, or when
// the variable is empty t.TempDir(), which is removed when the test ends.
// Tests that share the directory must give their files distinct names.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testenv: %s: %v", ArtifactsEnv, err)
	}
	return dir
}
