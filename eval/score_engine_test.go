package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// idScorer knows which of its options matter, as real scorers do.
type idScorer struct{ scoreFake }

func (*idScorer) Identity() scorers.Identity {
	return scorers.Identity{Name: "test-fake", Version: "0.1", Options: map[string]string{"mode": "claims"}, Weights: "abc123"}
}

func TestScoreJudgmentsCarryScorerIdentityAndGenHash(t *testing.T) {
	s := &idScorer{}
	in := []*results.Record{scoreRec("a", okSummary(20)), scoreRec("b", "Short."), scoreRec("c", okSummary(10)+" FAIL")}
	want := map[string]string{}
	for _, r := range in {
		want[r.DocID] = results.GenerationHash(r)
	}
	// A judgment already on an input record (by another scorer) does not
	// change the generation it is of.
	old := 0.2
	in[0].Judgment = &results.Judgment{Scorer: "other", Score: &old}

	cfg := scoreCfg(&s.scoreFake)
	cfg.Scorer, cfg.FallbackFor = s, "hhem"
	var out bytes.Buffer
	_, err := Score(context.Background(), scoreInput(t, in...), results.NewWriter(&out).Write, cfg)
	require.NoError(t, err)
	got := scoreParse(t, out.Bytes())
	require.Len(t, got, 3)
	id := s.Identity()
	for _, rec := range got {
		j := rec.Judgment
		assert.Equal(t, "test-fake", j.Scorer, rec.DocID)
		assert.Equal(t, "0.1", j.Version)
		assert.Equal(t, map[string]string{"mode": "claims"}, j.Options)
		assert.Equal(t, "abc123", j.Weights)
		assert.Equal(t, id.Key(), j.ScorerKey)
		assert.Equal(t, "hhem", j.FallbackFor)
		assert.Equal(t, want[rec.DocID], j.GenHash, rec.DocID)
		assert.Equal(t, want[rec.DocID], results.GenerationHash(rec), "the hash survives the round trip")
	}
}

func TestScoreWithoutFallbackLeavesItOut(t *testing.T) {
	var out bytes.Buffer
	_, err := Score(context.Background(), scoreInput(t, scoreRec("a", okSummary(20))), results.NewWriter(&out).Write, scoreCfg(&scoreFake{}))
	require.NoError(t, err)
	j := scoreParse(t, out.Bytes())[0].Judgment
	assert.Empty(t, j.FallbackFor)
	assert.Equal(t, scorers.Identity{Name: "test-fake", Version: "0.1"}.Key(), j.ScorerKey)
	assert.NotContains(t, out.String(), "fallback_for")
}

func TestScoreResumesByGenerationHash(t *testing.T) {
	same := scoreRec("same", okSummary(20))
	changed := scoreRec("changed", okSummary(30))
	fresh := scoreRec("fresh", okSummary(40))
	cfg := scoreCfg(&scoreFake{})
	cfg.Done = map[string]string{
		results.Key("m", "same"):    results.GenerationHash(same),
		results.Key("m", "changed"): "0123456789abcdef", // judged when the summary was another
	}
	var out bytes.Buffer
	st, err := Score(context.Background(), scoreInput(t, same, changed, fresh), results.NewWriter(&out).Write, cfg)
	require.NoError(t, err)
	assert.Equal(t, ScoreStats{Judged: 2, Skipped: 1, Superseded: 1}, st)
	got := scoreParse(t, out.Bytes())
	require.Len(t, got, 2)
	assert.Equal(t, "changed", got[0].DocID)
	assert.Equal(t, "fresh", got[1].DocID)
	assert.Contains(t, st.String(), "1 judged again (generation changed)")
}

// TestScoreResumeOfLegacyOutput: judgments written before GenHash existed
// hold for the record they sit on, so an unchanged input is not judged
// again, and a changed one is.
func TestScoreResumeOfLegacyOutput(t *testing.T) {
	a, b := scoreRec("a", okSummary(20)), scoreRec("b", okSummary(30))
	var legacy bytes.Buffer
	w := results.NewWriter(&legacy)
	for _, r := range []*results.Record{a, b} {
		c := *r
		s := 0.5
		c.Judgment = &results.Judgment{Scorer: "test-fake", Version: "0.1", Score: &s}
		require.NoError(t, w.Write(&c))
	}
	path := filepath.Join(t.TempDir(), "judged.jsonl")
	require.NoError(t, os.WriteFile(path, legacy.Bytes(), 0o644))

	done, out, err := ScoreResume(path)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{results.Key("m", "a"): results.GenerationHash(a), results.Key("m", "b"): results.GenerationHash(b)}, done)
	b2 := scoreRec("b", okSummary(31)) // regenerated since
	cfg := scoreCfg(&scoreFake{})
	cfg.Done = done
	st, err := Score(context.Background(), scoreInput(t, a, b2), out.Write, cfg)
	require.NoError(t, err)
	require.NoError(t, out.Close())
	assert.Equal(t, ScoreStats{Judged: 1, Skipped: 1, Superseded: 1}, st)
}

// eachFake fans out per pair through scorers.ScoreEach, as the LLM judge
// does, and panics in the pair goroutine of a summary marked PANIC.
type eachFake struct{}

func (eachFake) Name() string    { return "each-fake" }
func (eachFake) Version() string { return "1" }
func (eachFake) Close() error    { return nil }
func (eachFake) Score(ctx context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	return scorers.ScoreEach(ctx, pairs, 4, func(_ context.Context, p scorers.Pair) scorers.Result {
		if bytes.Contains([]byte(p.Summary), []byte("PANIC")) {
			panic("judge bug on " + p.ID)
		}
		return scorers.Result{Score: 0.9}
	})
}

func TestScorePanicInPairGoroutineFailsThatRecordOnly(t *testing.T) {
	in := []*results.Record{scoreRec("a", okSummary(10)), scoreRec("b", okSummary(10)+" PANIC"), scoreRec("c", okSummary(10))}
	var out bytes.Buffer
	st, err := Score(context.Background(), scoreInput(t, in...), results.NewWriter(&out).Write,
		ScoreConfig{Scorer: eachFake{}, Batch: 3, Concurrency: 2})
	require.NoError(t, err)
	assert.Equal(t, ScoreStats{Judged: 2, Failed: 1}, st)
	got := scoreParse(t, out.Bytes())
	require.NotNil(t, got[1].Judgment.Error)
	assert.Equal(t, errclass.Scorer, got[1].Judgment.Error.Class)
	assert.Contains(t, got[1].Judgment.Error.Message, "judge bug on b")
}

// TestScoreInterruptOnIdlePipe: an input pipe that goes quiet does not hold
// up an interruption, and what was judged is passed on.
func TestScoreInterruptOnIdlePipe(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sunk := make(chan string, 10)
	errc := make(chan error, 1)
	var st ScoreStats
	go func() {
		var err error
		st, err = Score(ctx, results.NewReader(pr, "stdin"), func(rec *results.Record) error {
			sunk <- rec.DocID
			return nil
		}, ScoreConfig{Scorer: &scoreFake{}, Batch: 1, Concurrency: 2})
		errc <- err
	}()
	w := results.NewWriter(pw)
	for i := range 3 {
		require.NoError(t, w.Write(scoreRec(fmt.Sprint("d", i), okSummary(10))))
	}
	for i := range 3 {
		assert.Equal(t, fmt.Sprint("d", i), <-sunk)
	}
	cancel() // the pipe stays open and silent
	err := <-errc
	var ie *InterruptedError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "score", ie.Stage)
	assert.Equal(t, st, ie.Stats)
	assert.Equal(t, 3, st.Judged)
	assert.Contains(t, err.Error(), "rerun the same command to resume")
}

// TestScoreInterruptCountsReadRecords: records read into a batch that never
// started are counted as not started, not lost.
func TestScoreInterruptCountsReadRecords(t *testing.T) {
	var in []*results.Record
	for i := range 40 {
		in = append(in, scoreRec(fmt.Sprintf("d%02d", i), okSummary(10)))
	}
	f := &scoreFake{gate: make(chan struct{}), entered: make(chan struct{}, 8)}
	cfg := scoreCfg(f)
	cfg.Batch, cfg.Concurrency = 4, 1
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	var st ScoreStats
	var out bytes.Buffer
	src := &countingReader{r: scoreInput(t, in...)}
	go func() {
		var err error
		st, err = Score(ctx, src, results.NewWriter(&out).Write, cfg)
		errc <- err
	}()
	<-f.entered
	cancel()
	close(f.gate)
	err := <-errc
	var ie *InterruptedError
	require.True(t, errors.As(err, &ie), "%v", err)
	assert.Equal(t, 4, st.Judged, "the batch in flight finished")
	// Every record read is accounted for, but for one a read under way at
	// the cancellation may have fetched.
	read := int(src.n.Load())
	assert.Contains(t, []int{0, 1}, read-(st.Judged+st.NotStarted), "read %d, %s", read, st)
	assert.Less(t, read, 40)
}

type countingReader struct {
	r *results.Reader
	n atomic.Int64
}

func (c *countingReader) Next() (*results.Record, error) {
	rec, err := c.r.Next()
	if err == nil {
		c.n.Add(1)
	}
	return rec, err
}
