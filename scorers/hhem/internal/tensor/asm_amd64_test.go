//go:build amd64 && !purego

package tensor

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The assembly and pure-Go paths must agree; the other tests then cover
// whichever path the machine runs.
func TestAsmMatchesGo(t *testing.T) {
	if !hasAVX2FMA() {
		t.Skip("no AVX2+FMA on this CPU")
	}
	defer func(v bool) { useAsm = v }(useAsm)
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range shapes {
		x := randSlice(r, s.m*s.k)
		w := randSlice(r, s.n*s.k)
		p, err := PackLinear(w, s.n, s.k)
		require.NoError(t, err)
		got := [2][]float32{}
		for i, asm := range []bool{true, false} {
			useAsm = asm
			got[i] = make([]float32, s.m*s.n)
			ParMatMul(got[i], s.n, x, s.k, s.m, p, false)
		}
		require.InDeltaSlice(t, toF64(got[1]), toF64(got[0]), 1e-4, "shape %+v", s)
		p.Free()

		e := [2][]float32{}
		sums := [2]float32{}
		b := randSlice(r, s.k)
		for i, asm := range []bool{true, false} {
			useAsm = asm
			e[i] = append([]float32(nil), x[:s.k]...)
			sums[i] = BiasExp(e[i], b)
		}
		require.InDeltaSlice(t, toF64(e[1]), toF64(e[0]), 1e-6)
		require.InDelta(t, sums[1], sums[0], 1e-5*float64(sums[1]))

		g := [2][]float32{}
		for i, asm := range []bool{true, false} {
			useAsm = asm
			g[i] = append([]float32(nil), x[:s.k]...)
			for j := range g[i] {
				g[i][j] *= 6 // reach both saturated ends
			}
			GeluTanhMul(g[i], b)
		}
		require.InDeltaSlice(t, toF64(g[1]), toF64(g[0]), 1e-6)
	}
}

func toF64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}
