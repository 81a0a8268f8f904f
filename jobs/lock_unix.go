//go:build unix

package jobs

import (
	"errors"
	"os"
	"syscall"
)

// openLock opens (creating, 0600) and locks the file name with flock(2),
// exclusive and without waiting: errLocked when another process holds
// it. The kernel releases the lock when the file is closed or the process
// ends, however it ends. The lock is a file of its own, never the
// database, whose locks are SQLite's (fcntl, and on NFS flock is fcntl).
func openLock(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return f, nil
}
