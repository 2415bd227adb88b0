//go:build openblas && cgo

package tensor

// With the openblas build tag (go build -tags openblas; needs the C
// library and headers, Debian's libopenblas-dev) the products run through
// cblas_sgemm on plain row-major B, one OpenBLAS thread per goroutine.

import "github.com/hallu-eval/hallu/scorers/hhem/internal/tensor/internal/blas"

func packedSize(k, n int) int { return k * n }

// panelLayout is false: B is row-major here, for cblas_sgemm.
const panelLayout = false

// PackNK stores B = Wᵀ (W n×k with row stride ldw) row-major.
func (p *Packed) PackNK(w []float32, ldw int) {
	for k := 0; k < p.K; k++ {
		dst := p.data[k*p.N : (k+1)*p.N]
		for j := range dst {
			dst[j] = w[j*ldw+k]
		}
	}
}

// PackKN stores B (k×n with row stride ldb) row-major.
func (p *Packed) PackKN(b []float32, ldb int) {
	for k := 0; k < p.K; k++ {
		copy(p.data[k*p.N:(k+1)*p.N], b[k*ldb:k*ldb+p.N])
	}
}

// matmulTile computes rows [r0,r1) × the columns of panels [p0,p1).
func matmulTile(dst []float32, ldd int, x []float32, ldx, r0, r1 int, b *Packed, p0, p1 int, acc bool) {
	c0, c1 := p0*PanelWidth, min(b.N, p1*PanelWidth)
	m, n := r1-r0, c1-c0
	if m <= 0 || n <= 0 || b.K == 0 {
		return
	}
	// Bounds the C library cannot check.
	_ = x[(r1-1)*ldx+b.K-1]
	_ = dst[(r1-1)*ldd+c1-1]
	beta := float32(0)
	if acc {
		beta = 1
	}
	blas.Sgemm(m, n, b.K, &x[r0*ldx], ldx, &b.data[c0], b.N, beta, &dst[r0*ldd+c0], ldd)
}
