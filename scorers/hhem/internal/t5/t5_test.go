package t5

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hallu-eval/hallu/internal/testutil"

	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers/hhem/internal/safetensors"
	"github.com/hallu-eval/hallu/scorers/hhem/internal/tensor"
)

func tinyDir(t testing.TB) string { return testutil.SharedTestdata(t, "hhem-tiny") }

type golden struct {
	Dims  map[string]any `json:"t5_dims"`
	Cases []struct {
		InputIDs []int      `json:"input_ids"`
		Logits   [2]float64 `json:"logits"`
		Score    float64    `json:"score"`
	} `json:"cases"`
	BatchLogits [][2]float64 `json:"batch_logits"`
}

func loadTiny(t testing.TB) (*Model, golden) {
	dir := tinyDir(t)
	m, err := Load(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	var g golden
	b, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &g))
	require.NotEmpty(t, g.Cases)
	return m, g
}

func TestInferredConfig(t *testing.T) {
	m, g := loadTiny(t)
	c := m.Config()
	require.Equal(t, int(g.Dims["d_model"].(float64)), c.DModel)
	require.Equal(t, int(g.Dims["d_kv"].(float64)), c.DKV)
	require.Equal(t, int(g.Dims["num_heads"].(float64)), c.Heads)
	require.Equal(t, int(g.Dims["d_ff"].(float64)), c.DFF)
	require.Equal(t, int(g.Dims["num_layers"].(float64)), c.Layers)
	require.Equal(t, int(g.Dims["vocab_size"].(float64)), c.Vocab)
	require.Equal(t, int(g.Dims["relative_attention_num_buckets"].(float64)), c.NumBuckets)
	require.Equal(t, 2, c.NumLabels)
}

func TestGoldenSingle(t *testing.T) {
	m, g := loadTiny(t)
	for i, cs := range g.Cases {
		got, err := m.Logits(context.Background(), [][]int{cs.InputIDs})
		require.NoError(t, err)
		for k := range 2 {
			require.InDelta(t, cs.Logits[k], float64(got[0][k]), 1e-4, "case %d logit %d", i, k)
		}
		e0, e1 := math.Exp(float64(got[0][0])), math.Exp(float64(got[0][1]))
		require.InDelta(t, cs.Score, e1/(e0+e1), 1e-4, "case %d score", i)
	}
}

func TestGoldenBatch(t *testing.T) {
	m, g := loadTiny(t)
	var batch [][]int
	for _, cs := range g.Cases {
		batch = append(batch, cs.InputIDs)
	}
	got, err := m.Logits(context.Background(), batch)
	require.NoError(t, err)
	require.Len(t, got, len(g.BatchLogits))
	for i, want := range g.BatchLogits {
		for k := range 2 {
			require.InDelta(t, want[k], float64(got[i][k]), 1e-4, "case %d logit %d", i, k)
		}
	}
}

func TestGoldenPureGo(t *testing.T) {
	// One worker and the same answers: the parallel split changes nothing.
	tensor.SetWorkers(1)
	defer tensor.SetWorkers(0)
	m, g := loadTiny(t)
	cs := g.Cases[4] // the long case
	got, err := m.Logits(context.Background(), [][]int{cs.InputIDs})
	require.NoError(t, err)
	require.InDelta(t, cs.Logits[0], float64(got[0][0]), 1e-4)
	require.InDelta(t, cs.Logits[1], float64(got[0][1]), 1e-4)
}

func TestConcurrentCallsAgree(t *testing.T) {
	m, g := loadTiny(t)
	var batch [][]int
	for _, cs := range g.Cases {
		batch = append(batch, cs.InputIDs)
	}
	want, err := m.Logits(context.Background(), batch)
	require.NoError(t, err)
	var wg sync.WaitGroup
	results := make([][][2]float32, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = m.Logits(context.Background(), batch)
		}()
	}
	wg.Wait()
	for i := range results {
		require.NoError(t, errs[i])
		require.Equal(t, want, results[i], "goroutine %d", i)
	}
}

func TestClosed(t *testing.T) {
	m, err := Load(filepath.Join(tinyDir(t), "model.safetensors"))
	require.NoError(t, err)
	require.NoError(t, m.Close())
	require.NoError(t, m.Close(), "second Close is harmless")
	_, err = m.Logits(context.Background(), [][]int{{0, 1}})
	require.ErrorContains(t, err, "closed")
}

func TestBadInput(t *testing.T) {
	m, _ := loadTiny(t)
	_, err := m.Logits(context.Background(), [][]int{{0, 1}, {}})
	require.ErrorContains(t, err, "sequence 1 is empty")
	_, err = m.Logits(context.Background(), [][]int{{0, 99999}})
	require.ErrorContains(t, err, "token id 99999")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = m.Logits(ctx, [][]int{{0, 1, 2}})
	require.ErrorIs(t, err, context.Canceled)
	out, err := m.Logits(context.Background(), nil)
	require.NoError(t, err)
	require.Empty(t, out)
}

// rewrite copies the tiny model with one tensor's shape changed (its data
// cut or padded to match) or dropped.
func rewrite(t *testing.T, change string, shape []int) string {
	dir := tinyDir(t)
	f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	defer f.Close()
	var ts []safetensors.Tensor
	for _, n := range f.Names() {
		in, _ := f.Info(n)
		data, err := f.Bytes(n)
		require.NoError(t, err)
		if n == change {
			if shape == nil {
				continue
			}
			in.Shape = shape
			size := 4
			for _, d := range shape {
				size *= d
			}
			data = append(bytes.Clone(data), make([]byte, max(0, size-len(data)))...)[:size]
		}
		ts = append(ts, safetensors.Tensor{Name: n, DType: in.DType, Shape: in.Shape, Data: data})
	}
	var buf bytes.Buffer
	require.NoError(t, safetensors.Write(&buf, ts, nil))
	p := filepath.Join(t.TempDir(), "model.safetensors")
	require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
	return p
}

func TestShapeErrors(t *testing.T) {
	const b1 = "t5.transformer.encoder.block.1"
	cases := []struct {
		tensor string
		shape  []int
		want   string
	}{
		{b1 + ".layer.0.SelfAttention.k.weight", []int{32, 16}, "block.1.layer.0.SelfAttention.k.weight has shape [32 16], want [32 32]"},
		{b1 + ".layer.1.DenseReluDense.wo.weight", []int{64, 32}, "wo.weight has shape [64 32], want [32 64]"},
		{b1 + ".layer.1.layer_norm.weight", []int{31}, "layer_norm.weight has shape [31], want [32]"},
		{"t5.classifier.bias", []int{3}, "t5.classifier.bias has shape [3], want [2]"},
		{"t5.transformer.encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", []int{32, 5}, "not a multiple of 5 heads"},
		{b1 + ".layer.0.SelfAttention.v.weight", nil, "missing tensor " + b1 + ".layer.0.SelfAttention.v.weight"},
		{"t5.transformer.encoder.final_layer_norm.weight", nil, "missing tensor"},
	}
	for _, c := range cases {
		p := rewrite(t, c.tensor, c.shape)
		_, err := Load(p)
		require.Error(t, err, c.tensor)
		require.ErrorContains(t, err, c.want)
		require.ErrorContains(t, err, p, "error names the file")
	}
}

func TestNumLabels(t *testing.T) {
	p := rewrite(t, "t5.classifier.weight", []int{3, 32})
	_, err := Load(p)
	require.ErrorContains(t, err, "t5.classifier.bias has shape [2], want [3]")
}

// naiveAttention is the textbook full-matrix attention for one head.
func naiveAttention(q, k, v []float32, n, dkv int, bias func(d int) float32) []float32 {
	out := make([]float32, n*dkv)
	for i := 0; i < n; i++ {
		s := make([]float64, n)
		mx := math.Inf(-1)
		for j := 0; j < n; j++ {
			var dot float64
			for t := 0; t < dkv; t++ {
				dot += float64(q[i*dkv+t]) * float64(k[j*dkv+t])
			}
			s[j] = dot + float64(bias(j-i))
			mx = math.Max(mx, s[j])
		}
		var sum float64
		for j := range s {
			s[j] = math.Exp(s[j] - mx)
			sum += s[j]
		}
		for t := 0; t < dkv; t++ {
			var o float64
			for j := 0; j < n; j++ {
				o += s[j] * float64(v[j*dkv+t])
			}
			out[i*dkv+t] = float32(o / sum)
		}
	}
	return out
}

func TestBlockedAttentionMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	const heads, dkv, buckets = 3, 20, 32
	inner := heads * dkv
	rel := make([]float32, buckets*heads)
	for i := range rel {
		rel[i] = r.Float32()*4 - 2
	}
	m := &Model{cfg: Config{Heads: heads, DKV: dkv, NumBuckets: buckets, MaxDistance: 128}, relBias: rel}
	for _, lens := range [][]int{{1}, {5, 63}, {64, 65}, {200, 7, 129}} {
		seqs := make([]span, len(lens))
		total, longest := 0, 0
		for i, n := range lens {
			seqs[i] = span{total, n}
			total += n
			longest = max(longest, n)
		}
		f := newForward(m, seqs, total, longest)
		for i := range f.qkv {
			f.qkv[i] = r.Float32()*2 - 1
		}
		f.packKV()
		for s, sp := range seqs {
			for h := 0; h < heads; h++ {
				// Gather this head's q, k, v as dense matrices.
				q := make([]float32, sp.n*dkv)
				k := make([]float32, sp.n*dkv)
				v := make([]float32, sp.n*dkv)
				for i := 0; i < sp.n; i++ {
					row := sp.start + i
					base := row * 3 * inner
					copy(q[i*dkv:], f.qkv[base+h*dkv:base+(h+1)*dkv])
					copy(k[i*dkv:], f.qkv[base+inner+h*dkv:base+inner+(h+1)*dkv])
					copy(v[i*dkv:], f.qkv[base+2*inner+h*dkv:base+2*inner+(h+1)*dkv])
				}
				want := naiveAttention(q, k, v, sp.n, dkv, func(d int) float32 {
					return rel[bucket(d, buckets, 128)*heads+h]
				})
				for q0 := 0; q0 < sp.n; q0 += queryBlock {
					rows := min(queryBlock, sp.n-q0)
					row := sp.start + q0
					f.attend(0, s, h, q0, rows, f.qkv[row*3*inner+h*dkv:], 3*inner, f.att[row*inner+h*dkv:], inner)
				}
				for i := 0; i < sp.n; i++ {
					got := f.att[(sp.start+i)*inner+h*dkv : (sp.start+i)*inner+(h+1)*dkv]
					for t2 := range got {
						require.InDelta(t, want[i*dkv+t2], got[t2], 1e-4, "lens %v seq %d head %d row %d", lens, s, h, i)
					}
				}
			}
		}
	}
}

func TestBucket(t *testing.T) {
	// T5's bidirectional buckets with 32 buckets, max distance 128:
	// |d| < 8 exact, log-spaced to 128, then the last bucket of each half.
	want := map[int]int{
		0: 0, -1: 1, 1: 17, -7: 7, 7: 23, -8: 8, 8: 24, -11: 8, -12: 9,
		-16: 10, 16: 26, -32: 12, -64: 14, -127: 15, -128: 15, 5000: 31, -5000: 15,
	}
	for d, b := range want {
		require.Equal(t, b, bucket(d, 32, 128), "distance %d", d)
	}
}
