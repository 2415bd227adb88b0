package hhem

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
	"github.com/hallu-eval/hallu/scorers/hhem/internal/tensor"
)

// wordEncoder makes one token per whitespace-separated word plus </s> (1),
// so token counts are easy to reason about.
type wordEncoder struct{}

func (wordEncoder) Encode(text string) []int {
	var ids []int
	for _, w := range strings.Fields(text) {
		ids = append(ids, 100+len(w))
	}
	return append(ids, 1)
}

// fakeModel scores a sequence by its length and records every batch.
type fakeModel struct {
	mu      sync.Mutex
	batches [][]int // lengths per batch
	closed  atomic.Int32
	active  atomic.Int32
	overlap atomic.Bool
	fail    error
}

func (m *fakeModel) Logits(ctx context.Context, batch [][]int) ([][2]float32, error) {
	if m.active.Add(1) > 1 {
		m.overlap.Store(true)
	}
	defer m.active.Add(-1)
	if m.fail != nil {
		return nil, m.fail
	}
	out := make([][2]float32, len(batch))
	lens := make([]int, len(batch))
	for i, seq := range batch {
		out[i] = fakeLogits(len(seq))
		lens[i] = len(seq)
	}
	m.mu.Lock()
	m.batches = append(m.batches, lens)
	m.mu.Unlock()
	return out, nil
}

func (m *fakeModel) Close() error { m.closed.Add(1); return nil }

func fakeLogits(n int) [2]float32 { return [2]float32{0.5, float32(n)*0.05 - 2} }

// withFakes swaps the loaders for fakes and gives a model-dir the scorer
// can locate.
func withFakes(t *testing.T, m *fakeModel) (opts scorers.Options, loads *atomic.Int32) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"model.safetensors", "spiece.model"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644))
	}
	loads = &atomic.Int32{}
	oldM, oldT := loadModel, loadTokenizer
	loadModel = func(string, tensor.Precision) (model, error) { loads.Add(1); return m, nil }
	loadTokenizer = func(string) (encoder, error) { return wordEncoder{}, nil }
	t.Cleanup(func() { loadModel, loadTokenizer = oldM, oldT })
	return scorers.Options{"model-dir": dir}, loads
}

// pairsOfWords makes pairs whose sources have the given word counts.
func pairsOfWords(counts ...int) []scorers.Pair {
	pairs := make([]scorers.Pair, len(counts))
	for i, n := range counts {
		pairs[i] = scorers.Pair{ID: fmt.Sprint(i), Source: strings.TrimSpace(strings.Repeat("w ", n)), Summary: "s"}
	}
	return pairs
}

// promptWords is the number of tokens wordEncoder gives the template with
// an empty source and a one-word summary.
var promptWords = len(wordEncoder{}.Encode(Prompt("", "s")))

func TestPlanBatches(t *testing.T) {
	lens := []int{50, 10, 30, 10, 500, 20, 40, 10}
	groups := planBatches(lens, 3, 100)
	seen := map[int]bool{}
	prevMax := 0
	for _, g := range groups {
		maxLen := 0
		for k, i := range g {
			assert.False(t, seen[i], "index %d twice", i)
			seen[i] = true
			if k > 0 {
				assert.LessOrEqual(t, lens[g[k-1]], lens[i], "sorted within a batch")
			}
			maxLen = max(maxLen, lens[i])
		}
		assert.LessOrEqual(t, len(g), 3)
		if len(g) > 1 {
			assert.LessOrEqual(t, len(g)*maxLen, 100, "padded tokens within budget: %v", g)
		}
		assert.LessOrEqual(t, prevMax, lens[g[0]], "batches in ascending length")
		prevMax = maxLen
	}
	assert.Len(t, seen, len(lens))
	assert.Equal(t, [][]int{{1, 3, 7}, {5, 2}, {6, 0}, {4}}, groups)
	assert.Empty(t, planBatches(nil, 8, 100))
}

func TestConsistentProbIsStableSoftmax(t *testing.T) {
	for _, l := range [][2]float32{{0.62, 0.44}, {-1.5, 2.04}, {0, 0}, {3, -3}} {
		e0, e1 := math.Exp(float64(l[0])), math.Exp(float64(l[1]))
		assert.InDelta(t, e1/(e0+e1), consistentProb(l), 1e-15)
	}
	assert.Equal(t, 1.0, consistentProb([2]float32{-1e30, 1e30}))
	assert.Equal(t, 0.0, consistentProb([2]float32{1e30, -1e30}))
	assert.Equal(t, 0.5, consistentProb([2]float32{1e30, 1e30}))
	assert.False(t, math.IsNaN(consistentProb([2]float32{3e38, -3e38})))
}

func TestScoreRestoresOrderAcrossBatches(t *testing.T) {
	m := &fakeModel{}
	opts, _ := withFakes(t, m)
	opts["batch"] = "2"
	opts["batch-tokens"] = "200"
	s, err := Open(context.Background(), opts)
	require.NoError(t, err)
	defer s.Close()

	counts := []int{40, 3, 17, 90, 1, 3, 60, 25, 8}
	res, err := s.Score(context.Background(), pairsOfWords(counts...))
	require.NoError(t, err)
	require.Len(t, res, len(counts))
	for i, n := range counts {
		require.NoError(t, res[i].Err)
		assert.InDelta(t, consistentProb(fakeLogits(n+promptWords)), res[i].Score, 1e-12, "pair %d", i)
	}
	require.Greater(t, len(m.batches), 1)
	for _, b := range m.batches {
		assert.LessOrEqual(t, len(b), 2)
		if len(b) > 1 {
			assert.LessOrEqual(t, len(b)*b[len(b)-1], 200)
		}
	}
}

func TestSharedWeightsLoadedOnceAndClosedLast(t *testing.T) {
	m := &fakeModel{}
	opts, loads := withFakes(t, m)
	ctx := context.Background()
	var opened []scorers.Scorer
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, opts)
			assert.NoError(t, err)
			mu.Lock()
			opened = append(opened, s)
			mu.Unlock()
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), loads.Load(), "weights loaded once")
	for i, s := range opened {
		require.NoError(t, s.Close())
		require.NoError(t, s.Close(), "Close is idempotent")
		want := int32(0)
		if i == len(opened)-1 {
			want = 1
		}
		assert.Equal(t, want, m.closed.Load(), "after %d closes", i+1)
	}
	// A fresh Open after everything closed loads again.
	s, err := Open(ctx, opts)
	require.NoError(t, err)
	assert.Equal(t, int32(2), loads.Load())
	require.NoError(t, s.Close())
}

func TestConcurrentScoreSerialisesPasses(t *testing.T) {
	m := &fakeModel{}
	opts, _ := withFakes(t, m)
	opts["batch"] = "3"
	s, err := Open(context.Background(), opts)
	require.NoError(t, err)
	defer s.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts := []int{g + 5, 2*g + 1, 30 - g, 7}
			res, err := s.Score(context.Background(), pairsOfWords(counts...))
			if !assert.NoError(t, err) {
				return
			}
			for i, n := range counts {
				assert.InDelta(t, consistentProb(fakeLogits(n+promptWords)), res[i].Score, 1e-12)
			}
		}()
	}
	wg.Wait()
	assert.False(t, m.overlap.Load(), "forward passes never overlap")
}

func TestForwardErrorFailsTheCall(t *testing.T) {
	m := &fakeModel{fail: errors.New("out of memory")}
	opts, _ := withFakes(t, m)
	s, err := Open(context.Background(), opts)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Score(context.Background(), pairsOfWords(3, 4))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "out of memory")

	res, err := s.Score(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, res)
}

func TestMaxTokensTruncatesSourceKeepsSummary(t *testing.T) {
	m := &fakeModel{}
	opts, _ := withFakes(t, m)
	opts["max-tokens"] = "40"
	s, err := Open(context.Background(), opts)
	require.NoError(t, err)
	defer s.Close()
	sc := s.(*Scorer)

	short := scorers.Pair{Source: "a b c", Summary: "s"}
	ids, cut := sc.encode(short)
	assert.False(t, cut)
	assert.Len(t, ids, 3+promptWords)

	long := scorers.Pair{Source: strings.Repeat("word ", 100), Summary: "the summary here"}
	ids, cut = sc.encode(long)
	assert.True(t, cut)
	assert.Len(t, ids, 40, "longest source prefix that fits")
	assert.Equal(t, wordEncoder{}.Encode("here"), ids[len(ids)-2:], "summary kept to the end")

	huge := scorers.Pair{Source: "x", Summary: strings.Repeat("long ", 100)}
	ids, cut = sc.encode(huge)
	assert.True(t, cut)
	assert.Len(t, ids, 40)
	assert.Equal(t, 1, ids[len(ids)-1], "</s> kept")

	res, err := s.Score(context.Background(), []scorers.Pair{short, long})
	require.NoError(t, err)
	assert.Empty(t, res[0].Explanation)
	assert.Contains(t, res[1].Explanation, "max-tokens=40")
}

func TestWordEnds(t *testing.T) {
	assert.Equal(t, []int{0}, wordEnds(""))
	assert.Equal(t, []int{0, 1, 5, 6}, wordEnds("a  bb\t"))
	assert.Equal(t, []int{0, 2, 5}, wordEnds("é ab"))
}

func TestBadOptions(t *testing.T) {
	opts, _ := withFakes(t, &fakeModel{})
	for k, v := range map[string]string{"batch": "0", "batch-tokens": "x", "max-tokens": "-1", "bogus": "1"} {
		o := scorers.Options{"model-dir": opts["model-dir"], k: v}
		_, err := Open(context.Background(), o)
		require.Error(t, err, k)
		assert.Contains(t, err.Error(), k)
	}
}

func TestLoadFailureIsRetried(t *testing.T) {
	m := &fakeModel{}
	opts, loads := withFakes(t, m)
	good := loadModel
	loadModel = func(string, tensor.Precision) (model, error) { return nil, errors.New("truncated header") }
	_, err := Open(context.Background(), opts)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "truncated header")
	assert.Contains(t, err.Error(), "model.safetensors")
	loadModel = good
	s, err := Open(context.Background(), opts)
	require.NoError(t, err)
	assert.Equal(t, int32(1), loads.Load())
	require.NoError(t, s.Close())
}
