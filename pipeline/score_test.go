package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
	_ "github.com/hallu-eval/hallu/scorers/overlap"
)

// fixedScorer judges every pair 0.9 and counts the pairs it was given.
type fixedScorer struct{ pairs *atomic.Int64 }

func (fixedScorer) Name() string    { return "pipetest-fixed" }
func (fixedScorer) Version() string { return "1" }
func (fixedScorer) Close() error    { return nil }
func (s fixedScorer) Score(_ context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	s.pairs.Add(int64(len(pairs)))
	out := make([]scorers.Result, len(pairs))
	for i := range out {
		out[i].Score = 0.9
	}
	return out, nil
}

var (
	fixedPairs   atomic.Int64
	registerOnce sync.Once
)

// registerTestScorers registers the test scorers once per test binary, so
// that -count=N does not register them twice.
func registerTestScorers() {
	registerOnce.Do(func() {
		scorers.Register(scorers.Info{Name: "pipetest-fixed", Open: func(context.Context, scorers.Options) (scorers.Scorer, error) {
			return fixedScorer{&fixedPairs}, nil
		}})
		scorers.Register(scorers.Info{Name: "pipetest-missing", Open: func(context.Context, scorers.Options) (scorers.Scorer, error) {
			return nil, fmt.Errorf("weights in /nowhere: %w", scorers.ErrNotFound)
		}})
		scorers.Register(scorers.Info{Name: "pipetest-broken", Open: func(context.Context, scorers.Options) (scorers.Scorer, error) {
			return nil, errors.New(`unknown option "mdoe"`)
		}})
	})
}

func openFixed(t *testing.T, opts scorers.Options) scorers.Scorer {
	registerTestScorers()
	sc, err := scorers.Open(context.Background(), "pipetest-fixed", opts)
	require.NoError(t, err)
	return sc
}

// genFile writes generation records of summaries made from the given words (doc-0, doc-1,
// ...) and returns its path.
func genFile(t *testing.T, path string, summaries ...string) string {
	var b bytes.Buffer
	w := results.NewWriter(&b)
	for i, s := range summaries {
		id := fmt.Sprint("doc-", i)
		require.NoError(t, w.Write(&results.Record{DocID: id, Model: "m", Source: "Article " + id + ". The bridge is 40 m long.", Summary: "The article says that the bridge is long: " + s + "."}))
	}
	require.NoError(t, w.Sync())
	return writeFile(t, path, b.String())
}

func scoreJob(t *testing.T, in, out string, sc scorers.Scorer) ScoreJob {
	return ScoreJob{In: in, Out: out, Scorer: sc, Batch: 2, Concurrency: 1}
}

func TestScoreRefusesAnotherScorer(t *testing.T) {
	dir := t.TempDir()
	in := genFile(t, filepath.Join(dir, "gen.jsonl"), "a", "b", "c")
	out := filepath.Join(dir, "judged.jsonl")
	_, err := Score(context.Background(), scoreJob(t, in, out, openFixed(t, nil)))
	require.NoError(t, err)
	before := fileBytes(t, out)

	other := openFixed(t, scorers.Options{"mode": "strict"})
	_, err = Score(context.Background(), scoreJob(t, in, out, other))
	var mm *MismatchError
	require.ErrorAs(t, err, &mm)
	assert.Equal(t, "judgments", mm.What)
	assert.Equal(t, 3, mm.Count)
	assert.Contains(t, err.Error(), "mode=strict")
	assert.Equal(t, before, fileBytes(t, out), "nothing was written")

	job := scoreJob(t, in, out, other)
	job.Replace = true
	_, err = Score(context.Background(), job)
	require.NoError(t, err)
	recs := readRecs(t, out)
	require.Equal(t, map[string]int{"doc-0": 1, "doc-1": 1, "doc-2": 1}, perDoc(recs))
	for _, r := range recs {
		assert.Equal(t, scorers.IdentityOf(other).Key(), r.Judgment.ScorerKey)
	}
}

func TestScoreJudgesChangedGenerationAgain(t *testing.T) {
	dir := t.TempDir()
	in := genFile(t, filepath.Join(dir, "gen.jsonl"), "a", "b", "c")
	out := filepath.Join(dir, "judged.jsonl")
	sc := openFixed(t, nil)
	_, err := Score(context.Background(), scoreJob(t, in, out, sc))
	require.NoError(t, err)

	genFile(t, in, "a", "b, said again", "c")
	n := fixedPairs.Load()
	_, err = Score(context.Background(), scoreJob(t, in, out, sc))
	require.NoError(t, err)
	assert.Equal(t, int64(1), fixedPairs.Load()-n, "only the changed generation is judged again")

	gens := map[string]*results.Record{}
	for _, r := range readRecs(t, in) {
		gens[r.DocID] = r
	}
	recs := readRecs(t, out)
	require.Equal(t, map[string]int{"doc-0": 1, "doc-1": 1, "doc-2": 1}, perDoc(recs), "the old judgment is superseded")
	for _, r := range recs {
		assert.Equal(t, results.GenerationHash(gens[r.DocID]), r.Judgment.GenHash, r.DocID)
		if r.DocID == "doc-1" {
			assert.Contains(t, r.Summary, "b, said again")
		}
		require.NotNil(t, r.Judgment.Score, "%s was judged by the scorer", r.DocID)
	}
}

func TestScoreDropsJudgmentsOfDocumentsGone(t *testing.T) {
	dir := t.TempDir()
	in := genFile(t, filepath.Join(dir, "gen.jsonl"), "a", "b", "c")
	out := filepath.Join(dir, "judged.jsonl")
	sc := openFixed(t, nil)
	_, err := Score(context.Background(), scoreJob(t, in, out, sc))
	require.NoError(t, err)

	genFile(t, in, "a", "b")
	var log bytes.Buffer
	job := scoreJob(t, in, out, sc)
	job.Log = &log
	_, err = Score(context.Background(), job)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"doc-0": 1, "doc-1": 1}, perDoc(readRecs(t, out)))
	assert.Contains(t, log.String(), "no longer in")
}

func TestScoreRefusesFileWithoutJudgments(t *testing.T) {
	dir := t.TempDir()
	in := genFile(t, filepath.Join(dir, "gen.jsonl"), "a", "b")
	out := genFile(t, filepath.Join(dir, "other.jsonl"), "x", "y")
	before := fileBytes(t, out)
	for _, replace := range []bool{false, true} {
		job := scoreJob(t, in, out, openFixed(t, nil))
		job.Replace = replace
		_, err := Score(context.Background(), job)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "line 1 has no judgment")
		var ie *InputError
		assert.ErrorAs(t, err, &ie)
		assert.Equal(t, before, fileBytes(t, out), "replace=%v: another stage's output is never overwritten", replace)
	}
}

func TestOpenScorerFallback(t *testing.T) {
	registerTestScorers()
	ctx := context.Background()

	var log bytes.Buffer
	sc, fallbackFor, err := OpenScorer(ctx, "pipetest-missing", nil, "overlap", &log)
	require.NoError(t, err)
	defer sc.Close()
	assert.Equal(t, "overlap", sc.Name())
	assert.Equal(t, "pipetest-missing", fallbackFor)
	assert.Contains(t, log.String(), "NOTICE")
	assert.Contains(t, log.String(), `fallback scorer "overlap"`)

	// Any other failure is the user's to fix: no stand-in.
	log.Reset()
	_, fallbackFor, err = OpenScorer(ctx, "pipetest-broken", nil, "overlap", &log)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mdoe")
	assert.Empty(t, fallbackFor)
	assert.Empty(t, log.String())

	for _, fb := range []string{"none", ""} {
		_, fallbackFor, err = OpenScorer(ctx, "pipetest-missing", nil, fb, &log)
		require.ErrorIs(t, err, scorers.ErrNotFound, "fallback %q", fb)
		assert.Empty(t, fallbackFor)
	}
	assert.Empty(t, log.String())

	// The stand-in judges at the granularity asked of the missing scorer,
	// and its identity says so.
	log.Reset()
	sc, fallbackFor, err = OpenScorer(ctx, "pipetest-missing", scorers.Options{"granularity": "sentence", "mode": "x"}, "overlap", &log)
	require.NoError(t, err)
	assert.Equal(t, "pipetest-missing", fallbackFor)
	id := scorers.IdentityOf(sc)
	assert.Equal(t, "sentence", id.Options["granularity"])
	assert.NotContains(t, id.Options, "mode", "the missing scorer's own options are not the stand-in's")
	sc.Close()

	sc, fallbackFor, err = OpenScorer(ctx, "pipetest-fixed", nil, "overlap", &log)
	require.NoError(t, err)
	assert.Equal(t, "pipetest-fixed", sc.Name())
	assert.Empty(t, fallbackFor)
}
