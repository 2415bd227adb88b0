// Package tensor holds the float32 CPU kernels behind the pure-Go T5
// encoder: a cache-blocked, multi-core matrix multiply over weights packed
// once into column panels, and the element-wise math (exp, softmax, GELU)
// that sits between the multiplies.
//
// On amd64 with AVX2 and FMA (as golang.org/x/sys/cpu reports them) the
// inner 6×16 tile and the exp run in Go assembly; everywhere else the same
// loops run in pure Go. Two switches force the pure-Go loops on amd64: the
// purego build tag (go build -tags purego), which leaves the assembly out of
// the binary, and HALLU_NOASM=1 in the environment, which only skips it at
// run time. Both paths are tested against each other.
package tensor
