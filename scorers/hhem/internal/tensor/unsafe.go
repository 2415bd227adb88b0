package tensor

import "unsafe"

// bytesAsFloats views page-aligned mapped memory as float32s (native
// order: the mapping is private scratch, never a file).
func bytesAsFloats(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}
