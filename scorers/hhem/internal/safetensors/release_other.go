//go:build !linux

package safetensors

// release is a no-op where madvise is not offered by package syscall.
func release([]byte, int64, int64) {}
