// Package t5 runs the encoder of a T5 token-classification model in pure
// Go: the architecture of Vectara's HHEM-2.1-Open (T5ForTokenClassification
// over flan-t5-base), which scores a premise/hypothesis prompt from the
// logits at position 0.
//
// Dimensions are inferred from tensor shapes, since HHEM's config.json
// carries none. Inference is float32 on the CPU, spread over GOMAXPROCS
// goroutines; attention is computed in blocks of queries, so memory grows
// linearly with sequence length.
package t5

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/hallu-eval/hallu/scorers/hhem/internal/safetensors"
	"github.com/hallu-eval/hallu/scorers/hhem/internal/tensor"
)

// Config is what Load inferred from the weights.
type Config struct {
	Vocab     int // embedding rows
	DModel    int // hidden size
	Heads     int // attention heads
	DKV       int // per-head size
	DFF       int // feed-forward inner size
	Layers    int // encoder blocks
	NumLabels int // classifier outputs (2 for HHEM)

	// Relative-position bias: buckets from the weights; the maximum
	// distance is not stored in the weights and is T5's 128.
	NumBuckets  int
	MaxDistance int
	Eps         float32 // RMS-norm epsilon, T5's 1e-6
}

// Parameters counts the model's weights.
func (c Config) Parameters() int {
	inner := c.Heads * c.DKV
	perLayer := 4*c.DModel*inner + 3*c.DModel*c.DFF + 2*c.DModel
	return c.Vocab*c.DModel + c.Layers*perLayer + c.NumBuckets*c.Heads + c.DModel + c.NumLabels*(c.DModel+1)
}

const (
	prefix    = "t5.transformer."
	blockPfx  = prefix + "encoder.block."
	attnPfx   = ".layer.0.SelfAttention."
	ffPfx     = ".layer.1.DenseReluDense."
	relBias   = blockPfx + "0" + attnPfx + "relative_attention_bias.weight"
	finalNorm = prefix + "encoder.final_layer_norm.weight"
	clsWeight = "t5.classifier.weight"
	clsBias   = "t5.classifier.bias"
)

// source is where weights come from: a safetensors file for Load, random
// tensors generated on demand for benchmarks.
type source interface {
	names() []string
	shape(name string) ([]int, bool)
	float32(name string) ([]float32, error)
	// release says the tensor was repacked and its original is not needed.
	release(name string)
}

type fileSource struct{ f *safetensors.File }

func (s fileSource) names() []string { return s.f.Names() }
func (s fileSource) shape(name string) ([]int, bool) {
	in, ok := s.f.Info(name)
	return in.Shape, ok
}
func (s fileSource) float32(name string) ([]float32, error) { return s.f.Float32(name) }
func (s fileSource) release(name string)                    { s.f.Release(name) }

// Load reads a HHEM-style T5 encoder classifier from a safetensors file,
// checking every tensor's shape against the dimensions it infers. The
// file stays mapped (the embedding is used in place) until Close.
func Load(path string) (*Model, error) { return LoadAs(path, tensor.FP32) }

// LoadAs is Load with the linear layers' weights converted once to prec
// (see tensor.Precision); attention, norms and the classifier stay
// float32.
func LoadAs(path string, prec tensor.Precision) (*Model, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := build(fileSource{f}, prec)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("t5 %s: %w", path, err)
	}
	m.closers = append(m.closers, f.Close)
	return m, nil
}

type loader struct {
	src  source
	prec tensor.Precision
	err  error
}

// get returns a tensor after checking its shape; the first failure sticks.
func (l *loader) get(name string, want ...int) []float32 {
	if l.err != nil {
		return nil
	}
	got, ok := l.src.shape(name)
	if !ok {
		l.err = fmt.Errorf("missing tensor %s", name)
		return nil
	}
	if !slices.Equal(got, want) {
		l.err = fmt.Errorf("tensor %s has shape %v, want %v", name, got, want)
		return nil
	}
	v, err := l.src.float32(name)
	if err != nil {
		l.err = err
	}
	return v
}

// small copies a tensor the model keeps (norm weights, biases), so that
// it does not pin the file's pages or depend on their alignment.
func (l *loader) small(name string, want ...int) []float32 {
	return slices.Clone(l.get(name, want...))
}

// linear packs an [out, in] weight for the matrix kernel and lets the
// source drop its copy.
func (l *loader) linear(names []string, out, in int) *tensor.Packed {
	var w []float32
	if len(names) == 1 {
		w = l.get(names[0], out, in)
	} else {
		// Several weights fused along the output dimension: one multiply
		// instead of several over the same input.
		w = make([]float32, 0, len(names)*out*in)
		for _, n := range names {
			w = append(w, l.get(n, out, in)...)
		}
	}
	if l.err != nil {
		return nil
	}
	p, err := tensor.PackLinearAs(w, len(names)*out, in, l.prec)
	if err != nil {
		l.err = err
		return nil
	}
	for _, n := range names {
		l.src.release(n)
	}
	return p
}

func shapeOf(src source, name string, dims int) ([]int, error) {
	s, ok := src.shape(name)
	if !ok {
		return nil, fmt.Errorf("missing tensor %s", name)
	}
	if len(s) != dims || slices.Contains(s, 0) {
		return nil, fmt.Errorf("tensor %s has shape %v, want %d non-empty dimensions", name, s, dims)
	}
	return s, nil
}

// inferConfig reads the dimensions off the tensor shapes.
func inferConfig(src source) (Config, error) {
	c := Config{MaxDistance: 128, Eps: 1e-6}
	emb, err := shapeOf(src, embedName(src), 2)
	if err != nil {
		return c, err
	}
	c.Vocab, c.DModel = emb[0], emb[1]
	for _, n := range src.names() {
		rest, ok := strings.CutPrefix(n, blockPfx)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(num)
		if err != nil || i < 0 || i > 10000 {
			return c, fmt.Errorf("tensor %s: bad block number", n)
		}
		c.Layers = max(c.Layers, i+1)
	}
	if c.Layers == 0 {
		return c, fmt.Errorf("no encoder blocks (%s*)", blockPfx)
	}
	rb, err := shapeOf(src, relBias, 2)
	if err != nil {
		return c, err
	}
	c.NumBuckets, c.Heads = rb[0], rb[1]
	if c.NumBuckets < 4 {
		return c, fmt.Errorf("tensor %s: %d buckets, need at least 4", relBias, c.NumBuckets)
	}
	q, err := shapeOf(src, blockPfx+"0"+attnPfx+"q.weight", 2)
	if err != nil {
		return c, err
	}
	if q[0]%c.Heads != 0 {
		return c, fmt.Errorf("attention size %d is not a multiple of %d heads", q[0], c.Heads)
	}
	c.DKV = q[0] / c.Heads
	ff, err := shapeOf(src, blockPfx+"0"+ffPfx+"wi_0.weight", 2)
	if err != nil {
		return c, err
	}
	c.DFF = ff[0]
	cls, err := shapeOf(src, clsWeight, 2)
	if err != nil {
		return c, err
	}
	c.NumLabels = cls[0]
	// Guard the products the forward pass allocates.
	if hi, _ := bits.Mul64(uint64(c.Vocab), uint64(c.DModel)); hi != 0 {
		return c, fmt.Errorf("embedding %v too large", emb)
	}
	return c, nil
}

func embedName(src source) string {
	if _, ok := src.shape(prefix + "shared.weight"); !ok {
		if _, ok := src.shape(prefix + "encoder.embed_tokens.weight"); ok {
			return prefix + "encoder.embed_tokens.weight"
		}
	}
	return prefix + "shared.weight"
}

func build(src source, prec tensor.Precision) (*Model, error) {
	c, err := inferConfig(src)
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: c, prec: prec}
	l := &loader{src: src, prec: prec}
	d, inner := c.DModel, c.Heads*c.DKV
	// The embedding stays where the source has it (mapped, for a file):
	// only the rows of the tokens seen are ever touched.
	m.embed = l.get(embedName(src), c.Vocab, d)
	m.relBias = l.small(relBias, c.NumBuckets, c.Heads)
	m.finalNorm = l.small(finalNorm, d)
	m.clsW = l.small(clsWeight, c.NumLabels, d)
	m.clsB = l.small(clsBias, c.NumLabels)
	for i := 0; i < c.Layers && l.err == nil; i++ {
		b := blockPfx + strconv.Itoa(i)
		// Read in the checkpoint's order (norms, q, k, v, o, feed-forward):
		// the random test source draws values in the order they are asked.
		ly := layer{
			ln1: l.small(b+".layer.0.layer_norm.weight", d),
			ln2: l.small(b+".layer.1.layer_norm.weight", d),
		}
		q, k, v := b+attnPfx+"q.weight", b+attnPfx+"k.weight", b+attnPfx+"v.weight"
		if i < c.Layers-1 {
			// One product for q, k and v over the same normed input.
			ly.qkv = l.linear([]string{q, k, v}, inner, d)
		} else {
			// The last block needs k and v at every position but q at
			// position 0 only.
			ly.q = l.linear([]string{q}, inner, d)
			ly.kv = l.linear([]string{k, v}, inner, d)
		}
		ly.o = l.linear([]string{b + attnPfx + "o.weight"}, d, inner)
		ly.wi = l.linear([]string{b + ffPfx + "wi_0.weight", b + ffPfx + "wi_1.weight"}, c.DFF, d)
		ly.wo = l.linear([]string{b + ffPfx + "wo.weight"}, d, c.DFF)
		m.layers = append(m.layers, ly)
	}
	if l.err != nil {
		m.free()
		return nil, l.err
	}
	return m, nil
}
