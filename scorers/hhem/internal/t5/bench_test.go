package t5

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers/hhem/internal/safetensors"
	"github.com/hallu-eval/hallu/scorers/hhem/internal/tensor"
)

// randSource serves random weights with a given Config's shapes, generated
// on demand so that a flan-t5-base-sized model (440 MB) never exists twice.
type randSource struct {
	shapes map[string][]int
	rng    *rand.Rand
}

func newRandSource(c Config, seed uint64) *randSource {
	s := &randSource{shapes: map[string][]int{}, rng: rand.New(rand.NewPCG(seed, seed))}
	inner := c.Heads * c.DKV
	s.shapes[prefix+"shared.weight"] = []int{c.Vocab, c.DModel}
	s.shapes[relBias] = []int{c.NumBuckets, c.Heads}
	s.shapes[finalNorm] = []int{c.DModel}
	s.shapes[clsWeight] = []int{c.NumLabels, c.DModel}
	s.shapes[clsBias] = []int{c.NumLabels}
	for i := 0; i < c.Layers; i++ {
		b := blockPfx + strconv.Itoa(i)
		for _, n := range []string{"q", "k", "v"} {
			s.shapes[b+attnPfx+n+".weight"] = []int{inner, c.DModel}
		}
		s.shapes[b+attnPfx+"o.weight"] = []int{c.DModel, inner}
		s.shapes[b+ffPfx+"wi_0.weight"] = []int{c.DFF, c.DModel}
		s.shapes[b+ffPfx+"wi_1.weight"] = []int{c.DFF, c.DModel}
		s.shapes[b+ffPfx+"wo.weight"] = []int{c.DModel, c.DFF}
		s.shapes[b+".layer.0.layer_norm.weight"] = []int{c.DModel}
		s.shapes[b+".layer.1.layer_norm.weight"] = []int{c.DModel}
	}
	return s
}

func (s *randSource) names() []string {
	var out []string
	for n := range s.shapes {
		out = append(out, n)
	}
	return out
}

func (s *randSource) shape(name string) ([]int, bool) {
	sh, ok := s.shapes[name]
	return sh, ok
}

// float32 draws uniform values scaled so each linear layer keeps unit
// variance (±√(3/in)); norms are near 1, like trained ones.
func (s *randSource) float32(name string) ([]float32, error) {
	sh := s.shapes[name]
	n := 1
	for _, d := range sh {
		n *= d
	}
	scale, off := float32(1), float32(0)
	switch {
	case strings.HasSuffix(name, "layer_norm.weight"):
		scale, off = 0.2, 1
	case len(sh) == 2 && name != relBias:
		scale = float32(math.Sqrt(3 / float64(sh[1])))
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = off + scale*(2*s.rng.Float32()-1)
	}
	return v, nil
}

func (s *randSource) release(string) {}

// FlanT5Base is flan-t5-base's encoder with HHEM's two-label head.
var flanT5Base = Config{Vocab: 32128, DModel: 768, Heads: 12, DKV: 64, DFF: 2048, Layers: 12, NumLabels: 2, NumBuckets: 32}

func TestRandSourceBuildsConfig(t *testing.T) {
	small := Config{Vocab: 100, DModel: 32, Heads: 4, DKV: 8, DFF: 48, Layers: 3, NumLabels: 3, NumBuckets: 32}
	m, err := build(newRandSource(small, 1), tensor.FP32)
	require.NoError(t, err)
	defer m.Close()
	small.MaxDistance, small.Eps = 128, 1e-6
	require.Equal(t, small, m.Config())
	out, err := m.LogitsN(context.Background(), [][]int{{0, 5, 7, 1}, {3}})
	require.NoError(t, err)
	require.Len(t, out, 2)
	require.Len(t, out[0], 3)
	_, err = m.Logits(context.Background(), [][]int{{0}})
	require.ErrorContains(t, err, "3 labels")
	require.Equal(t, 109630082, flanT5Base.Parameters())
}

// BenchmarkLogits runs a random model of flan-t5-base's real dimensions on
// one sequence of each length (8192 shows memory staying linear; the
// script runs 128, 512 and 2048 by default), in each precision
// (tokens=N/prec=fp32|bf16|int8); BenchmarkLogitsBatch runs 8 sequences
// at a time. HALLU_KERNEL=avx2 (or go) forces a slower kernel path. Run
// one length and precision per process for its peak-memory figure to mean
// anything.
func BenchmarkLogits(b *testing.B) { benchLogits(b, 1) }

// BenchmarkLogitsBatch is BenchmarkLogits with 8 sequences per pass.
func BenchmarkLogitsBatch(b *testing.B) { benchLogits(b, 8) }

func benchLogits(b *testing.B, batchSize int) {
	models := map[tensor.Precision]*Model{}
	defer func() {
		for _, m := range models {
			m.Close()
		}
	}()
	for _, n := range []int{128, 512, 2048, 8192} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			for _, prec := range []tensor.Precision{tensor.FP32, tensor.BF16, tensor.Int8} {
				b.Run("prec="+prec.String(), func(b *testing.B) {
					m := models[prec]
					if m == nil {
						var err error
						if m, err = build(newRandSource(flanT5Base, 7), prec); err != nil {
							b.Fatal(err)
						}
						models[prec] = m
						runtime.GC()
						debug.FreeOSMemory()
					}
					r := rand.New(rand.NewPCG(1, 2))
					batch := make([][]int, batchSize)
					for s := range batch {
						batch[s] = make([]int, n)
						for i := range batch[s] {
							batch[s][i] = r.IntN(flanT5Base.Vocab)
						}
					}
					if _, err := m.Logits(context.Background(), batch); err != nil { // warm-up
						b.Fatal(err)
					}
					b.ResetTimer()
					for range b.N {
						if _, err := m.Logits(context.Background(), batch); err != nil {
							b.Fatal(err)
						}
					}
					sec := b.Elapsed().Seconds()
					b.ReportMetric(float64(b.N*batchSize)/sec, "pairs/s")
					b.ReportMetric(float64(b.N*batchSize*n)/sec, "tokens/s")
					b.ReportMetric(peakRSSMB(), "peakRSS_MB")
				})
			}
		})
	}
}

// BenchmarkLoad times Load on a flan-t5-base-sized safetensors file of
// random weights (written once to a temporary directory, 440 MB) and
// reports the resident memory after loading: the packed weights, with the
// mapped file's pages given back.
func BenchmarkLoad(b *testing.B) {
	p := filepath.Join(b.TempDir(), "model.safetensors")
	func() {
		src := newRandSource(flanT5Base, 3)
		names := src.names()
		sort.Strings(names)
		var ts []safetensors.Tensor
		for _, n := range names {
			v, _ := src.float32(n)
			ts = append(ts, safetensors.Tensor{Name: n, DType: "F32", Shape: src.shapes[n], Data: safetensors.F32Bytes(v)})
		}
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := safetensors.Write(f, ts, map[string]string{"format": "pt"}); err != nil {
			b.Fatal(err)
		}
	}()
	runtime.GC()
	debug.FreeOSMemory()
	base := statusMB("VmRSS:")
	var after float64
	b.ResetTimer()
	for range b.N {
		m, err := Load(p)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		after = statusMB("VmRSS:")
		m.Close()
		b.StartTimer()
	}
	b.ReportMetric(after-base, "loadedRSS_MB")
}

// peakRSSMB is the process's resident-memory high-water mark (VmHWM).
func peakRSSMB() float64 { return statusMB("VmHWM:") }

// statusMB reads a kB field of /proc/self/status, in MB (0 off Linux).
func statusMB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// TestOpProfile prints where a forward pass of the flan-t5-base-sized
// random model spends its wall time, per kind of operation, at each length
// in HALLU_HHEM_OPPROF (comma-separated token counts, e.g. 128,2048). It
// only runs when that variable is set (HALLU_HHEM_PREC picks the
// precision, HALLU_KERNEL the kernel path): it measures, it asserts nothing
// beyond the parts adding up to no more than the whole.
func TestOpProfile(t *testing.T) {
	env := os.Getenv("HALLU_HHEM_OPPROF")
	if env == "" {
		t.Skip("set HALLU_HHEM_OPPROF=128,2048 to print a per-op profile")
	}
	prec := tensor.FP32
	if v := os.Getenv("HALLU_HHEM_PREC"); v != "" {
		var err error
		prec, err = tensor.ParsePrecision(v)
		require.NoError(t, err)
	}
	m, err := build(newRandSource(flanT5Base, 7), prec)
	require.NoError(t, err)
	defer m.Close()
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		require.NoError(t, err)
		ids := make([]int, n)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range ids {
			ids[i] = r.IntN(flanT5Base.Vocab)
		}
		_, err = m.Logits(context.Background(), [][]int{ids}) // warm-up
		require.NoError(t, err)
		reps := max(1, 2048/n)
		opTimes = map[string]time.Duration{}
		start := time.Now()
		for range reps {
			_, err = m.Logits(context.Background(), [][]int{ids})
			require.NoError(t, err)
		}
		total := time.Since(start)
		times := opTimes
		opTimes = nil
		var ops []string
		var sum time.Duration
		for op, d := range times {
			ops = append(ops, op)
			sum += d
		}
		require.LessOrEqual(t, sum, total)
		sort.Slice(ops, func(i, j int) bool { return times[ops[i]] > times[ops[j]] })
		per := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(reps) }
		fmt.Printf("tokens=%d workers=%d kernels=%s precision=%s: %.1f ms per pass (%d passes)\n", n, tensor.Workers(), tensor.KernelPath(), prec, per(total), reps)
		for _, op := range ops {
			fmt.Printf("  %-10s %8.2f ms %5.1f%%\n", op, per(times[op]), 100*times[op].Seconds()/total.Seconds())
		}
		fmt.Printf("  %-10s %8.2f ms %5.1f%%\n", "other", per(total-sum), 100*(total-sum).Seconds()/total.Seconds())
	}
}
