package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// scoreFake is a scorer whose verdict a summary's marker words choose:
// FAIL fails the pair, NAN and BIG return scores outside [0,1], BATCHFAIL
// fails the whole batch, PANIC panics; otherwise the score is the summary's
// word count over 100. It records the largest batch and the most calls in
// flight at once.
type scoreFake struct {
	calls, inFlight, maxInFlight, maxBatch atomic.Int64
	// gate, when set, holds every Score call until it is closed; entered
	// gets a value when a call starts waiting.
	gate    chan struct{}
	entered chan struct{}
}

func (f *scoreFake) Name() string    { return "test-fake" }
func (f *scoreFake) Version() string { return "0.1" }
func (f *scoreFake) Close() error    { return nil }

func (f *scoreFake) Score(ctx context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	f.calls.Add(1)
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxInFlight.Load()
		if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	for {
		m := f.maxBatch.Load()
		if int64(len(pairs)) <= m || f.maxBatch.CompareAndSwap(m, int64(len(pairs))) {
			break
		}
	}
	if f.gate != nil {
		f.entered <- struct{}{}
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out := make([]scorers.Result, len(pairs))
	for i, p := range pairs {
		switch {
		case strings.Contains(p.Summary, "PANIC"):
			panic("fake scorer panic")
		case strings.Contains(p.Summary, "BATCHFAIL"):
			return nil, errors.New("model crashed")
		case strings.Contains(p.Summary, "FAIL"):
			out[i].Err = fmt.Errorf("cannot judge %s", p.ID)
		case strings.Contains(p.Summary, "NAN"):
			out[i].Score = math.NaN()
		case strings.Contains(p.Summary, "BIG"):
			out[i].Score = 1.5
		default:
			out[i].Score = float64(leaderboard.WordCount(p.Summary)) / 100
			out[i].Explanation = "words/100"
		}
	}
	return out, nil
}

func init() {
	scorers.Register(scorers.Info{Name: "test-fake", Description: "test scorer", Open: func(context.Context, scorers.Options) (scorers.Scorer, error) {
		return &scoreFake{}, nil
	}})
}

func scoreRec(id, summary string) *results.Record {
	return &results.Record{Schema: results.SchemaVersion, DocID: id, Model: "m", Source: "The source text of " + id + ".", Summary: summary}
}

// okSummary has n words, so the fake scores it n/100.
func okSummary(n int) string { return strings.TrimSpace(strings.Repeat("word ", n)) }

func scoreInput(t testing.TB, recs ...*results.Record) *results.Reader {
	var b bytes.Buffer
	w := results.NewWriter(&b)
	for _, r := range recs {
		require.NoError(t, w.Write(r))
	}
	return results.NewReader(&b, "input.jsonl")
}

func scoreParse(t testing.TB, b []byte) []*results.Record {
	r := results.NewReader(bytes.NewReader(b), "output")
	var out []*results.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, rec)
	}
}

var scoreAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func scoreCfg(f *scoreFake) ScoreConfig {
	return ScoreConfig{Scorer: f, Batch: 3, Concurrency: 2, Now: func() time.Time { return scoreAt }}
}

func TestScoreJudgesAndRecordsFailures(t *testing.T) {
	noSource := scoreRec("nosource", okSummary(10))
	noSource.Source = "  "
	genErr := scoreRec("generr", "")
	genErr.Error = &results.Error{Class: errclass.Timeout, Message: "timed out"}
	in := []*results.Record{
		scoreRec("ok1", okSummary(30)),
		scoreRec("fail", okSummary(10)+" FAIL"),
		scoreRec("nan", okSummary(10)+" NAN"),
		scoreRec("big", okSummary(10)+" BIG"),
		noSource,
		scoreRec("refusal", leaderboard.RefusalSentence),
		scoreRec("short", "Too short to count."),
		scoreRec("empty", "  "),
		genErr,
		scoreRec("ok2", okSummary(70)),
	}
	f := &scoreFake{}
	var out bytes.Buffer
	st, err := Score(context.Background(), scoreInput(t, in...), results.NewWriter(&out).Write, scoreCfg(f))
	require.NoError(t, err)
	assert.Equal(t, ScoreStats{Judged: 2, Failed: 4, NotJudged: 4}, st)

	got := scoreParse(t, out.Bytes())
	require.Len(t, got, len(in))
	byID := map[string]*results.Judgment{}
	for i, rec := range got {
		assert.Equal(t, in[i].DocID, rec.DocID, "output keeps input order")
		require.NotNil(t, rec.Judgment, rec.DocID)
		assert.Equal(t, "test-fake", rec.Judgment.Scorer)
		assert.Equal(t, "0.1", rec.Judgment.Version)
		assert.True(t, rec.Judgment.At.Equal(scoreAt))
		byID[rec.DocID] = rec.Judgment
	}
	for id, want := range map[string]float64{"ok1": 0.30, "ok2": 0.70} {
		require.NotNil(t, byID[id].Score, id)
		assert.InDelta(t, want, *byID[id].Score, 1e-9)
		assert.Nil(t, byID[id].Error)
		assert.Equal(t, "words/100", byID[id].Explanation)
	}
	for id, msg := range map[string]string{"fail": "cannot judge fail", "nan": "NaN, outside [0,1]", "big": "1.5, outside [0,1]", "nosource": ScoreNoSource} {
		j := byID[id]
		assert.Nil(t, j.Score, "%s: a failure is never a score", id)
		require.NotNil(t, j.Error, id)
		assert.Equal(t, errclass.Scorer, j.Error.Class)
		assert.Contains(t, j.Error.Message, msg)
	}
	for id, why := range map[string]string{"refusal": "refusal", "short": "short", "empty": "empty", "generr": "error"} {
		j := byID[id]
		assert.Nil(t, j.Score, id)
		assert.Nil(t, j.Error, id)
		assert.Equal(t, "not judged: invalid summary ("+why+")", j.Explanation)
	}
	assert.LessOrEqual(t, f.maxBatch.Load(), int64(3))

	// The report still counts the unjudged invalid summaries against the
	// answer rate and the failures as unjudged.
	agg := leaderboard.NewAggregator()
	for _, rec := range got {
		require.NoError(t, agg.Add(rec))
	}
	s := agg.Stats()[0]
	assert.Equal(t, 10, s.Documents)
	assert.Equal(t, 6, s.Valid)
	assert.Equal(t, 2, s.Judged)
}

func TestScoreBatchFailureAndPanicHitTheirBatchOnly(t *testing.T) {
	in := []*results.Record{
		scoreRec("a1", okSummary(10)), scoreRec("a2", okSummary(10)+" BATCHFAIL"), scoreRec("a3", "Too short."),
		scoreRec("b1", okSummary(20)), scoreRec("b2", okSummary(20)), scoreRec("b3", okSummary(20)),
		scoreRec("c1", okSummary(30)+" PANIC"), scoreRec("c2", okSummary(30)),
	}
	var out bytes.Buffer
	st, err := Score(context.Background(), scoreInput(t, in...), results.NewWriter(&out).Write, scoreCfg(&scoreFake{}))
	require.NoError(t, err)
	assert.Equal(t, ScoreStats{Judged: 3, Failed: 4, NotJudged: 1}, st)
	for _, rec := range scoreParse(t, out.Bytes()) {
		j := rec.Judgment
		switch rec.DocID[0] {
		case 'a':
			if rec.DocID == "a3" {
				assert.Nil(t, j.Error, "an unjudged record shares no batch failure")
				continue
			}
			require.NotNil(t, j.Error, rec.DocID)
			assert.Equal(t, "model crashed", j.Error.Message)
		case 'b':
			assert.NotNil(t, j.Score, rec.DocID)
		case 'c':
			require.NotNil(t, j.Error, rec.DocID)
			assert.Contains(t, j.Error.Message, "scorer panicked")
		}
	}
}

func TestScoreWrongResultCountIsABatchError(t *testing.T) {
	short := shortScorer{}
	var out bytes.Buffer
	st, err := Score(context.Background(), scoreInput(t, scoreRec("x", okSummary(10)), scoreRec("y", okSummary(10))),
		results.NewWriter(&out).Write, ScoreConfig{Scorer: short})
	require.NoError(t, err)
	assert.Equal(t, 2, st.Failed)
	for _, rec := range scoreParse(t, out.Bytes()) {
		assert.Contains(t, rec.Judgment.Error.Message, "returned 1 results for 2 pairs")
	}
}

type shortScorer struct{}

func (shortScorer) Name() string    { return "short" }
func (shortScorer) Version() string { return "" }
func (shortScorer) Close() error    { return nil }
func (shortScorer) Score(context.Context, []scorers.Pair) ([]scorers.Result, error) {
	return []scorers.Result{{Score: 0.9}}, nil
}

func TestScoreBoundsBatchesAndConcurrency(t *testing.T) {
	var in []*results.Record
	for i := range 200 {
		in = append(in, scoreRec(fmt.Sprintf("d%03d", i), okSummary(10+i%50)))
	}
	f := &scoreFake{}
	cfg := scoreCfg(f)
	cfg.Batch, cfg.Concurrency = 7, 3
	var out bytes.Buffer
	st, err := Score(context.Background(), scoreInput(t, in...), results.NewWriter(&out).Write, cfg)
	require.NoError(t, err)
	assert.Equal(t, 200, st.Judged)
	assert.Equal(t, int64(7), f.maxBatch.Load())
	assert.LessOrEqual(t, f.maxInFlight.Load(), int64(3))
	assert.Equal(t, int64(29), f.calls.Load(), "200 records in batches of 7")
	for i, rec := range scoreParse(t, out.Bytes()) {
		assert.Equal(t, in[i].DocID, rec.DocID)
	}
}

// countingSource yields n records lazily and counts how many were read;
// countingSink counts records written. The difference bounds what the stage
// holds.
type countingSource struct {
	n, i int
	buf  bytes.Buffer
	read *atomic.Int64
}

func (s *countingSource) Read(p []byte) (int, error) {
	for s.buf.Len() == 0 {
		if s.i == s.n {
			return 0, io.EOF
		}
		rec := scoreRec(fmt.Sprintf("d%05d", s.i), okSummary(20))
		rec.Source = strings.Repeat("Long source text. ", 500) // ~9 KB: the reader's 64 KB buffer holds few
		w := results.NewWriter(&s.buf)
		if err := w.Write(rec); err != nil {
			return 0, err
		}
		s.i++
		s.read.Add(1)
	}
	return s.buf.Read(p)
}

type countingSink struct {
	written, read *atomic.Int64
	maxAhead      int64
}

func (s *countingSink) Write(p []byte) (int, error) {
	n := s.written.Add(int64(bytes.Count(p, []byte{'\n'})))
	s.maxAhead = max(s.maxAhead, s.read.Load()-n)
	return len(p), nil
}

func TestScoreHoldsBatchTimesConcurrencyRecords(t *testing.T) {
	var read, written atomic.Int64
	src := &countingSource{n: 600, read: &read}
	sink := &countingSink{written: &written, read: &read}
	cfg := scoreCfg(&scoreFake{})
	cfg.Batch, cfg.Concurrency = 5, 2
	st, err := Score(context.Background(), results.NewReader(src, "gen"), results.NewWriter(sink).Write, cfg)
	require.NoError(t, err)
	assert.Equal(t, 600, st.Judged)
	// In flight: Concurrency batches queued, one being written, one being
	// filled, one record in the pump; plus what the reader's buffer holds.
	bound := int64((cfg.Concurrency+2)*cfg.Batch + 1 + 64<<10/9000 + 2)
	assert.LessOrEqual(t, sink.maxAhead, bound, "the stage read far ahead of what it wrote")
}

func TestScoreResumeAfterPartialOutput(t *testing.T) {
	var in []*results.Record
	for i := range 20 {
		in = append(in, scoreRec(fmt.Sprintf("d%02d", i), okSummary(10+i)))
	}
	in[15].Summary = "Short."
	path := filepath.Join(t.TempDir(), "judged.jsonl")

	// A first run judged d00..d07, failed on d08 and crashed while writing
	// d09.
	var first bytes.Buffer
	_, err := Score(context.Background(), scoreInput(t, in[:10]...), results.NewWriter(&first).Write, scoreCfg(&scoreFake{}))
	require.NoError(t, err)
	lines := strings.SplitAfter(first.String(), "\n")
	failed := scoreParse(t, []byte(lines[8]))[0]
	failed.Judgment.Score, failed.Judgment.Error = nil, &results.Error{Class: errclass.Scorer, Message: "out of memory"}
	var failedLine bytes.Buffer
	require.NoError(t, results.NewWriter(&failedLine).Write(failed))
	partial := strings.Join(lines[:8], "") + failedLine.String() + lines[9][:len(lines[9])/2]
	require.NoError(t, os.WriteFile(path, []byte(partial), 0o644))

	done, w, err := ScoreResume(path)
	require.NoError(t, err)
	assert.Len(t, done, 8)
	f := &scoreFake{}
	cfg := scoreCfg(f)
	cfg.Done = done
	st, err := Score(context.Background(), scoreInput(t, in...), w.Write, cfg)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, ScoreStats{Judged: 11, NotJudged: 1, Skipped: 8}, st)

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	seen := map[string]int{}
	for _, rec := range scoreParse(t, b) {
		seen[rec.DocID]++
		require.NotNil(t, rec.Judgment)
		assert.Nil(t, rec.Judgment.Error, rec.DocID)
		if rec.DocID != "d15" {
			assert.NotNil(t, rec.Judgment.Score, rec.DocID)
		}
	}
	require.Len(t, seen, 20)
	for id, n := range seen {
		assert.Equal(t, 1, n, "%s written %d times", id, n)
	}

	// A third run finds nothing to do and leaves the file as it is.
	done, w, err = ScoreResume(path)
	require.NoError(t, err)
	cfg.Done = done
	st, err = Score(context.Background(), scoreInput(t, in...), w.Write, cfg)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, ScoreStats{Skipped: 20}, st)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, b, after)
}

func TestScoreInterruptFinishesBatchesInFlight(t *testing.T) {
	var in []*results.Record
	for i := range 40 {
		in = append(in, scoreRec(fmt.Sprintf("d%02d", i), okSummary(10)))
	}
	f := &scoreFake{gate: make(chan struct{}), entered: make(chan struct{}, 8)}
	cfg := scoreCfg(f)
	cfg.Batch, cfg.Concurrency = 4, 2
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	var (
		st  ScoreStats
		err error
		wg  sync.WaitGroup
	)
	wg.Go(func() { st, err = Score(ctx, scoreInput(t, in...), results.NewWriter(&out).Write, cfg) })
	<-f.entered
	<-f.entered // both workers hold a batch
	cancel()
	close(f.gate) // the scorer was not interrupted: its batches complete
	wg.Wait()

	var ie *InterruptedError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, st, ie.Stats)
	assert.Zero(t, st.Failed, "in-flight batches must finish, not fail")
	assert.GreaterOrEqual(t, st.Judged, 8)
	assert.Less(t, st.Judged, 40)
	got := scoreParse(t, out.Bytes())
	assert.Len(t, got, st.Judged)
	for i, rec := range got {
		assert.Equal(t, in[i].DocID, rec.DocID, "what is written is a prefix of the input")
		assert.NotNil(t, rec.Judgment.Score)
	}
}

type failingSink struct{ after int }

func (f *failingSink) Write(p []byte) (int, error) {
	if f.after == 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestScoreWriteFailureStops(t *testing.T) {
	var in []*results.Record
	for i := range 50 {
		in = append(in, scoreRec(fmt.Sprintf("d%02d", i), okSummary(10)))
	}
	st, err := Score(context.Background(), scoreInput(t, in...), results.NewWriter(&failingSink{after: 5}).Write, scoreCfg(&scoreFake{}))
	require.ErrorContains(t, err, "disk full")
	assert.Equal(t, 5, st.Judged)
}

func TestScoreReadErrorKeepsRecordsBefore(t *testing.T) {
	var b bytes.Buffer
	w := results.NewWriter(&b)
	for i := range 5 {
		require.NoError(t, w.Write(scoreRec(fmt.Sprintf("d%d", i), okSummary(10))))
	}
	b.WriteString("{\"schema\":1,\"doc_id\":\"x\"}\n")
	require.NoError(t, w.Write(scoreRec("after", okSummary(10))))
	var out bytes.Buffer
	st, err := Score(context.Background(), results.NewReader(&b, "gen.jsonl"), results.NewWriter(&out).Write, scoreCfg(&scoreFake{}))
	require.ErrorContains(t, err, `gen.jsonl line 6: record has no "model"`)
	assert.Equal(t, 5, st.Judged)
	assert.Len(t, scoreParse(t, out.Bytes()), 5)
}

func TestScoreRejudgesWithNewScorer(t *testing.T) {
	rec := scoreRec("d", okSummary(40))
	old := 0.1
	rec.Judgment = &results.Judgment{Scorer: "other", Score: &old}
	var out bytes.Buffer
	_, err := Score(context.Background(), scoreInput(t, rec), results.NewWriter(&out).Write, scoreCfg(&scoreFake{}))
	require.NoError(t, err)
	got := scoreParse(t, out.Bytes())[0].Judgment
	assert.Equal(t, "test-fake", got.Scorer)
	assert.InDelta(t, 0.4, *got.Score, 1e-9)
}

func BenchmarkScore(b *testing.B) {
	var input bytes.Buffer
	w := results.NewWriter(&input)
	for i := range 2000 {
		rec := scoreRec(fmt.Sprintf("d%04d", i), okSummary(60))
		rec.Source = strings.Repeat("A sentence of the source. ", 100)
		w.Write(rec)
	}
	b.SetBytes(int64(input.Len()))
	for b.Loop() {
		_, err := Score(context.Background(), results.NewReader(bytes.NewReader(input.Bytes()), "bench"),
			results.NewWriter(io.Discard).Write, ScoreConfig{Scorer: &scoreFake{}, Concurrency: 2})
		if err != nil {
			b.Fatal(err)
		}
	}
}
