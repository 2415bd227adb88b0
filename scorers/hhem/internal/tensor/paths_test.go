package tensor

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// withPath runs fn with the kernels forced onto path.
func withPath(t *testing.T, path string, fn func()) {
	t.Helper()
	prev := KernelPath()
	require.NoError(t, SetKernelPath(path))
	defer func() { require.NoError(t, SetKernelPath(prev)) }()
	fn()
}

// pathShapes adds, to the shared shapes, sizes around each tile's edges:
// rows around 6, 14, the 84-row and 224-row work items and every height of
// the last AVX-512 row tile, columns around one and two panels, and K
// around the 256 block.
func pathShapes(r *rand.Rand) []struct{ m, k, n int } {
	out := append([]struct{ m, k, n int }{}, shapes...)
	out = append(out,
		struct{ m, k, n int }{14, 64, 32}, struct{ m, k, n int }{13, 17, 31},
		struct{ m, k, n int }{15, 255, 33}, struct{ m, k, n int }{28, 256, 64},
		struct{ m, k, n int }{85, 257, 48}, struct{ m, k, n int }{84, 512, 16},
		struct{ m, k, n int }{169, 100, 80}, struct{ m, k, n int }{100, 300, 64},
		struct{ m, k, n int }{5, 2100, 64}, struct{ m, k, n int }{84, 128, 64},
	)
	for rows := 29; rows <= 42; rows++ {
		out = append(out, struct{ m, k, n int }{rows, 300, 64})
	}
	for _, rows := range []int{224, 225, 239, 512} {
		out = append(out, struct{ m, k, n int }{rows, 260, 96})
	}
	for range 8 {
		out = append(out, struct{ m, k, n int }{1 + r.IntN(200), 1 + r.IntN(600), 1 + r.IntN(150)})
	}
	return out
}

// Every kernel path this machine runs must agree with the pure-Go one;
// the other tests then cover whichever path the machine picks.
func TestKernelPathsMatchGo(t *testing.T) {
	paths := KernelPaths()
	t.Logf("kernel paths here: %v (default %s)", paths, KernelPath())
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range pathShapes(r) {
		x := randSlice(r, s.m*s.k)
		w := randSlice(r, s.n*s.k)
		p, err := PackLinear(w, s.n, s.k)
		require.NoError(t, err)
		ldd := s.n + 5
		init := randSlice(r, s.m*ldd)
		got := make([][]float32, len(paths))
		for i, path := range paths {
			got[i] = append([]float32(nil), init...)
			withPath(t, path, func() {
				ParMatMul(got[i], ldd, x, s.k, s.m, p, true)
			})
			serial := append([]float32(nil), init...)
			withPath(t, path, func() {
				MatMul(serial, ldd, x, s.k, s.m, p, true)
			})
			require.InDeltaSlice(t, toF64(got[i]), toF64(serial), 2e-6*float64(s.k), "path %s serial shape %+v", path, s)
		}
		for i := 1; i < len(paths); i++ {
			require.InDeltaSlice(t, toF64(got[0]), toF64(got[i]), 2e-6*float64(s.k), "path %s shape %+v", paths[i], s)
		}
		p.Free()

		n := s.k
		e := make([][]float32, len(paths))
		sums := make([]float32, len(paths))
		b := randSlice(r, n)
		g := make([][]float32, len(paths))
		nrm := make([][]float32, len(paths))
		for i, path := range paths {
			nrm[i] = make([]float32, n)
			e[i] = append([]float32(nil), x[:n]...)
			g[i] = append([]float32(nil), x[:n]...)
			for j := range g[i] {
				g[i][j] *= 6 // reach both saturated ends
			}
			withPath(t, path, func() {
				sums[i] = BiasExp(e[i], b)
				GeluTanhMul(g[i], b)
				RMSNorm(nrm[i], x[:n], b, 1e-6)
			})
		}
		for i := 1; i < len(paths); i++ {
			require.InDeltaSlice(t, toF64(e[0]), toF64(e[i]), 1e-6)
			require.InDelta(t, sums[0], sums[i], 1e-5*float64(sums[0]))
			require.InDeltaSlice(t, toF64(g[0]), toF64(g[i]), 1e-6)
			require.InDeltaSlice(t, toF64(nrm[0]), toF64(nrm[i]), 1e-6)
		}
	}
}

func TestSetKernelPathRejectsUnknown(t *testing.T) {
	require.Error(t, SetKernelPath("avx9000"))
	require.Equal(t, "go", KernelPaths()[0])
}

func toF64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

func TestRequestedPathError(t *testing.T) {
	t.Setenv("HALLU_NOASM", "")
	for _, name := range KernelPaths() {
		t.Setenv("HALLU_KERNEL", strings.ToUpper(name))
		require.NoError(t, RequestedPathError(), name)
	}
	t.Setenv("HALLU_KERNEL", "")
	require.NoError(t, RequestedPathError())
	t.Setenv("HALLU_KERNEL", "avx1024")
	err := RequestedPathError()
	require.Error(t, err)
	require.Contains(t, err.Error(), "HALLU_KERNEL=avx1024")
	require.Contains(t, err.Error(), "have go")
}
