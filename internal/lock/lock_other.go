//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package lock

import (
	"fmt"
	"os"
	"strconv"
)

// Supported reports whether locks exclude other processes on this system.
// Here they do not: without flock a crashed holder would leave a lock file
// that blocks every later run, which is worse than no lock. The sidecar is
// still written, so a user can see who claims the file.
const Supported = false

func acquire(target, sidecar string) (*Lock, error) {
	f, err := os.OpenFile(sidecar, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", target, err)
	}
	if _, err := f.WriteString(strconv.Itoa(os.Getpid()) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: writing pid to %s: %w", target, sidecar, err)
	}
	return &Lock{path: sidecar, f: f}, nil
}
