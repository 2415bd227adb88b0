package safetensors

import (
	"os"
	"syscall"
)

// release drops whole pages inside [begin, end) of a mapping from memory.
func release(b []byte, begin, end int64) {
	ps := int64(os.Getpagesize())
	begin = (begin + ps - 1) / ps * ps
	end = end / ps * ps
	if end > begin {
		_ = syscall.Madvise(b[begin:end], syscall.MADV_DONTNEED)
	}
}
