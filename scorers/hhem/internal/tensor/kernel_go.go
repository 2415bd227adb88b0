//go:build !openblas || !cgo

package tensor

// panelLayout says fp32 weights are stored in 16-column panels, the
// layout the assembly tiles read (the openblas build stores them
// row-major).
const panelLayout = true

// packedSize is the storage a K×N Packed needs.
func packedSize(k, n int) int { return (n + PanelWidth - 1) / PanelWidth * PanelWidth * k }

func (p *Packed) panel(i int) []float32 {
	sz := p.K * PanelWidth
	return p.data[i*sz : (i+1)*sz]
}

// PackNK packs B = Wᵀ where W is n×k, row-major with row stride ldw: the
// PyTorch [out, in] layout of a Linear weight, so X·B = X·Wᵀ.
func (p *Packed) PackNK(w []float32, ldw int) {
	for j0 := 0; j0 < p.N; j0 += PanelWidth {
		pan := p.panel(j0 / PanelWidth)
		cols := min(PanelWidth, p.N-j0)
		// k outer: the panel is written sequentially while the reads
		// walk 16 rows of w side by side, which the prefetcher follows.
		for k := 0; k < p.K; k++ {
			dst := pan[k*PanelWidth : (k+1)*PanelWidth]
			src := w[j0*ldw+k:]
			for j := 0; j < cols; j++ {
				dst[j] = src[j*ldw]
			}
			clear(dst[cols:])
		}
	}
}

// PackKN packs B given k×n row-major with row stride ldb.
func (p *Packed) PackKN(b []float32, ldb int) {
	for j0 := 0; j0 < p.N; j0 += PanelWidth {
		pan := p.panel(j0 / PanelWidth)
		cols := min(PanelWidth, p.N-j0)
		for k := 0; k < p.K; k++ {
			dst := pan[k*PanelWidth : (k+1)*PanelWidth]
			copy(dst, b[k*ldb+j0:k*ldb+j0+cols])
			clear(dst[cols:])
		}
	}
}

// matmulTile computes rows [r0,r1) × panels [p0,p1) of the product.
func matmulTile(dst []float32, ldd int, x []float32, ldx, r0, r1 int, b *Packed, p0, p1 int, acc bool) {
	if matmulTileFast(dst, ldd, x, ldx, r0, r1, b, p0, p1, acc) {
		return
	}
	var edgeA [tileRows * kBlock]float32
	var edgeC [tileRows * PanelWidth]float32
	for k0 := 0; k0 < b.K; k0 += kBlock {
		kc := min(kBlock, b.K-k0)
		accK := acc || k0 > 0
		for p := p0; p < p1; p++ {
			pan := b.panel(p)[k0*PanelWidth:]
			c0 := p * PanelWidth
			cols := min(PanelWidth, b.N-c0)
			for r := r0; r < r1; r += tileRows {
				rows := min(tileRows, r1-r)
				if rows == tileRows && cols == PanelWidth {
					kernel(kc, x[r*ldx+k0:], ldx, pan, dst[r*ldd+c0:], ldd, accK)
					continue
				}
				// Ragged edge: run the full kernel on zero-padded copies
				// and write back only the real rows and columns.
				clear(edgeA[:tileRows*kc])
				for i := 0; i < rows; i++ {
					copy(edgeA[i*kc:(i+1)*kc], x[(r+i)*ldx+k0:(r+i)*ldx+k0+kc])
				}
				kernel(kc, edgeA[:], kc, pan, edgeC[:], PanelWidth, false)
				for i := 0; i < rows; i++ {
					d := dst[(r+i)*ldd+c0 : (r+i)*ldd+c0+cols]
					s := edgeC[i*PanelWidth : i*PanelWidth+cols]
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
