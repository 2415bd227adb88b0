// Package lock keeps two hallu processes from writing the same output file
// or run directory: each takes an exclusive advisory lock on a sidecar file
// first, and the second fails at once, naming the holder's PID.
//
// The lock is flock(2) on the sidecar, so the kernel drops it when the
// holder exits, however it exits: a lock file left by a killed process does
// not block anyone. The PID written inside is for the message only. Advisory
// means it binds hallu processes, not other programs writing the same file.
package lock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DirLockName is the sidecar a run directory is locked through.
const DirLockName = ".hallu.lock"

// HeldError says another process holds the lock.
type HeldError struct {
	Path string // the output file or directory asked for, not the sidecar
	PID  int    // the holder as its lock file names it; 0 when not yet written
}

func (e *HeldError) Error() string {
	switch {
	case e.PID == os.Getpid():
		return fmt.Sprintf("%s is already in use by this process", e.Path)
	case e.PID <= 0:
		return fmt.Sprintf("%s is in use by another hallu (pid unknown); wait for it or stop it", e.Path)
	}
	return fmt.Sprintf("%s is in use by another hallu (pid %d); wait for it or stop it", e.Path, e.PID)
}

// Lock is a held lock; Release gives it back.
type Lock struct {
	path string   // the sidecar
	f    *os.File // nil once released
}

// Acquire locks the output file path through the sidecar PATH.lock, which
// it creates beside it. It does not wait: if another process holds the lock
// it returns a *HeldError.
func Acquire(path string) (*Lock, error) {
	return acquire(path, path+".lock")
}

// AcquireDir locks the run directory dir through dir/.hallu.lock, creating
// dir if needed. A directory and a file inside it lock independently.
func AcquireDir(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return acquire(dir, filepath.Join(dir, DirLockName))
}

// Path is the sidecar file the lock is held through.
func (l *Lock) Path() string { return l.path }

// Release removes the sidecar and drops the lock. Calling it again is a
// no-op. Removing before unlocking is what lets a waiting process notice it
// locked a file no longer in place (see acquire).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	var err error
	if !Supported {
		f.Close() // some systems cannot remove an open file
	}
	if err = os.Remove(l.path); errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if Supported {
		if cerr := f.Close(); err == nil { // closing drops the flock
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}

// readPID reads the PID a holder wrote; 0 when absent or unreadable.
func readPID(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil {
		return 0
	}
	return pid
}
