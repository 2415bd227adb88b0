//go:build unix

package tensor

import "syscall"

func mapFloats(n int) ([]float32, func(), error) {
	b, err := syscall.Mmap(-1, 0, n*4, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, nil, err
	}
	return bytesAsFloats(b), func() { _ = syscall.Munmap(b) }, nil
}
