//go:build amd64

package tensor

import "os"

func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)
func xgetbv0() (eax, edx uint32)

//go:noescape
func kernel6x16AVX2(kc int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool)

//go:noescape
func addMaxAVX2(x, b *float32, n int) float32

//go:noescape
func geluMulAVX2(a, b *float32, n int)

//go:noescape
func expSumAVX2(x *float32, n int, shift float32) float32

// hasAVX2FMA asks the CPU (and, through XCR0, the OS: it must save the
// YMM registers on context switches) whether AVX2 and FMA are usable.
func hasAVX2FMA() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv0(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

var useAsm = hasAVX2FMA() && os.Getenv("HALLU_NOASM") == ""

func kernel(kc int, a []float32, lda int, b []float32, c []float32, ldc int, acc bool) {
	if !useAsm {
		kernelGo(kc, a, lda, b, c, ldc, acc)
		return
	}
	// The assembly trusts its pointers; these bounds make a caller's
	// mistake a panic instead of memory corruption.
	_ = a[(tileRows-1)*lda+kc-1]
	_ = b[kc*PanelWidth-1]
	_ = c[(tileRows-1)*ldc+PanelWidth-1]
	kernel6x16AVX2(kc, &a[0], lda, &b[0], &c[0], ldc, acc)
}

func addMax(x, b []float32) float32 {
	n := len(x) &^ 7
	if !useAsm || n == 0 {
		return addMaxGo(x, b)
	}
	_ = b[len(x)-1]
	m := addMaxAVX2(&x[0], &b[0], n)
	if n < len(x) {
		m = max(m, addMaxGo(x[n:], b[n:]))
	}
	return m
}

func expSum(x []float32, shift float32) float32 {
	n := len(x) &^ 7
	if !useAsm || n == 0 {
		return expSumGo(x, shift)
	}
	s := expSumAVX2(&x[0], n, shift)
	if n < len(x) {
		s += expSumGo(x[n:], shift)
	}
	return s
}

func geluMul(a, b []float32) {
	n := len(a) &^ 7
	if !useAsm || n == 0 {
		geluMulGo(a, b)
		return
	}
	_ = b[len(a)-1]
	geluMulAVX2(&a[0], &b[0], n)
	if n < len(a) {
		geluMulGo(a[n:], b[n:])
	}
}
