package tensor

import (
	"fmt"
	"os"
	"strings"
)

// Kernel paths, slowest first. Each is tested against pathGo.
const (
	pathGo = iota
	pathAVX2
	pathAVX512
)

var pathNames = []string{"go", "avx2", "avx512"}

// kernelPath is the path the kernels take: the fastest the CPU supports,
// unless HALLU_KERNEL names a slower one (or HALLU_NOASM=1 asks for go).
var kernelPath = initialPath()

func initialPath() int {
	best := bestPath()
	if os.Getenv("HALLU_NOASM") != "" {
		return pathGo
	}
	if v := strings.ToLower(os.Getenv("HALLU_KERNEL")); v != "" {
		for p, n := range pathNames {
			if n == v && p <= best {
				return p
			}
		}
	}
	return best
}

// RequestedPathError says why HALLU_KERNEL could not be honoured: it names
// an unknown path or one this CPU or build lacks. The kernels then run the
// fastest path there is, so a benchmark labelled by HALLU_KERNEL would time
// the wrong one; the scorer refuses to open instead.
func RequestedPathError() error {
	v := strings.ToLower(os.Getenv("HALLU_KERNEL"))
	if v == "" || os.Getenv("HALLU_NOASM") != "" {
		return nil
	}
	for _, n := range KernelPaths() {
		if n == v {
			return nil
		}
	}
	return fmt.Errorf("HALLU_KERNEL=%s: not a kernel path this CPU and build can run (have %s)", v, strings.Join(KernelPaths(), ", "))
}

// KernelPath names the kernels in use: go, avx2 or avx512.
func KernelPath() string { return pathNames[kernelPath] }

// KernelPaths lists the paths this CPU and build can run, slowest first.
func KernelPaths() []string { return pathNames[:bestPath()+1] }

// SetKernelPath switches the kernels to a path KernelPaths lists, for
// tests and benchmarks that compare paths. It is not safe to call while a
// product runs.
func SetKernelPath(name string) error {
	for p, n := range pathNames[:bestPath()+1] {
		if n == name {
			kernelPath = p
			return nil
		}
	}
	return fmt.Errorf("tensor: kernel path %q not available here (have %s)", name, strings.Join(KernelPaths(), ", "))
}
