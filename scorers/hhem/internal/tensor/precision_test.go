package tensor

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePrecision(t *testing.T) {
	for _, p := range []Precision{FP32, BF16, Int8} {
		got, err := ParsePrecision(p.String())
		require.NoError(t, err)
		require.Equal(t, p, got)
	}
	_, err := ParsePrecision("fp16")
	require.ErrorContains(t, err, "fp32, bf16 or int8")
	_, err = PackLinearAs(make([]float32, 5), 2, 3, Int8)
	require.ErrorContains(t, err, "want 2×3")
}

func TestBF16Bits(t *testing.T) {
	require.Equal(t, uint32(0x3f80), BF16Bits(1))
	// 1 + 2^-8 is halfway between 1 and the next bfloat16: ties to even.
	require.Equal(t, uint32(0x3f80), BF16Bits(math.Float32frombits(0x3f808000)))
	require.Equal(t, uint32(0x3f82), BF16Bits(math.Float32frombits(0x3f818000)))
	require.Equal(t, uint32(0x3f81), BF16Bits(math.Float32frombits(0x3f808001)))
	require.True(t, math.IsNaN(float64(bf16Float(BF16Bits(float32(math.NaN()))))))
}

// Every kernel path computes the reduced-precision products as the Go twin
// does (the assembly sums in another order, so bf16 differs by float32
// rounding; int8 sums exactly), and both stay within the error the
// rounding allows of the float64 product.
func TestQuantKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, prec := range []Precision{BF16, Int8} {
		for _, s := range pathShapes(r) {
			x := randSlice(r, s.m*s.k)
			w := randSlice(r, s.n*s.k)
			for i := range x {
				x[i] *= 3 // activations wider than the weights, as in the encoder
			}
			p, err := PackLinearAs(w, s.n, s.k, prec)
			require.NoError(t, err)
			require.Equal(t, prec, p.Precision())
			ldd := s.n + 3
			init := randSlice(r, s.m*ldd)
			paths := KernelPaths()
			got := make([][]float32, len(paths))
			for i, path := range paths {
				got[i] = append([]float32(nil), init...)
				withPath(t, path, func() {
					ParMatMul(got[i], ldd, x, s.k, s.m, p, true)
				})
				require.InDeltaSlice(t, toF64(got[0]), toF64(got[i]), 1e-5*float64(s.k), "%s path %s shape %+v", prec, path, s)
			}
			// Serial MatMul equals the parallel one.
			serial := append([]float32(nil), init...)
			MatMul(serial, ldd, x, s.k, s.m, p, true)
			require.InDeltaSlice(t, toF64(got[len(got)-1]), toF64(serial), 1e-5*float64(s.k))
			// Error bound against the exact product.
			for i := 0; i < s.m; i++ {
				var xmax float64
				for _, v := range x[i*s.k : (i+1)*s.k] {
					xmax = math.Max(xmax, math.Abs(float64(v)))
				}
				for j := 0; j < s.n; j++ {
					var exact, mag, wmax float64
					for k := 0; k < s.k; k++ {
						xv, wv := float64(x[i*s.k+k]), float64(w[j*s.k+k])
						exact += xv * wv
						mag += math.Abs(xv * wv)
						wmax = math.Max(wmax, math.Abs(wv))
					}
					bound := mag * (2.0 / 256) // two roundings of 8 significant bits
					if prec == Int8 {
						// Half a step of each operand's grid per term.
						bound = float64(s.k) * (xmax/254*wmax + wmax/254*xmax + xmax*wmax/254/254)
					}
					bound += 1e-5 * mag
					for pi := range paths {
						g := float64(got[pi][i*ldd+j] - init[i*ldd+j])
						require.InDelta(t, exact, g, bound, "%s %s shape %+v at %d,%d", prec, paths[pi], s, i, j)
					}
				}
			}
			p.Free()
		}
	}
}

// The activation converters agree across paths, bit for bit, ties
// included.
func TestActivationConverters(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 15, 16, 17, 100, 512} {
		x := randSlice(r, n)
		for i := range x {
			x[i] *= 5
		}
		x[0] = -4.5 // ×1 a tie: rounds to -4, as 2.5 would to 2
		if n > 1 {
			x[n-1] = 2.5
		}
		var q0 []byte
		var b0 []uint16
		var m0 float32
		for i, path := range KernelPaths() {
			q := make([]byte, n)
			b := make([]uint16, n)
			var m float32
			withPath(t, path, func() {
				m = absMax(x)
				quantI8(x, 1, q)
				toBF16(x, b)
			})
			if i == 0 {
				q0, b0, m0 = q, b, m
				require.Equal(t, byte(128-4), q[0])
				continue
			}
			require.Equal(t, m0, m, "path %s n=%d", path, n)
			require.Equal(t, q0, q, "path %s n=%d", path, n)
			require.Equal(t, b0, b, "path %s n=%d", path, n)
		}
	}
}
