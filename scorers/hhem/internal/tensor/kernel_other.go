//go:build !amd64 || purego

package tensor

// Without assembly (another architecture, or the purego build tag that
// Go projects use to ask for pure-Go code) only the Go loops exist.
func bestPath() int { return pathGo }

func kernel(kc int, a []float32, lda int, b []float32, c []float32, ldc int, acc bool) {
	kernelGo(kc, a, lda, b, c, ldc, acc)
}

func matmulTileFast(dst []float32, ldd int, x []float32, ldx, r0, r1 int, b *Packed, p0, p1 int, acc bool) bool {
	return false
}

func addMax(x, b []float32) float32 { return addMaxGo(x, b) }

func expSum(x []float32, shift float32) float32 { return expSumGo(x, shift) }

func geluMul(a, b []float32) { geluMulGo(a, b) }

func sumSq(x []float32) float64 { return sumSqGo(x) }

func scaleMul(dst, x, w []float32, r float32) { scaleMulGo(dst, x, w, r) }

func qKernel(prec Precision, steps int, a []uint32, b [2][]uint32, c []float32, ldc int, acc bool, ep *qEpilogue) {
	qKernelGo(prec, steps, a, b, c, ldc, acc, ep)
}

func parMatMulFast(dst []float32, ldd int, x []float32, ldx, m int, b *Packed, acc bool) bool {
	return false
}

func absMax(x []float32) float32 { return absMaxGo(x) }

func quantI8(x []float32, inv float32, out []byte) { quantI8Go(x, inv, out) }

func toBF16(x []float32, out []uint16) { toBF16Go(x, out) }
