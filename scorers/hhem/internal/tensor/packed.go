package tensor

import "fmt"

// PanelWidth is the number of output columns the micro-kernel computes at a
// time; packed weights store their columns in panels of this width.
const PanelWidth = 16

// Packed is a K×N right-hand matrix B (the product is X·B) laid out for
// the matrix kernel: by default ceil(N/16) panels, each holding K rows of
// 16 consecutive columns, so the micro-kernel reads it strictly
// sequentially (columns past N are zero); with the openblas build tag,
// plain row-major K×N.
type Packed struct {
	N, K int
	data []float32
	free func()
	prec Precision
	q    *quantized // BF16 and Int8 storage
}

// Panels is the number of 16-column panels.
func (p *Packed) Panels() int { return (p.N + PanelWidth - 1) / PanelWidth }

// Free releases the storage of a Packed made by NewPacked with offHeap set.
// The Packed must not be used afterwards.
func (p *Packed) Free() {
	if p.free != nil {
		p.free()
		p.free = nil
	}
	p.data, p.q = nil, nil
}

// NewPacked allocates room for a K×N packed matrix. offHeap puts the
// storage in an anonymous mapping outside the Go heap: model weights are
// hundreds of megabytes that live as long as the model, and keeping them
// off the heap stops the garbage collector from letting per-call garbage
// grow to the size of the weights before it runs (GOGC is relative to the
// live heap). It falls back to the heap if the mapping fails.
func NewPacked(k, n int, offHeap bool) *Packed {
	p := &Packed{N: n, K: k}
	size := packedSize(k, n)
	if offHeap && size > 0 {
		if buf, free, err := mapFloats(size); err == nil {
			p.data, p.free = buf, free
			return p
		}
	}
	p.data = make([]float32, size)
	return p
}

// Reset re-dimensions p for reuse as scratch, growing its storage only if
// needed. It must not be called on off-heap (weight) storage.
func (p *Packed) Reset(k, n int) {
	size := packedSize(k, n)
	if cap(p.data) < size {
		p.data = make([]float32, size)
	}
	p.data = p.data[:size]
	p.N, p.K = n, k
}

// PackLinear packs a PyTorch Linear weight w ([out, in], row-major) off
// the Go heap, checking its size.
func PackLinear(w []float32, out, in int) (*Packed, error) {
	if len(w) != out*in {
		return nil, fmt.Errorf("tensor: weight has %d values, want %d×%d", len(w), out, in)
	}
	p := NewPacked(in, out, true)
	p.PackNK(w, in)
	return p, nil
}
