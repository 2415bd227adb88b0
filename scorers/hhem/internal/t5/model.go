package t5

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hallu-eval/hallu/scorers/hhem/internal/tensor"
)

// Model is a loaded encoder. It is safe for concurrent use: the weights
// are read-only and every call has its own scratch memory.
type Model struct {
	cfg       Config
	embed     []float32 // [Vocab, DModel]
	relBias   []float32 // [NumBuckets, Heads]
	finalNorm []float32
	clsW      []float32 // [NumLabels, DModel]
	clsB      []float32
	layers    []layer
	closers   []func() error
	prec      tensor.Precision
}

type layer struct {
	ln1, ln2 []float32
	qkv      *tensor.Packed // DModel → [q | k | v], 3·inner (all blocks but the last)
	q        *tensor.Packed // DModel → inner (the last block)
	kv       *tensor.Packed // DModel → [k | v], 2·inner (the last block)
	o        *tensor.Packed // inner → DModel
	wi       *tensor.Packed // DModel → [wi_0 | wi_1], 2·DFF
	wo       *tensor.Packed // DFF → DModel
}

// Precision is the format the linear layers multiply in.
func (m *Model) Precision() tensor.Precision { return m.prec }

// Config reports the inferred dimensions.
func (m *Model) Config() Config { return m.cfg }

// Close releases the packed weights and unmaps the file. The model must
// not be used afterwards.
func (m *Model) Close() error {
	m.free()
	var errs []error
	for _, c := range m.closers {
		errs = append(errs, c())
	}
	m.closers = nil
	m.embed = nil
	return errors.Join(errs...)
}

func (m *Model) free() {
	for _, l := range m.layers {
		for _, p := range []*tensor.Packed{l.qkv, l.q, l.kv, l.o, l.wi, l.wo} {
			if p != nil {
				p.Free()
			}
		}
	}
	m.layers = nil
}

// Logits runs the encoder over a batch of token-id sequences and returns
// each sequence's two classifier logits at position 0 (HHEM's score is
// softmax(logits)[1]). It fails if the classifier does not have two
// outputs; LogitsN serves other label counts.
func (m *Model) Logits(ctx context.Context, batch [][]int) ([][2]float32, error) {
	if m.cfg.NumLabels != 2 {
		return nil, fmt.Errorf("t5: classifier has %d labels, Logits needs 2", m.cfg.NumLabels)
	}
	all, err := m.LogitsN(ctx, batch)
	if err != nil {
		return nil, err
	}
	out := make([][2]float32, len(all))
	for i, l := range all {
		out[i] = [2]float32{l[0], l[1]}
	}
	return out, nil
}

// LogitsN is Logits for any number of labels.
//
// The result equals running the batch right-padded to its longest sequence
// with padding masked, as the reference does: masked keys get zero
// attention weight, so no real position ever sees a padding position. The
// sequences are therefore packed end to end without padding; the linear
// layers run over all their tokens at once and attention runs within each
// sequence.
func (m *Model) LogitsN(ctx context.Context, batch [][]int) ([][]float32, error) {
	if m.layers == nil {
		return nil, errors.New("t5: model is closed")
	}
	if len(batch) == 0 {
		return nil, nil
	}
	c := m.cfg
	seqs := make([]span, len(batch))
	total, longest := 0, 0
	for i, ids := range batch {
		if len(ids) == 0 {
			return nil, fmt.Errorf("t5: sequence %d is empty", i)
		}
		for j, id := range ids {
			if id < 0 || id >= c.Vocab {
				return nil, fmt.Errorf("t5: sequence %d position %d: token id %d outside the vocabulary [0, %d)", i, j, id, c.Vocab)
			}
		}
		seqs[i] = span{start: total, n: len(ids)}
		total += len(ids)
		longest = max(longest, len(ids))
	}
	f := newForward(m, seqs, total, longest)
	for i, ids := range batch {
		for j, id := range ids {
			copy(f.x[(seqs[i].start+j)*c.DModel:], m.embed[id*c.DModel:(id+1)*c.DModel])
		}
	}
	last := len(m.layers) - 1
	for li := 0; li < last; li++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := f.block(ctx, &m.layers[li]); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	y, err := f.lastBlock(ctx, &m.layers[last])
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(batch))
	h := make([]float32, c.DModel)
	for i := range batch {
		tensor.RMSNorm(h, y[i*c.DModel:(i+1)*c.DModel], m.finalNorm, c.Eps)
		out[i] = make([]float32, c.NumLabels)
		for k := range out[i] {
			s := float64(m.clsB[k])
			for j, w := range m.clsW[k*c.DModel : (k+1)*c.DModel] {
				s += float64(w) * float64(h[j])
			}
			out[i][k] = float32(s)
		}
	}
	return out, nil
}

type span struct{ start, n int }

// Query rows per attention work item: a 72×L score block per worker (a
// multiple of the kernel's 6-row tile, so no ragged edge but the last).
const queryBlock = 72

// Rows per feed-forward chunk: bounds the DFF-wide intermediate to
// ffChunk×2·DFF floats however long the input is.
const ffChunk = 512

// forward is one call's scratch memory.
type forward struct {
	m       *Model
	seqs    []span
	total   int
	x       []float32 // [total, DModel] residual stream
	h       []float32 // [total, DModel] normed
	qkv     []float32 // [total, 3·inner]: q, k, v of each position
	att     []float32 // [total, inner] with row stride attLD (may alias h)
	attLD   int
	ff      []float32 // [ffChunk, 2·DFF]
	bias    [][]float32
	longest int
	kp, vp  []tensor.Packed // per (sequence, head)
	scores  [][]float32     // per worker
	sums    [][]float32     // per worker
}

func newForward(m *Model, seqs []span, total, longest int) *forward {
	c := m.cfg
	inner := c.Heads * c.DKV
	f := &forward{
		m: m, seqs: seqs, total: total, longest: longest,
		x:   make([]float32, total*c.DModel),
		h:   make([]float32, total*c.DModel),
		qkv: make([]float32, total*3*inner),
		ff:  make([]float32, min(total, ffChunk)*ffStride(c.DFF)),
	}
	if inner <= c.DModel {
		// The normed input is dead once q, k and v exist: the attention
		// output reuses its rows.
		f.att, f.attLD = f.h, c.DModel
	} else {
		f.att, f.attLD = make([]float32, total*inner), inner
	}
	f.kp, f.vp = make([]tensor.Packed, len(seqs)*c.Heads), make([]tensor.Packed, len(seqs)*c.Heads)
	// bias[h][d + longest-1] is head h's bias for key−query distance d,
	// so a query row's biases over all keys are one contiguous slice.
	f.bias = make([][]float32, c.Heads)
	for h := range f.bias {
		f.bias[h] = make([]float32, 2*longest-1)
	}
	for d := -(longest - 1); d < longest; d++ {
		b := bucket(d, c.NumBuckets, c.MaxDistance)
		for h := range f.bias {
			f.bias[h][d+longest-1] = m.relBias[b*c.Heads+h]
		}
	}
	w := tensor.Workers()
	f.scores = make([][]float32, w)
	f.sums = make([][]float32, w)
	for i := range f.scores {
		f.scores[i] = make([]float32, min(queryBlock, longest)*longest)
		f.sums[i] = make([]float32, queryBlock)
	}
	return f
}

// norm RMS-normalises rows of src into dst in parallel.
func (f *forward) norm(dst, src []float32, rows int, w []float32) {
	d := f.m.cfg.DModel
	const chunk = 64
	tensor.ParallelFor((rows+chunk-1)/chunk, func(_, i int) {
		for r := i * chunk; r < min(rows, (i+1)*chunk); r++ {
			tensor.RMSNorm(dst[r*d:(r+1)*d], src[r*d:(r+1)*d], w, f.m.cfg.Eps)
		}
	})
}

// block runs one encoder block over every position.
func (f *forward) block(ctx context.Context, l *layer) error {
	c := f.m.cfg
	d, inner := c.DModel, c.Heads*c.DKV
	t := opStart()
	f.norm(f.h, f.x, f.total, l.ln1)
	t = opDone("norm", t)
	tensor.ParMatMul(f.qkv, 3*inner, f.h, d, f.total, l.qkv, false)
	t = opDone("matmul qkv", t)
	f.packKV()
	t = opDone("attention", t)
	// Work items: (sequence, head, block of queries).
	type item struct{ s, h, q0 int }
	var items []item
	for s, sp := range f.seqs {
		for h := 0; h < c.Heads; h++ {
			for q0 := 0; q0 < sp.n; q0 += queryBlock {
				items = append(items, item{s, h, q0})
			}
		}
	}
	var err error
	tensor.ParallelForN(len(f.scores), len(items), func(w, i int) {
		if ctx.Err() != nil {
			return
		}
		it := items[i]
		sp := f.seqs[it.s]
		rows := min(queryBlock, sp.n-it.q0)
		r := sp.start + it.q0
		f.attend(w, it.s, it.h, it.q0, rows, f.qkv[r*3*inner+it.h*c.DKV:], 3*inner, f.att[r*f.attLD+it.h*c.DKV:], f.attLD)
	})
	if err = ctx.Err(); err != nil {
		return err
	}
	t = opDone("attention", t)
	// Residual: x += att·Wo, accumulated straight into x.
	tensor.ParMatMul(f.x, d, f.att, f.attLD, f.total, l.o, true)
	t = opDone("matmul o", t)
	f.norm(f.h, f.x, f.total, l.ln2)
	opDone("norm", t)
	for r0 := 0; r0 < f.total; r0 += ffChunk {
		rows := min(ffChunk, f.total-r0)
		f.feedForward(l, f.x[r0*d:], f.h[r0*d:], rows)
	}
	return nil
}

// ffStride is the feed-forward intermediate's row stride: 2·DFF plus one
// cache line. At 2·2048 floats (16 KB) every row would start in the same
// L1 set, and the 14 rows a tile of the wo product reads at once would
// evict one another from a 12-way cache (measured: 4-6% of a pass at 128
// and 512 tokens). The attention's score rows, read 6 at a time, measured
// no gain from the same padding.
func ffStride(dff int) int { return 2*dff + 16 }

// feedForward adds the gated-GELU feed-forward of h's rows to x's.
func (f *forward) feedForward(l *layer, x, h []float32, rows int) {
	c := f.m.cfg
	d, dff := c.DModel, c.DFF
	ld := ffStride(dff)
	t := opStart()
	tensor.ParMatMul(f.ff, ld, h, d, rows, l.wi, false)
	t = opDone("matmul wi", t)
	tensor.ParallelFor(rows, func(_, r int) {
		row := f.ff[r*ld : r*ld+2*dff]
		tensor.GeluTanhMul(row[:dff], row[dff:])
	})
	t = opDone("gelu", t)
	tensor.ParMatMul(x, d, f.ff, ld, rows, l.wo, true)
	opDone("matmul wo", t)
}

// packKV lays each sequence's per-head keys and values out for the matrix
// kernel: scores = Q·Kᵀ, output = P·V.
func (f *forward) packKV() {
	c := f.m.cfg
	inner := c.Heads * c.DKV
	tensor.ParallelFor(len(f.seqs)*c.Heads, func(_, i int) {
		s, h := i/c.Heads, i%c.Heads
		sp := f.seqs[s]
		kv := f.qkv[sp.start*3*inner+inner:]
		f.kp[i].Reset(c.DKV, sp.n)
		f.kp[i].PackNK(kv[h*c.DKV:], 3*inner)
		f.vp[i].Reset(sp.n, c.DKV)
		f.vp[i].PackKN(kv[inner+h*c.DKV:], 3*inner)
	})
}

// attend computes head h's attention output for rows queries of sequence
// s starting at position q0; q and out point at the first query's head
// slice, with row strides ldq and ldo. T5 does not scale scores by
// 1/√d_kv; the relative-position bias is added instead.
func (f *forward) attend(w, s, h, q0, rows int, q []float32, ldq int, out []float32, ldo int) {
	c := f.m.cfg
	n := f.seqs[s].n
	kp, vp := &f.kp[s*c.Heads+h], &f.vp[s*c.Heads+h]
	sc := f.scores[w][:rows*n]
	sums := f.sums[w]
	tensor.MatMul(sc, n, q, ldq, rows, kp, false)
	for r := 0; r < rows; r++ {
		pos := q0 + r
		// Keys 0..n-1 are at distances -pos..n-1-pos.
		bias := f.bias[h][f.longest-1-pos : f.longest-1-pos+n]
		sums[r] = tensor.BiasExp(sc[r*n:(r+1)*n], bias)
	}
	tensor.MatMul(out, ldo, sc, n, rows, vp, false)
	for r := 0; r < rows; r++ {
		tensor.Scale(out[r*ldo:r*ldo+c.DKV], 1/sums[r])
	}
}

// lastBlock runs the final encoder block for position 0 of each sequence
// only (the classifier reads nothing else): keys and values still come
// from every position, but queries, the output projection and the
// feed-forward run on one row per sequence. It returns those rows.
func (f *forward) lastBlock(ctx context.Context, l *layer) ([]float32, error) {
	c := f.m.cfg
	d, inner := c.DModel, c.Heads*c.DKV
	ns := len(f.seqs)
	t := opStart()
	f.norm(f.h, f.x, f.total, l.ln1)
	t = opDone("norm", t)
	tensor.ParMatMul(f.qkv[inner:], 3*inner, f.h, d, f.total, l.kv, false)
	t = opDone("matmul qkv", t)
	f.packKV()
	opDone("attention", t)
	y := make([]float32, ns*d)  // residual rows
	h0 := make([]float32, ns*d) // their normed input
	for s, sp := range f.seqs {
		copy(y[s*d:(s+1)*d], f.x[sp.start*d:])
		copy(h0[s*d:(s+1)*d], f.h[sp.start*d:])
	}
	q := make([]float32, ns*inner)
	tensor.ParMatMul(q, inner, h0, d, ns, l.q, false)
	att := make([]float32, ns*inner)
	tensor.ParallelForN(len(f.scores), ns*c.Heads, func(w, i int) {
		s, h := i/c.Heads, i%c.Heads
		f.attend(w, s, h, 0, 1, q[s*inner+h*c.DKV:], inner, att[s*inner+h*c.DKV:], inner)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tensor.ParMatMul(y, d, att, inner, ns, l.o, true)
	f.norm(h0, y, ns, l.ln2)
	for r0 := 0; r0 < ns; r0 += ffChunk {
		f.feedForward(l, y[r0*d:], h0[r0*d:], min(ffChunk, ns-r0))
	}
	return y, nil
}

// opTimes, when set (by tests and benchmarks), accumulates wall time per
// kind of operation, for profiles that say where a forward pass goes: the
// CPU profile cannot, because the parallel kernels run on goroutines whose
// stacks do not show which layer started them.
var opTimes map[string]time.Duration

func opStart() time.Time {
	if opTimes == nil {
		return time.Time{}
	}
	return time.Now()
}

// opDone charges the time since t to op and returns now.
func opDone(op string, t time.Time) time.Time {
	if opTimes == nil {
		return t
	}
	now := time.Now()
	opTimes[op] += now.Sub(t)
	return now
}

// bucket maps a key−query distance to T5's bidirectional relative-position
// bucket: half the buckets per direction (positive distances in the upper
// half), exact buckets below a quarter of the buckets, then log-spaced up to
// maxDistance, beyond which all share the last bucket. The log step is done
// in float32, as the reference computes it, so that distances at bucket
// boundaries land where the reference puts them.
func bucket(rel, numBuckets, maxDistance int) int {
	half := numBuckets / 2
	b := 0
	if rel > 0 {
		b = half
	}
	n := rel
	if n < 0 {
		n = -n
	}
	exact := half / 2
	if n < exact {
		return b + n
	}
	lg := float32(math.Log(float64(float32(n) / float32(exact))))
	v := lg / float32(math.Log(float64(maxDistance)/float64(exact))) * float32(half-exact)
	return b + min(exact+int(v), half-1)
}
