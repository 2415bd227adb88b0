//go:build amd64 && !purego

package tensor

import "golang.org/x/sys/cpu"

//go:generate python3 genq.py
//go:generate python3 genf.py

//go:noescape
func kernel14x32BF16(steps int, a, b0, b1 *uint32, c *float32, ldc int, acc bool)

//go:noescape
func kernel14x16BF16(steps int, a, b *uint32, c *float32, ldc int, acc bool)

//go:noescape
func kernel14x32VNNI(steps int, a, b0, b1 *uint32, c *float32, ldc int, acc bool, sa *float32, corr *int32, scale *float32)

//go:noescape
func kernel14x16VNNI(steps int, a, b *uint32, c *float32, ldc int, acc bool, sa *float32, corr *int32, scale *float32)

// The reduced-precision instructions, beyond AVX-512 F.
var (
	hasBF16 = cpu.X86.HasAVX512BF16
	hasVNNI = cpu.X86.HasAVX512VNNI
)

// qKernel runs the reduced-precision tile in assembly on the AVX-512 path
// when the CPU has the instruction, else the Go twin (same arithmetic,
// much slower).
func qKernel(prec Precision, steps int, a []uint32, b [2][]uint32, c []float32, ldc int, acc bool, ep *qEpilogue) {
	asm := kernelPath == pathAVX512 && steps > 0 && (prec == BF16 && hasBF16 || prec == Int8 && hasVNNI)
	if !asm {
		qKernelGo(prec, steps, a, b, c, ldc, acc, ep)
		return
	}
	// Bounds the assembly cannot check.
	w := PanelWidth
	if b[1] != nil {
		w = 2 * PanelWidth
		_ = b[1][steps*PanelWidth-1]
	}
	_ = a[steps*mrQ-1]
	_ = b[0][steps*PanelWidth-1]
	_ = c[(mrQ-1)*ldc+w-1]
	if prec == BF16 {
		if b[1] == nil {
			kernel14x16BF16(steps, &a[0], &b[0][0], &c[0], ldc, acc)
		} else {
			kernel14x32BF16(steps, &a[0], &b[0][0], &b[1][0], &c[0], ldc, acc)
		}
		return
	}
	_, _, _ = ep.sa[mrQ-1], ep.corr[w-1], ep.scale[w-1]
	if b[1] == nil {
		kernel14x16VNNI(steps, &a[0], &b[0][0], &c[0], ldc, acc, &ep.sa[0], &ep.corr[0], &ep.scale[0])
	} else {
		kernel14x32VNNI(steps, &a[0], &b[0][0], &b[1][0], &c[0], ldc, acc, &ep.sa[0], &ep.corr[0], &ep.scale[0])
	}
}

//go:noescape
func absMaxAVX512(x *float32, n int) float32

//go:noescape
func quantI8AVX512(x *float32, n int, inv float32, out *byte)

//go:noescape
func toBF16AVX512(x *float32, n int, out *uint16)

// The activation converters: assembly on the AVX-512 path for whole
// 16-value vectors, Go for the rest.

func absMax(x []float32) float32 {
	n := len(x) &^ 15
	if kernelPath != pathAVX512 || n == 0 {
		return absMaxGo(x)
	}
	return max(absMaxAVX512(&x[0], n), absMaxGo(x[n:]))
}

func quantI8(x []float32, inv float32, out []byte) {
	n := len(x) &^ 15
	if kernelPath != pathAVX512 || n == 0 {
		quantI8Go(x, inv, out)
		return
	}
	_ = out[len(x)-1]
	quantI8AVX512(&x[0], n, inv, &out[0])
	quantI8Go(x[n:], inv, out[n:])
}

func toBF16(x []float32, out []uint16) {
	n := len(x) &^ 15
	if kernelPath != pathAVX512 || n == 0 {
		toBF16Go(x, out)
		return
	}
	_ = out[len(x)-1]
	toBF16AVX512(&x[0], n, &out[0])
	toBF16Go(x[n:], out[n:])
}
