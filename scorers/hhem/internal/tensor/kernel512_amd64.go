//go:build amd64 && !purego

package tensor

import "sync"

//go:noescape
func kernel14x32AVX512(kc int, a, b0, b1, c *float32, ldc int, acc bool)

//go:noescape
func kernel14x16AVX512(kc int, a, b, c *float32, ldc int, acc bool)

// mr512 is the AVX-512 tile's height: 14 rows × 2 panels of 16 columns
// is 28 accumulators, leaving four of the 32 ZMM registers for B and the
// broadcasts of A.
const mr512 = 14

// aPacks holds per-call buffers for A packed into 14-row micro-panels.
var aPacks = sync.Pool{New: func() any {
	b := make([]float32, (mBlock+mr512-1)/mr512*mr512*kBlock)
	return &b
}}

// packA lays rows [r0,r1) × columns [k0,k0+kc) of x out as micro-panels
// of mr512 rows, k-major (the kernel reads one 14-value column per k
// step), with rows past r1 zero.
func packA(ap []float32, x []float32, ldx, r0, r1, k0, kc int) {
	for t := 0; r0+t*mr512 < r1; t++ {
		tile := ap[t*mr512*kc : (t+1)*mr512*kc]
		r := r0 + t*mr512
		rows := min(mr512, r1-r)
		for i := 0; i < rows; i++ {
			src := x[(r+i)*ldx+k0 : (r+i)*ldx+k0+kc]
			for k, v := range src {
				tile[k*mr512+i] = v
			}
		}
		for i := rows; i < mr512; i++ {
			for k := 0; k < kc; k++ {
				tile[k*mr512+i] = 0
			}
		}
	}
}

// matmulTileFast runs matmulTile's work on the AVX-512 tiles when that
// path is selected, and reports whether it did.
func matmulTileFast(dst []float32, ldd int, x []float32, ldx, r0, r1 int, b *Packed, p0, p1 int, acc bool) bool {
	if kernelPath != pathAVX512 {
		return false
	}
	if r1 <= r0 || p1 <= p0 || b.K == 0 {
		return true
	}
	bufp := aPacks.Get().(*[]float32)
	defer aPacks.Put(bufp)
	ap := *bufp
	if need := (r1 - r0 + mr512 - 1) / mr512 * mr512 * min(kBlock, b.K); len(ap) < need {
		ap = make([]float32, need)
		*bufp = ap
	}
	var edge [mr512 * 2 * PanelWidth]float32
	psz := b.K * PanelWidth
	for k0 := 0; k0 < b.K; k0 += kBlock {
		kc := min(kBlock, b.K-k0)
		accK := acc || k0 > 0
		packA(ap, x, ldx, r0, r1, k0, kc)
		for p := p0; p < p1; p += 2 {
			np := min(2, p1-p)
			c0 := p * PanelWidth
			cols := min(np*PanelWidth, b.N-c0)
			b0 := b.data[p*psz+k0*PanelWidth : p*psz+(k0+kc)*PanelWidth]
			var b1 []float32
			if np == 2 {
				b1 = b.data[(p+1)*psz+k0*PanelWidth : (p+1)*psz+(k0+kc)*PanelWidth]
			}
			for r := r0; r < r1; r += mr512 {
				a := ap[(r-r0)*kc : (r-r0+mr512)*kc]
				rows := min(mr512, r1-r)
				if rows == mr512 && cols == np*PanelWidth {
					// The assembly trusts its pointers: this bound makes a
					// caller's mistake a panic instead of corruption.
					c := dst[r*ldd+c0 : (r+mr512-1)*ldd+c0+cols]
					tile512(kc, a, b0, b1, c, ldd, accK)
					continue
				}
				// Ragged edge: compute into a scratch tile and write back
				// only the real rows and columns.
				w := np * PanelWidth
				tile512(kc, a, b0, b1, edge[:], w, false)
				for i := 0; i < rows; i++ {
					d := dst[(r+i)*ldd+c0 : (r+i)*ldd+c0+cols]
					s := edge[i*w : i*w+cols]
					if accK {
						for j := range d {
							d[j] += s[j]
						}
					} else {
						copy(d, s)
					}
				}
			}
		}
	}
	return true
}

// tile512 runs the 14×32 tile, or the 14×16 one when b1 is nil.
func tile512(kc int, a, b0, b1, c []float32, ldc int, acc bool) {
	if b1 == nil {
		kernel14x16AVX512(kc, &a[0], &b0[0], &c[0], ldc, acc)
		return
	}
	kernel14x32AVX512(kc, &a[0], &b0[0], &b1[0], &c[0], ldc, acc)
}
