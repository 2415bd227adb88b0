// Package tensor holds the float32 CPU kernels behind the pure-Go T5
// encoder: a cache-blocked, multi-core matrix multiply over weights packed
// once into column panels, and the element-wise math (exp, softmax, GELU)
// that sits between the multiplies.
//
// On amd64 the matrix tile and the exp run in Go assembly, on the fastest
// path the CPU offers (as golang.org/x/sys/cpu reports it): tiles of up
// to 14 rows × 32 columns reading A in place with AVX-512, else a 6×16
// tile with AVX2 and FMA;
// everywhere else the same loops run in pure Go. Switches force a slower
// path: the purego build tag (go build -tags purego) leaves the assembly
// out of the binary; HALLU_KERNEL=go|avx2|avx512 in the environment picks
// a path at run time (HALLU_NOASM=1 is HALLU_KERNEL=go). All paths are
// tested against the pure-Go one.
package tensor
