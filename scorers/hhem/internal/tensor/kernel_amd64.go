//go:build amd64 && !purego

package tensor

import "golang.org/x/sys/cpu"

//go:noescape
func kernel6x16AVX2(kc int, a *float32, lda int, b *float32, c *float32, ldc int, acc bool)

//go:noescape
func addMaxAVX2(x, b *float32, n int) float32

//go:noescape
func geluMulAVX2(a, b *float32, n int)

//go:noescape
func expSumAVX2(x *float32, n int, shift float32) float32

//go:noescape
func addMaxAVX512(x, b *float32, n int) float32

//go:noescape
func expSumAVX512(x *float32, n int, shift float32) float32

//go:noescape
func geluMulAVX512(a, b *float32, n int)

//go:noescape
func sumSqAVX2(x *float32, n int) float64

//go:noescape
func scaleMulAVX2(dst, x, w *float32, r float32, n int)

// hasAVX2FMA reports whether the AVX2 and FMA instructions the kernels use
// are usable. cpu.X86.HasAVX2 already includes the OS's consent (XCR0 says
// it saves the YMM registers on context switches), which covers FMA's
// registers too.
func hasAVX2FMA() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// hasAVX512 reports whether the AVX-512 foundation instructions are usable
// (x/sys/cpu checks that the OS saves the ZMM and mask registers).
func hasAVX512() bool { return hasAVX2FMA() && cpu.X86.HasAVX512F }

func bestPath() int {
	switch {
	case hasAVX512():
		return pathAVX512
	case hasAVX2FMA():
		return pathAVX2
	}
	return pathGo
}

// useAsm says whether the element-wise assembly runs: AVX2, or on the
// AVX-512 path the 16-lane versions where there are any (softmax and
// GELU) and the AVX2 ones elsewhere (the norms, a percent of a pass).
func useAsm() bool { return kernelPath >= pathAVX2 }

func kernel(kc int, a []float32, lda int, b []float32, c []float32, ldc int, acc bool) {
	if !useAsm() {
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

// elemSpan is how many leading values of n the element-wise assembly
// takes (a whole number of its vectors) and whether the 16-lane AVX-512
// versions run; 0 leaves all n to the Go loops.
func elemSpan(n int) (int, bool) {
	switch {
	case kernelPath == pathAVX512 && n >= 16:
		return n &^ 15, true
	case useAsm():
		return n &^ 7, false
	}
	return 0, false
}

func addMax(x, b []float32) float32 {
	n, wide := elemSpan(len(x))
	if n == 0 {
		return addMaxGo(x, b)
	}
	_ = b[len(x)-1]
	var m float32
	if wide {
		m = addMaxAVX512(&x[0], &b[0], n)
	} else {
		m = addMaxAVX2(&x[0], &b[0], n)
	}
	if n < len(x) {
		m = max(m, addMaxGo(x[n:], b[n:]))
	}
	return m
}

func expSum(x []float32, shift float32) float32 {
	n, wide := elemSpan(len(x))
	if n == 0 {
		return expSumGo(x, shift)
	}
	var s float32
	if wide {
		s = expSumAVX512(&x[0], n, shift)
	} else {
		s = expSumAVX2(&x[0], n, shift)
	}
	if n < len(x) {
		s += expSumGo(x[n:], shift)
	}
	return s
}

func geluMul(a, b []float32) {
	n, wide := elemSpan(len(a))
	if n == 0 {
		geluMulGo(a, b)
		return
	}
	_ = b[len(a)-1]
	if wide {
		geluMulAVX512(&a[0], &b[0], n)
	} else {
		geluMulAVX2(&a[0], &b[0], n)
	}
	if n < len(a) {
		geluMulGo(a[n:], b[n:])
	}
}

func sumSq(x []float32) float64 {
	n := len(x) &^ 7
	if !useAsm() || n == 0 {
		return sumSqGo(x)
	}
	s := sumSqAVX2(&x[0], n)
	if n < len(x) {
		s += sumSqGo(x[n:])
	}
	return s
}

func scaleMul(dst, x, w []float32, r float32) {
	n := len(x) &^ 7
	if !useAsm() || n == 0 {
		scaleMulGo(dst, x, w, r)
		return
	}
	_, _ = dst[len(x)-1], w[len(x)-1]
	scaleMulAVX2(&dst[0], &x[0], &w[0], r, n)
	if n < len(x) {
		scaleMulGo(dst[n:], x[n:], w[n:], r)
	}
}
