// Package blas binds OpenBLAS's cblas_sgemm for the tensor package's
// openblas build tag. Without the tag (or without cgo) it is empty. It is a
// package of its own because a cgo package cannot hold Go assembly.
package blas
