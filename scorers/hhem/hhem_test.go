package hhem_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/hfhub"
	"github.com/hallu-eval/hallu/hfhub/hubtest"
	"github.com/hallu-eval/hallu/scorers"
	"github.com/hallu-eval/hallu/scorers/hhem"
	"github.com/hallu-eval/hallu/scorers/hhem/internal/tokenizer"
)

type goldenCase struct {
	Premise    string  `json:"premise"`
	Hypothesis string  `json:"hypothesis"`
	InputIDs   []int   `json:"input_ids"`
	Score      float64 `json:"score"`
}

func golden(t testing.TB) []goldenCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hubtest.SharedTestdata(t, "hhem-tiny"), "golden.json"))
	require.NoError(t, err)
	var g struct{ Cases []goldenCase }
	require.NoError(t, json.Unmarshal(b, &g))
	require.NotEmpty(t, g.Cases)
	return g.Cases
}

func fixtureOpts(t testing.TB) scorers.Options {
	return scorers.Options{
		"model-dir":     hubtest.SharedTestdata(t, "hhem-tiny"),
		"tokenizer-dir": hubtest.SharedTestdata(t, "t5"),
	}
}

func pairs(cases []goldenCase) []scorers.Pair {
	ps := make([]scorers.Pair, len(cases))
	for i, c := range cases {
		ps[i] = scorers.Pair{ID: fmt.Sprint(i), Source: c.Premise, Summary: c.Hypothesis}
	}
	return ps
}

// isolate points the HF environment at an empty temporary home so no test
// sees the developer's real cache.
func isolate(t *testing.T) string {
	home := t.TempDir()
	t.Setenv("HF_HOME", home)
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_TOKEN"} {
		t.Setenv(k, "")
	}
	return home
}

func TestPromptTokenizesLikeGolden(t *testing.T) {
	tok, err := tokenizer.Load(hubtest.SharedTestdata(t, "t5"))
	require.NoError(t, err)
	for i, c := range golden(t) {
		assert.Equal(t, c.InputIDs, tok.Encode(hhem.Prompt(c.Premise, c.Hypothesis)), "case %d", i)
	}
}

// The count serve's metrics use is the encoder's input: the golden ids,
// and no more than max-tokens when the pair is cut.
func TestCountTokens(t *testing.T) {
	for _, tc := range []struct {
		max  string
		want func(goldenCase) int
	}{
		{"", func(c goldenCase) int { return len(c.InputIDs) }},
		{"16", func(c goldenCase) int { return min(len(c.InputIDs), 16) }},
	} {
		opts := fixtureOpts(t)
		if tc.max != "" {
			opts["max-tokens"] = tc.max
		}
		s, err := scorers.Open(context.Background(), "hhem", opts)
		require.NoError(t, err)
		counter, ok := s.(interface{ CountTokens(scorers.Pair) int })
		require.True(t, ok, "the hhem scorer counts tokens")
		for i, c := range golden(t) {
			got := counter.CountTokens(scorers.Pair{Source: c.Premise, Summary: c.Hypothesis})
			if tc.max == "" {
				assert.Equal(t, tc.want(c), got, "case %d", i)
			} else {
				assert.LessOrEqual(t, got, tc.want(c), "case %d", i)
			}
		}
		s.Close()
	}
}

func TestScoresMatchGolden(t *testing.T) {
	cases := golden(t)
	for _, tc := range []struct {
		name   string
		extra  scorers.Options
		sorted bool
	}{
		{"one batch", nil, false},
		{"many small batches", scorers.Options{"batch": "2", "batch-tokens": "120"}, false},
		{"reversed input", scorers.Options{"batch": "3"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := fixtureOpts(t)
			for k, v := range tc.extra {
				opts[k] = v
			}
			s, err := scorers.Open(context.Background(), "hhem", opts)
			require.NoError(t, err)
			defer s.Close()
			assert.Equal(t, "hhem", s.Name())
			assert.Equal(t, hhem.BaseVersion, s.Version())

			in := append([]goldenCase(nil), cases...)
			if tc.sorted {
				for i, j := 0, len(in)-1; i < j; i, j = i+1, j-1 {
					in[i], in[j] = in[j], in[i]
				}
			}
			res, err := s.Score(context.Background(), pairs(in))
			require.NoError(t, err)
			require.Len(t, res, len(in))
			for i, c := range in {
				require.NoError(t, res[i].Err)
				assert.InDelta(t, c.Score, res[i].Score, 1e-4, "case %q", c.Hypothesis)
			}
		})
	}
}

// The reduced precisions score the golden cases close to the reference
// (the tiny model's scores sit near 0.5, so this bounds the logit error
// too); docs/scorers.md has the full-size model's figures.
func TestReducedPrecisionScoresNearGolden(t *testing.T) {
	cases := golden(t)
	for prec, tol := range map[string]float64{"fp32": 1e-4, "bf16": 0.02, "int8": 0.03} {
		t.Run(prec, func(t *testing.T) {
			opts := fixtureOpts(t)
			opts["precision"] = prec
			s, err := scorers.Open(context.Background(), "hhem", opts)
			require.NoError(t, err)
			defer s.Close()
			res, err := s.Score(context.Background(), pairs(cases))
			require.NoError(t, err)
			var worst float64
			for i, c := range cases {
				require.NoError(t, res[i].Err)
				assert.InDelta(t, c.Score, res[i].Score, tol, "case %q", c.Hypothesis)
				worst = max(worst, math.Abs(c.Score-res[i].Score))
			}
			t.Logf("precision %s: largest |Δscore| %.2g over %d golden cases", prec, worst, len(cases))
		})
	}
}

func TestConcurrentScoreRealModel(t *testing.T) {
	cases := golden(t)
	s, err := scorers.Open(context.Background(), "hhem", fixtureOpts(t))
	require.NoError(t, err)
	defer s.Close()
	// Another scorer on the same files shares the weights.
	s2, err := scorers.Open(context.Background(), "hhem", fixtureOpts(t))
	require.NoError(t, err)
	defer s2.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := s
			if g%2 == 1 {
				sc = s2
			}
			// Each goroutine scores a different rotation of the cases.
			in := append(append([]goldenCase(nil), cases[g%len(cases):]...), cases[:g%len(cases)]...)
			res, err := sc.Score(context.Background(), pairs(in))
			if !assert.NoError(t, err) {
				return
			}
			for i, c := range in {
				assert.InDelta(t, c.Score, res[i].Score, 1e-4)
			}
		}()
	}
	wg.Wait()
}

func TestMissingModelSaysHowToPull(t *testing.T) {
	isolate(t)
	err := hhem.Available(nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "`hallu model pull`")
	assert.Contains(t, err.Error(), "model-dir=DIR")

	_, err = scorers.Open(context.Background(), "hhem", scorers.Options{"revision": "v2", "cache-dir": "/nonexistent/hub"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "`hallu model pull --revision v2 --cache-dir /nonexistent/hub`")

	_, err = scorers.Open(context.Background(), "hhem", scorers.Options{"model-dir": t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no model.safetensors")
	assert.Contains(t, err.Error(), "hallu model pull")

	require.NoError(t, hhem.Available(fixtureOpts(t)))
	err = hhem.Available(scorers.Options{"model-dir": hubtest.SharedTestdata(t, "hhem-tiny"), "tokenizer-dir": t.TempDir()})
	require.Error(t, err, "a tokenizer-dir without tokenizer files")
	assert.Contains(t, err.Error(), "spiece.model")
}

// TestPullThenScoreFromCache runs the whole path a user takes: `hallu model
// pull` from a hub into HF_HOME, then the scorer with no options finds the
// files in the cache.
func TestPullThenScoreFromCache(t *testing.T) {
	home := isolate(t)
	hub := hubtest.New(hubtest.HHEMRepos(t)...)
	defer hub.Close()
	t.Setenv("HF_ENDPOINT", hub.URL)

	files, err := hhem.Pull(context.Background(), hfhub.FromEnv(), "")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(home, "hub", "models--vectara--hallucination_evaluation_model", "snapshots", hubtest.HHEMCommit, "model.safetensors"), files.Model)
	assert.Equal(t, filepath.Join(home, "hub", "models--google--flan-t5-base", "snapshots", hubtest.TokenizerCommit), files.TokenizerDir)
	require.NoError(t, hhem.Available(nil))

	// Scoring never touches the network, even with the hub gone.
	hub.Close()
	s, err := scorers.Open(context.Background(), "hhem", nil)
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, hhem.BaseVersion, s.Version())
	assert.Equal(t, hubtest.HHEMCommit, s.(*hhem.Scorer).Files().Commit, "the commit is still reported")
	cases := golden(t)
	res, err := s.Score(context.Background(), pairs(cases))
	require.NoError(t, err)
	for i, c := range cases {
		assert.InDelta(t, c.Score, res[i].Score, 1e-4, "case %d", i)
	}
}

func TestLocateModelDirThatIsASnapshot(t *testing.T) {
	home := isolate(t)
	hub := hubtest.New(hubtest.HHEMRepos(t)...)
	defer hub.Close()
	c := hfhub.FromEnv()
	c.Endpoint = hub.URL
	files, err := hhem.Pull(context.Background(), c, "")
	require.NoError(t, err)
	got, err := hhem.Locate(scorers.Options{"model-dir": filepath.Dir(files.Model)})
	require.NoError(t, err)
	assert.Equal(t, hubtest.HHEMCommit, got.Commit, "commit recognised from the snapshot path")
	assert.Equal(t, files.TokenizerDir, got.TokenizerDir, "tokenizer found in the cache")
	assert.Contains(t, got.Model, home)
}

// BenchmarkScore scores the golden cases (one of them 511 tokens) with the
// tiny fixture model: it measures the scorer's own overhead (tokenizing,
// batching) more than the forward pass of the real model.
func BenchmarkScore(b *testing.B) {
	cases := golden(b)
	s, err := scorers.Open(context.Background(), "hhem", fixtureOpts(b))
	require.NoError(b, err)
	defer s.Close()
	ps := pairs(cases)
	n := 0
	for b.Loop() {
		if _, err := s.Score(context.Background(), ps); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(n*len(ps))*1e3, "ms/pair")
}
