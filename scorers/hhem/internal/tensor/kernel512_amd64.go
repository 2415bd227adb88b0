//go:build amd64 && !purego

package tensor

// mr512 is the AVX-512 tile's height: 14 rows × 2 panels of 16 columns
// is 28 accumulators, leaving four of the 32 ZMM registers for B and the
// broadcasts of A.
const mr512 = 14

// kBlock512 is the AVX-512 tiles' K slice: two panels of 256 k steps
// (32 KB) stay in L1 while 14 rows of A stream past them (128 and 192
// measured no faster).
const kBlock512 = 256

//go:noescape
func kernel6x64AVX512(kc int, a *float32, lda int, b *float32, pstride int, c *float32, ldc int, acc bool)

// narrow reports whether a product is the attention's P·V shape (exactly
// four panels, taken whole), which the 6×64 tile runs.
func narrow(b *Packed, p0, p1 int) bool { return b.N == 4*PanelWidth && p0 == 0 && p1 == 4 }

// mBlock512 is the AVX-512 path's most rows per work item: 16 tiles, so
// that a 256-deep slice of A (224 KB) stays in L2 while a pair of B
// panels sweeps it. Fewer, taller row blocks mean each B panel, the part
// that streams from memory, is read fewer times.
const mBlock512 = 16 * mr512

// parMatMulFast is ParMatMul on the AVX-512 path, in work items of (row
// block, run of panels). It reports whether it ran.
func parMatMulFast(dst []float32, ldd int, x []float32, ldx, m int, b *Packed, acc bool) bool {
	if !panelLayout || kernelPath != pathAVX512 || narrow(b, 0, b.Panels()) || m <= 0 || b.K == 0 {
		return false
	}
	w := Workers()
	panels := b.Panels()
	// Row blocks of equal whole tiles: 512 rows are 3 blocks of 12 or 13
	// tiles, not two of 16 and a thin third.
	tiles := (m + mr512 - 1) / mr512
	rowBlocks := (tiles + mBlock512/mr512 - 1) / (mBlock512 / mr512)
	rows := (tiles + rowBlocks - 1) / rowBlocks * mr512
	// About 16 items per worker: a worker woken late or slowed by another
	// process then leaves at most a sixteenth of the product to the
	// others (4 per worker measured 3% slower at 128 tokens).
	ppi := max(2, min(32, rowBlocks*panels/(16*w))) &^ 1 // even: whole 14×32 tiles
	panelTiles := (panels + ppi - 1) / ppi
	ParallelForN(w, rowBlocks*panelTiles, func(_, item int) {
		r := item / panelTiles * rows
		p := item % panelTiles * ppi
		tiles512(dst, ldd, x, ldx, r, min(m, r+rows), b, p, min(panels, p+ppi), acc)
	})
	return true
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
	if narrow(b, p0, p1) {
		narrow512(dst, ldd, x, ldx, r0, r1, b, acc)
		return true
	}
	tiles512(dst, ldd, x, ldx, r0, r1, b, p0, p1, acc)
	return true
}

// kNarrow is the narrow tile's K block: four 64-byte panel rows per k
// step, 32 KB of B per block, which stays in L1 across the row tiles.
const kNarrow = 128

// narrow512 computes rows [r0,r1) of a four-panel product with the 6×64
// tile, A read in place.
func narrow512(dst []float32, ldd int, x []float32, ldx, r0, r1 int, b *Packed, acc bool) {
	var edgeA [tileRows * kNarrow]float32
	var edgeC [tileRows * 4 * PanelWidth]float32
	const w = 4 * PanelWidth
	psz := b.K * PanelWidth
	_ = b.data[3*psz+psz-1]
	for k0 := 0; k0 < b.K; k0 += kNarrow {
		kc := min(kNarrow, b.K-k0)
		accK := acc || k0 > 0
		bp := b.data[k0*PanelWidth:]
		for r := r0; r < r1; r += tileRows {
			rows := min(tileRows, r1-r)
			if rows == tileRows {
				_ = x[(r+tileRows-1)*ldx+k0+kc-1]
				c := dst[r*ldd : (r+tileRows-1)*ldd+w]
				kernel6x64AVX512(kc, &x[r*ldx+k0], ldx, &bp[0], psz, &c[0], ldd, accK)
				continue
			}
			clear(edgeA[:tileRows*kc])
			for i := 0; i < rows; i++ {
				copy(edgeA[i*kc:(i+1)*kc], x[(r+i)*ldx+k0:(r+i)*ldx+k0+kc])
			}
			kernel6x64AVX512(kc, &edgeA[0], kc, &bp[0], psz, &edgeC[0], w, false)
			for i := 0; i < rows; i++ {
				d := dst[(r+i)*ldd : (r+i)*ldd+w]
				s := edgeC[i*w : (i+1)*w]
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

// tiles512 computes rows [r0,r1) × panels [p0,p1) reading A in place.
func tiles512(dst []float32, ldd int, x []float32, ldx, r0, r1 int, b *Packed, p0, p1 int, acc bool) {
	const w = 2 * PanelWidth
	var edge [mr512 * w]float32
	psz := b.K * PanelWidth
	// slice is panel p's rows [k0,k0+kc).
	slice := func(p, k0, kc int) []float32 { return b.data[p*psz+k0*PanelWidth : p*psz+(k0+kc)*PanelWidth] }
	for k0 := 0; k0 < b.K; k0 += kBlock512 {
		kc := min(kBlock512, b.K-k0)
		accK := acc || k0 > 0
		for p := p0; p < p1; p += 2 {
			c0 := p * PanelWidth
			cols := min(w, b.N-c0)
			b0 := slice(p, k0, kc)
			b1 := b0 // an odd last panel: computed twice, kept once
			if p+1 < p1 {
				b1 = slice(p+1, k0, kc)
			} else {
				cols = min(cols, PanelWidth)
			}
			// The panels the next pass over the rows reads: the next pair
			// here, else the first pair of the next k block. The first
			// row tile asks for them; later tiles re-touch their own.
			nb0, nb1 := b0, b1
			switch {
			case p+3 < p1:
				nb0, nb1 = slice(p+2, k0, kc), slice(p+3, k0, kc)
			case k0+kBlock512 < b.K && p0+1 < p1:
				nkc := min(kBlock512, b.K-k0-kBlock512)
				nb0, nb1 = slice(p0, k0+kBlock512, nkc), slice(p0+1, k0+kBlock512, nkc)
			}
			for r := r0; r < r1; r += mr512 {
				rows := min(mr512, r1-r)
				// The assembly trusts its pointers: these bounds make a
				// caller's mistake a panic instead of corruption. The
				// prefetches may run past a shorter next slice: a
				// prefetch never faults.
				a := x[r*ldx+k0 : (r+rows-1)*ldx+k0+kc]
				pf0, pf1 := b0, b1
				if r == r0 {
					pf0, pf1 = nb0, nb1
				}
				if cols == w {
					c := dst[r*ldd+c0 : (r+rows-1)*ldd+c0+cols]
					tilesX32[rows](kc, &a[0], ldx, &b0[0], &b1[0], &pf0[0], &pf1[0], &c[0], ldd, accK)
					continue
				}
				// Ragged edge: compute into a scratch tile and write back
				// only the real columns.
				tilesX32[rows](kc, &a[0], ldx, &b0[0], &b1[0], &pf0[0], &pf1[0], &edge[0], w, false)
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
}
