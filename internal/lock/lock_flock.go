//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package lock

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// Supported reports whether locks exclude other processes on this system.
const Supported = true

// acquire opens the sidecar, takes a non-blocking exclusive flock and checks
// that the file it locked is still the one at the sidecar's path: a holder
// removes the sidecar before unlocking, so a process that opened the old
// file and then got its lock would hold a lock nobody else can see. Then it
// tries again with the new file; each retry means some other process took
// and gave back the lock meanwhile, so the loop is short in practice.
func acquire(target, sidecar string) (*Lock, error) {
	for range 100 {
		f, err := os.OpenFile(sidecar, os.O_RDWR|os.O_CREATE, 0o644) // O_CLOEXEC: children never inherit it
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", target, err)
		}
		if testHookOpened != nil {
			testHookOpened()
		}
		if err := flock(f); err != nil {
			pid := readPID(f)
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &HeldError{Path: target, PID: pid}
			}
			return nil, fmt.Errorf("lock %s: flock %s: %w", target, sidecar, err)
		}
		if same, err := samePath(f, sidecar); err != nil || !same {
			f.Close()
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("lock %s: %w", target, err)
			}
			continue
		}
		// A previous holder's PID may still be there: it is only ever
		// rewritten under the lock.
		if err := f.Truncate(0); err == nil {
			_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: writing pid to %s: %w", target, sidecar, err)
		}
		return &Lock{path: sidecar, f: f}, nil
	}
	return nil, fmt.Errorf("lock %s: %s keeps being replaced; is another program removing it?", target, sidecar)
}

// testHookOpened runs between opening the sidecar and locking it, where a
// test can play the holder that releases meanwhile.
var testHookOpened func()

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// samePath reports whether the open file f is the file now at path.
func samePath(f *os.File, path string) (bool, error) {
	a, err := f.Stat()
	if err != nil {
		return false, err
	}
	b, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return os.SameFile(a, b), nil
}
