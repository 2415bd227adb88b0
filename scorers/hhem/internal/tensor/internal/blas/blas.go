//go:build openblas && cgo

package blas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

// OpenBLAS is told to stay on one thread: callers split the work across
// goroutines already, and its own threads would oversubscribe the cores.
func init() { C.openblas_set_num_threads(1) }

// Sgemm computes C = A·B + beta·C for row-major A (m×k), B (k×n), C (m×n).
// The pointers must cover those extents; the caller checks.
func Sgemm(m, n, k int, a *float32, lda int, b *float32, ldb int, beta float32, c *float32, ldc int) {
	C.cblas_sgemm(C.CblasRowMajor, C.CblasNoTrans, C.CblasNoTrans,
		C.blasint(m), C.blasint(n), C.blasint(k), 1,
		(*C.float)(a), C.blasint(lda), (*C.float)(b), C.blasint(ldb), C.float(beta),
		(*C.float)(c), C.blasint(ldc))
}
