package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChromiumMissingMessage(t *testing.T) {
	t.Parallel()
	msg, fail := missingService("chromium", chromiumHint, true)
	want := "chromium not found: install it (Debian: apt-get install chromium) or run ./scripts/test, which does"
	if !fail || !strings.HasPrefix(msg, want) {
		t.Errorf("missingService: got %q, %v; want a failure starting with %q", msg, fail, want)
	}
}

func TestChromium(t *testing.T) {
	t.Parallel()
	path := Chromium(t)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		t.Errorf("Chromium() = %q, mode %v: want an executable file", path, info.Mode())
	}
}

func TestArtifactDir(t *testing.T) {
	t.Run("FromEnv", func(t *testing.T) {
		want := filepath.Join(t.TempDir(), "artifacts")
		t.Setenv(ArtifactsEnv, want)
		if got := ArtifactDir(t); got != want {
			t.Errorf("ArtifactDir: got %q, want %q", got, want)
		}
		if info, err := os.Stat(want); err != nil || !info.IsDir() {
			t.Errorf("ArtifactDir did not create %s: %v", want, err)
		}
	})
	t.Run("TempDirWhenUnset", func(t *testing.T) {
		t.Setenv(ArtifactsEnv, "")
		dir := ArtifactDir(t)
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			t.Errorf("ArtifactDir() = %q: %v, want an existing directory", dir, err)
		}
	})
}
