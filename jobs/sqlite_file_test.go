//go:build unix

package jobs_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/heedhq/heed/internal/testenv"
	"github.com/heedhq/heed/jobs"
)

// TestSQLiteFilesArePrivate: a new database and its -wal and -shm files
// are created 0600 whatever the umask; an older heed's 0644 files are
// made 0600, with a warning.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o002) // the most permissive umask in common use; not parallel: the umask is the process's
	t.Cleanup(func() { syscall.Umask(old) })
	tests := []struct {
		name   string
		before os.FileMode // 0: no file before
		warns  bool
	}{
		{"New", 0, false},
		{"ReadableByOthers", 0o644, true},
		{"Private", 0o600, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "jobs.db")
			if tt.before != 0 {
				if err := os.WriteFile(path, nil, tt.before); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.before); err != nil {
					t.Fatal(err)
				}
			}
			var log testenv.Buffer
			rec := newRecorder(t)
			startEngine(t, jobs.Options{Database: "sqlite://" + path, Transport: http.DefaultTransport,
				Upstreams: map[string]string{"billing": rec.srv.URL}, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			for _, suffix := range []string{"", "-wal", "-shm"} {
				fi, err := os.Stat(path + suffix)
				if err != nil {
					t.Fatalf("%s: %v", suffix, err)
				}
				if perm := fi.Mode().Perm(); perm != 0o600 {
					t.Errorf("jobs.db%s: got %v, want -rw-------", suffix, perm)
				}
			}
			if warned := bytes.Contains(log.Bytes(), []byte("readable by others")); warned != tt.warns {
				t.Errorf("warned %v, want %v; log:\n%s", warned, tt.warns, log.Bytes())
			}
		})
	}
}
