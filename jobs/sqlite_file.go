package jobs

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// The SQLite database holds the jobs, their answers and their sealed
// credentials: it and its -wal and -shm files are kept readable only by
// their owner (0600). SQLite creates the -wal and -shm files with the
// permissions of the database file, so creating that one 0600 before
// SQLite opens it makes all three private; privateSQLite then checks them,
// and tightens the files an older heed created 0644.

// inMemory is the SQLite path of a database that has no file.
const inMemory = ":memory:"

// createSQLite creates the database file at path, empty and 0600, unless
// it exists.
func createSQLite(path string) error {
	if path == inMemory {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("jobs: create %s: %w", path, err)
	}
	return f.Close()
}

// privateSQLite makes sure that the database at path and its -wal and
// -shm files are readable and writable by their owner alone, removing the
// group's and others' permissions where it finds them.
func privateSQLite(path string, log *slog.Logger) error {
	if path == inMemory {
		return nil
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, perm&0o700); err != nil {
				return fmt.Errorf("jobs: %s is readable by others (%v) and could not be made private: %w", p, perm, err)
			}
			log.Warn("jobs: the database was readable by others; it is now its owner's alone", "file", p, "was", perm.String())
		}
	}
	return nil
}
