package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"unsafe"
)

// Precision is the number format a packed weight matrix multiplies in.
type Precision int

const (
	// FP32 multiplies in float32 throughout: the reference.
	FP32 Precision = iota
	// BF16 rounds weights (once, at packing) and activations (per
	// product) to bfloat16 and sums their products in float32: the
	// AVX512_BF16 VDPBF16PS instruction's arithmetic.
	BF16
	// Int8 quantises each weight column to int8 with its own scale (once,
	// at packing), and each activation row to int8 with its own scale per
	// block of qBlock inputs (per product); products sum exactly in int32
	// (the AVX512_VNNI VPDPBUSD instruction's arithmetic) and are scaled
	// back to float32.
	Int8
)

var precNames = []string{"fp32", "bf16", "int8"}

func (p Precision) String() string { return precNames[p] }

// ParsePrecision reads fp32, bf16 or int8.
func ParsePrecision(s string) (Precision, error) {
	for i, n := range precNames {
		if n == s {
			return Precision(i), nil
		}
	}
	return FP32, fmt.Errorf("precision %q: want fp32, bf16 or int8", s)
}

const (
	mrQ    = 14  // reduced-precision tile height, as the AVX-512 fp32 tile
	qSteps = 128 // k steps per block: 2 inputs per step for bf16, 4 for int8
)

// qBlock is the number of inputs one k block covers.
func (p Precision) qBlock() int {
	if p == BF16 {
		return 2 * qSteps
	}
	return 4 * qSteps
}

// group is the number of inputs one 32-bit lane holds.
func (p Precision) group() int {
	if p == BF16 {
		return 2
	}
	return 4
}

// quantized is the storage of a BF16 or Int8 Packed. Panels are 16
// columns wide as in fp32; within a panel each k step is 16 32-bit words,
// one per column, each holding that column's 2 (bf16) or 4 (int8)
// consecutive inputs, so one 64-byte load feeds a VDPBF16PS or VPDPBUSD.
// Inputs past K are zero.
type quantized struct {
	words []uint32 // panels × steps × 16
	steps int      // k steps per panel: ceil(K / group)
	scale []float32
	// corr[kb·panels·16 + j] is 128·Σ w over column j's inputs in k
	// block kb: the activations are stored offset by 128 as unsigned
	// bytes, and this undoes the offset.
	corr []int32
}

// PackLinearAs is PackLinear in a given precision.
func PackLinearAs(w []float32, out, in int, prec Precision) (*Packed, error) {
	if prec == FP32 {
		return PackLinear(w, out, in)
	}
	if len(w) != out*in {
		return nil, fmt.Errorf("tensor: weight has %d values, want %d×%d", len(w), out, in)
	}
	p := &Packed{N: out, K: in, prec: prec}
	g := prec.group()
	q := &quantized{steps: (in + g - 1) / g}
	panels := p.Panels()
	n := panels * q.steps * PanelWidth
	if buf, free, err := mapFloats(n); err == nil && n > 0 {
		q.words, p.free = unsafe.Slice((*uint32)(unsafe.Pointer(&buf[0])), n), free
	} else {
		q.words = make([]uint32, n)
	}
	p.q = q
	if prec == BF16 {
		for j := 0; j < out; j++ {
			row := w[j*in : (j+1)*in]
			col := q.words[j/PanelWidth*q.steps*PanelWidth+j%PanelWidth:]
			for t := 0; t < q.steps; t++ {
				lo := BF16Bits(row[2*t])
				var hi uint32
				if 2*t+1 < in {
					hi = BF16Bits(row[2*t+1])
				}
				col[t*PanelWidth] = lo | hi<<16
			}
		}
		return p, nil
	}
	blocks := (in + prec.qBlock() - 1) / prec.qBlock()
	q.scale = make([]float32, panels*PanelWidth)
	q.corr = make([]int32, blocks*panels*PanelWidth)
	var qrow []int8
	qrow = make([]int8, q.steps*4)
	for j := 0; j < out; j++ {
		row := w[j*in : (j+1)*in]
		var amax float32
		for _, v := range row {
			amax = max(amax, abs32(v))
		}
		var inv float32
		if amax > 0 {
			q.scale[j] = amax / 127
			inv = 127 / amax
		}
		clear(qrow)
		for k, v := range row {
			qrow[k] = int8(roundClamp(v * inv))
			q.corr[k/prec.qBlock()*panels*PanelWidth+j] += 128 * int32(qrow[k])
		}
		col := q.words[j/PanelWidth*q.steps*PanelWidth+j%PanelWidth:]
		for t := 0; t < q.steps; t++ {
			col[t*PanelWidth] = uint32(uint8(qrow[4*t])) | uint32(uint8(qrow[4*t+1]))<<8 |
				uint32(uint8(qrow[4*t+2]))<<16 | uint32(uint8(qrow[4*t+3]))<<24
		}
	}
	return p, nil
}

// Precision reports the format p multiplies in.
func (p *Packed) Precision() Precision { return p.prec }

// BF16Bits rounds f to bfloat16 (to nearest, ties to even) and returns
// its 16 bits.
func BF16Bits(f float32) uint32 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 { // NaN: keep it one
		return u>>16 | 0x40
	}
	return (u + 0x7fff + (u>>16)&1) >> 16
}

func bf16Float(h uint32) float32 { return math.Float32frombits(h << 16) }

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// roundClamp rounds to the nearest integer (halves away from zero) within
// ±127.
func roundClamp(v float32) int32 {
	if v >= 0 {
		return min(int32(v+0.5), 127)
	}
	return max(int32(v-0.5), -127)
}

// qScratch holds one product's packed activations and their scales.
type qScratch struct {
	a  []uint32
	sa []float32
}

var qScratches = sync.Pool{New: func() any { return new(qScratch) }}

// packAQ packs all m rows of x for a reduced-precision product: for each
// k block and 14-row tile, steps × 14 words (row-minor), rows past m zero
// (int8: scale zero). For int8 each row gets a scale per k block.
func packAQ(s *qScratch, x []float32, ldx, m int, b *Packed) {
	prec, q := b.prec, b.q
	tiles := (m + mrQ - 1) / mrQ
	blocks := (q.steps + qSteps - 1) / qSteps
	n := tiles * mrQ * q.steps
	if cap(s.a) < n {
		s.a = make([]uint32, n)
	}
	s.a = s.a[:n]
	if prec == Int8 {
		if cap(s.sa) < blocks*tiles*mrQ {
			s.sa = make([]float32, blocks*tiles*mrQ)
		}
		s.sa = s.sa[:blocks*tiles*mrQ]
	}
	g := prec.group()
	ParallelFor(tiles, func(_, t int) {
		for kb := 0; kb < blocks; kb++ {
			st0 := kb * qSteps
			steps := min(qSteps, q.steps-st0)
			tile := s.a[aqOffset(kb, t, tiles, q.steps, mrQ):][:steps*mrQ]
			for i := 0; i < mrQ; i++ {
				r := t*mrQ + i
				if r >= m {
					for st := 0; st < steps; st++ {
						tile[st*mrQ+i] = 0x80808080 * uint32(prec-BF16) // int8: 128 = zero
					}
					if prec == Int8 {
						s.sa[kb*tiles*mrQ+r] = 0
					}
					continue
				}
				k0 := st0 * g
				row := x[r*ldx+k0 : r*ldx+min(b.K, k0+steps*g)]
				var buf [4 * qSteps]byte
				if prec == BF16 {
					toBF16(row, unsafe.Slice((*uint16)(unsafe.Pointer(&buf[0])), 2*qSteps)[:len(row)])
					clear(buf[2*len(row) : 4*steps])
				} else {
					amax := absMax(row)
					var inv float32
					if amax > 0 {
						inv = 127 / amax
					}
					s.sa[kb*tiles*mrQ+r] = amax / 127
					quantI8(row, inv, buf[:len(row)])
					for k := len(row); k < 4*steps; k++ {
						buf[k] = 128
					}
				}
				for st := 0; st < steps; st++ {
					tile[st*mrQ+i] = binary.LittleEndian.Uint32(buf[4*st:])
				}
			}
		}
	})
}

func absMaxGo(x []float32) float32 {
	var m float32
	for _, v := range x {
		m = max(m, abs32(v))
	}
	return m
}

// quantI8Go sets out[i] = round(x[i]·inv) + 128, rounding halves to even
// as the assembly's VCVTPS2DQ does.
func quantI8Go(x []float32, inv float32, out []byte) {
	out = out[:len(x)]
	for i, v := range x {
		q := min(max(roundEven(v*inv), -127), 127)
		out[i] = byte(q + 128)
	}
}

// roundEven rounds to the nearest integer, halves to even, for |v| < 2²²:
// adding and subtracting 1.5·2²³ leaves no fraction bits to keep.
func roundEven(v float32) int32 {
	const magic = 12582912 // 1.5·2²³
	return int32((v + magic) - magic)
}

func toBF16Go(x []float32, out []uint16) {
	out = out[:len(x)]
	for i, v := range x {
		out[i] = uint16(BF16Bits(v))
	}
}

// aqOffset is where k block kb's tile t starts in the packed activations.
func aqOffset(kb, t, tiles, steps, mr int) int {
	return kb*qSteps*tiles*mr + t*mr*min(qSteps, steps-kb*qSteps)
}

// parMatMulQ is ParMatMul for a BF16 or Int8 b, on up to workers
// goroutines.
func parMatMulQ(dst []float32, ldd int, x []float32, ldx, m int, b *Packed, acc bool, workers int) {
	if m <= 0 || b.K == 0 {
		if !acc {
			for r := 0; r < m; r++ {
				clear(dst[r*ldd : r*ldd+b.N])
			}
		}
		return
	}
	s := qScratches.Get().(*qScratch)
	defer qScratches.Put(s)
	packAQ(s, x, ldx, m, b)
	tiles := (m + mrQ - 1) / mrQ
	panels := b.Panels()
	pairs := (panels + 1) / 2
	// Items: blocks of 6 row tiles (84 rows) × runs of panel pairs.
	const tilesPer = mBlock / mrQ
	rowItems := (tiles + tilesPer - 1) / tilesPer
	ppi := max(1, min(16, rowItems*pairs/(4*workers)))
	pairItems := (pairs + ppi - 1) / ppi
	ParallelForN(workers, rowItems*pairItems, func(_, item int) {
		t0 := item / pairItems * tilesPer
		pp0 := item % pairItems * ppi
		qTile(dst, ldd, s, m, tiles, b, t0, min(tiles, t0+tilesPer), 2*pp0, min(panels, 2*(pp0+ppi)), acc)
	})
}

// qTile computes row tiles [t0,t1) × panels [p0,p1).
func qTile(dst []float32, ldd int, s *qScratch, m, tiles int, b *Packed, t0, t1, p0, p1 int, acc bool) {
	q := b.q
	var edge [mrQ * 2 * PanelWidth]float32
	psz := q.steps * PanelWidth
	np16 := b.Panels() * PanelWidth
	for kb := 0; kb*qSteps < q.steps; kb++ {
		st0 := kb * qSteps
		steps := min(qSteps, q.steps-st0)
		accK := acc || kb > 0
		for p := p0; p < p1; p += 2 {
			np := min(2, p1-p)
			c0 := p * PanelWidth
			cols := min(np*PanelWidth, b.N-c0)
			bw := [2][]uint32{q.words[p*psz+st0*PanelWidth : p*psz+(st0+steps)*PanelWidth]}
			if np == 2 {
				bw[1] = q.words[(p+1)*psz+st0*PanelWidth : (p+1)*psz+(st0+steps)*PanelWidth]
			}
			var ep qEpilogue
			if b.prec == Int8 {
				ep.corr = q.corr[kb*np16+c0 : kb*np16+c0+np*PanelWidth]
				ep.scale = q.scale[c0 : c0+np*PanelWidth]
			}
			for t := t0; t < t1; t++ {
				r := t * mrQ
				a := s.a[aqOffset(kb, t, tiles, q.steps, mrQ):][:steps*mrQ]
				if b.prec == Int8 {
					ep.sa = s.sa[kb*tiles*mrQ+r : kb*tiles*mrQ+r+mrQ]
				}
				rows := min(mrQ, m-r)
				if rows == mrQ && cols == np*PanelWidth {
					c := dst[r*ldd+c0 : (r+mrQ-1)*ldd+c0+cols]
					qKernel(b.prec, steps, a, bw, c, ldd, accK, &ep)
					continue
				}
				w := np * PanelWidth
				qKernel(b.prec, steps, a, bw, edge[:], w, false, &ep)
				for i := 0; i < rows; i++ {
					d := dst[(r+i)*ldd+c0 : (r+i)*ldd+c0+cols]
					e := edge[i*w : i*w+cols]
					if accK {
						for j := range d {
							d[j] += e[j]
						}
					} else {
						copy(d, e)
					}
				}
			}
		}
	}
}

// qEpilogue is what turns an int8 tile's int32 sums into float32: the
// offset correction and weight scale per column, the activation scale per
// row.
type qEpilogue struct {
	corr  []int32
	scale []float32
	sa    []float32
}

// qKernelGo is the portable reduced-precision tile, the twin of the
// assembly: c[14 × 16·len(b)] (+)= a · b over steps k steps.
func qKernelGo(prec Precision, steps int, a []uint32, b [2][]uint32, c []float32, ldc int, acc bool, ep *qEpilogue) {
	for h, bp := range b {
		if bp == nil {
			continue
		}
		for i := 0; i < mrQ; i++ {
			var out [PanelWidth]float32
			if prec == BF16 {
				for st := 0; st < steps; st++ {
					aw := a[st*mrQ+i]
					alo, ahi := bf16Float(aw&0xffff), bf16Float(aw>>16)
					for j, bw := range bp[st*PanelWidth : (st+1)*PanelWidth] {
						out[j] += alo * bf16Float(bw&0xffff)
						out[j] += ahi * bf16Float(bw>>16)
					}
				}
			} else {
				var sum [PanelWidth]int32
				for st := 0; st < steps; st++ {
					aw := a[st*mrQ+i]
					for j, bw := range bp[st*PanelWidth : (st+1)*PanelWidth] {
						for e := 0; e < 32; e += 8 {
							sum[j] += int32(uint8(aw>>e)) * int32(int8(bw>>e))
						}
					}
				}
				for j := range out {
					out[j] = float32(sum[j]-ep.corr[h*PanelWidth+j]) * ep.scale[h*PanelWidth+j] * ep.sa[i]
				}
			}
			row := c[i*ldc+h*PanelWidth : i*ldc+(h+1)*PanelWidth]
			if acc {
				for j := range row {
					row[j] += out[j]
				}
			} else {
				copy(row, out[:])
			}
		}
	}
}
