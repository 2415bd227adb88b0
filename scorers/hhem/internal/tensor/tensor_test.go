package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// naive computes X·Wᵀ in float64 for W in [n, k] layout.
func naive(x []float32, m, k int, w []float32, n int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for t := 0; t < k; t++ {
				s += float64(x[i*k+t]) * float64(w[j*k+t])
			}
			out[i*n+j] = s
		}
	}
	return out
}

func requireClose(t *testing.T, want []float64, got []float32, ld, m, n int, tol float64) {
	t.Helper()
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			w, g := want[i*n+j], float64(got[i*ld+j])
			require.InDelta(t, w, g, tol, "row %d col %d", i, j)
		}
	}
}

var shapes = []struct{ m, k, n int }{
	{1, 1, 1}, {1, 32, 2}, {5, 7, 3}, {6, 16, 16}, {7, 33, 17},
	{13, 64, 48}, {72, 300, 40}, {150, 513, 70}, {3, 768, 130},
}

func TestMatMulMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapes {
		x := randSlice(r, s.m*s.k)
		w := randSlice(r, s.n*s.k)
		want := naive(x, s.m, s.k, w, s.n)
		p, err := PackLinear(w, s.n, s.k)
		require.NoError(t, err)
		ldd := s.n + 3 // a wider destination must keep its extra columns
		for _, par := range []bool{false, true} {
			dst := make([]float32, s.m*ldd)
			for i := range dst {
				dst[i] = 42
			}
			if par {
				ParMatMul(dst, ldd, x, s.k, s.m, p, false)
			} else {
				MatMul(dst, ldd, x, s.k, s.m, p, false)
			}
			requireClose(t, want, dst, ldd, s.m, s.n, 5e-7*float64(s.k))
			for i := 0; i < s.m; i++ {
				for j := s.n; j < ldd; j++ {
					require.Equal(t, float32(42), dst[i*ldd+j], "padding column overwritten")
				}
			}
			// Accumulating adds the same product again.
			if par {
				ParMatMul(dst, ldd, x, s.k, s.m, p, true)
			} else {
				MatMul(dst, ldd, x, s.k, s.m, p, true)
			}
			twice := make([]float64, len(want))
			for i, v := range want {
				twice[i] = 2 * v
			}
			requireClose(t, twice, dst, ldd, s.m, s.n, 1e-6*float64(s.k))
		}
		p.Free()
	}
}

func TestPackKNEqualsPackNK(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const k, n = 37, 21
	w := randSlice(r, n*k) // [n, k]
	wt := make([]float32, k*n)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			wt[j*n+i] = w[i*k+j]
		}
	}
	a := NewPacked(k, n, false)
	a.PackNK(w, k)
	b := &Packed{}
	b.Reset(k, n)
	b.PackKN(wt, n)
	require.Equal(t, a.data, b.data)
}

func TestExpf(t *testing.T) {
	for x := float32(-87); x < 88; x += 0.173 {
		want := math.Exp(float64(x))
		require.InDelta(t, want, float64(Expf(x)), 3e-7*want, "x=%v", x)
	}
	require.Equal(t, float32(0), Expf(-1000))
}

func TestBiasExpAndGelu(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 7, 8, 9, 64, 100} {
		x := randSlice(r, n)
		for i := range x {
			x[i] *= 20
		}
		b := randSlice(r, n)
		orig := append([]float32(nil), x...)
		sum := BiasExp(x, b)
		m := math.Inf(-1)
		for i := range orig {
			m = math.Max(m, float64(orig[i]+b[i]))
		}
		var want float64
		for i := range orig {
			e := math.Exp(float64(orig[i]+b[i]) - m)
			want += e
			require.InDelta(t, e, float64(x[i]), 1e-6, "n=%d i=%d", n, i)
		}
		require.InDelta(t, want, float64(sum), 1e-5*want)
	}
	a := []float32{-1000, -50, -10, -3, -0.5, -1e-4, 0, 1e-4, 0.7, 2, 9, 50, 1000}
	g := append([]float32(nil), a...)
	ones := make([]float32, len(a))
	for i := range ones {
		ones[i] = 1
	}
	GeluTanhMul(g, ones)
	for i, x := range a {
		xf := float64(x)
		want := 0.5 * xf * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(xf+0.044715*xf*xf*xf)))
		require.InDelta(t, want, float64(g[i]), 1e-6, "x=%v", x)
	}
}

func TestRMSNorm(t *testing.T) {
	x := []float32{1, -2, 3, 4}
	w := []float32{1, 2, 0.5, -1}
	dst := make([]float32, 4)
	RMSNorm(dst, x, w, 1e-6)
	r := 1 / math.Sqrt((1+4+9+16)/4.0+1e-6)
	for i := range x {
		require.InDelta(t, float64(x[i]*w[i])*r, float64(dst[i]), 1e-6)
	}
}

func TestParallelForCoversAll(t *testing.T) {
	for _, w := range []int{1, 3} {
		SetWorkers(w)
		seen := make([]int32, 1000)
		ParallelFor(len(seen), func(worker, i int) {
			require.Less(t, worker, w)
			seen[i]++
		})
		for i, v := range seen {
			require.Equal(t, int32(1), v, "item %d", i)
		}
	}
	SetWorkers(0)
}

// BenchmarkParMatMul times the encoder's shapes (m tokens × K → N) on
// every kernel path this machine runs, and in each reduced precision on
// the fastest path.
func BenchmarkParMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 9))
	paths := KernelPaths()
	for _, s := range []struct{ m, k, n int }{{128, 768, 4096}, {512, 768, 2304}, {2048, 2048, 768}} {
		x := randSlice(r, s.m*s.k)
		w := randSlice(r, s.n*s.k)
		dst := make([]float32, s.m*s.n)
		for _, prec := range []Precision{FP32, BF16, Int8} {
			p, _ := PackLinearAs(w, s.n, s.k, prec)
			for _, path := range paths {
				if prec != FP32 && path != paths[len(paths)-1] {
					continue
				}
				b.Run(fmt.Sprintf("%dx%dx%d/%s/%s", s.m, s.k, s.n, prec, path), func(b *testing.B) {
					prev := KernelPath()
					_ = SetKernelPath(path)
					defer func() { _ = SetKernelPath(prev) }()
					for range b.N {
						ParMatMul(dst, s.n, x, s.k, s.m, p, false)
					}
					b.ReportMetric(2*float64(s.m*s.k*s.n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
			p.Free()
		}
	}
}
