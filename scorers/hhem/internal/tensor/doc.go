// Package tensor holds the float32 CPU kernels behind the pure-Go T5
// encoder: a cache-blocked, multi-core matrix multiply over weights packed
// once into column panels, and the element-wise math (exp, softmax, GELU)
// that sits between the multiplies.
//
// On amd64 with AVX2 and FMA the inner 6×16 tile and the exp run in Go
// assembly; everywhere else, or with HALLU_NOASM=1 in the environment, the
// same loops run in pure Go. Both paths are tested against each other.
package tensor
