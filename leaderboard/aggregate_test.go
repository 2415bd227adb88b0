package leaderboard

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/stats"
)

const sixWords = "The cat sat on the mat."

func TestAggregateRates(t *testing.T) {
	a := NewAggregator()
	add := func(r *results.Record) { require.NoError(t, a.Add(r)) }
	// 10 documents for model m: 6 valid and judged (4 consistent), 1 valid
	// whose scoring failed, 1 refusal, 1 too short, 1 generation error.
	for i, s := range []float64{0.9, 0.5, 0.7, 0.99, 0.1, 0.49999} {
		add(rec("m", fmt.Sprint("d", i), sixWords+" It was warm.", ptr(s)))
	}
	failed := rec("m", "d6", sixWords, nil)
	failed.Judgment = &results.Judgment{Scorer: "test", Error: &results.Error{Class: errclass.Scorer, Message: "boom"}}
	add(failed)
	add(rec("m", "d7", RefusalSentence, nil))
	add(rec("m", "d8", "Too short to count.", nil))
	add(&results.Record{Schema: 1, Model: "m", DocID: "d9", Error: &results.Error{Class: errclass.Timeout, Message: "deadline"}})

	rows := a.Stats()
	require.Len(t, rows, 1)
	s := rows[0]
	assert.Equal(t, 10, s.Documents)
	assert.Equal(t, 7, s.Valid)
	assert.Equal(t, 6, s.Judged)
	assert.Equal(t, 1, s.Unjudged)
	assert.Equal(t, 1, s.ScorerErrors)
	assert.Equal(t, 4, s.Consistent, "0.5 is consistent, 0.49999 is not")
	assert.Equal(t, 2, s.Hallucinated)
	assert.Equal(t, map[string]int{errclass.Timeout: 1}, s.GenerationErrors)
	assert.Equal(t, map[string]int{InvalidError: 1, InvalidRefusal: 1, InvalidShort: 1}, s.Invalid)
	// Answer rate is over all documents, errors included.
	assert.InDelta(t, 70.0, s.AnswerRate, 1e-9)
	// The failed score counts neither way: 4/6, not 4/7 or 5/7.
	assert.InDelta(t, 400.0/6, s.FactualConsistencyRate, 1e-9)
	assert.InDelta(t, 200.0/6, s.HallucinationRate, 1e-9)
	// Average length covers the valid summaries, scored or not: six of 9
	// words and one of 6.
	assert.InDelta(t, (6*9+6)/7.0, s.AvgSummaryWords, 1e-9)
	lo, hi := stats.Wilson(2, 6, stats.Z95)
	assert.InDelta(t, lo*100, s.HRLow, 1e-9)
	assert.InDelta(t, hi*100, s.HRHigh, 1e-9)
}

func TestAggregateUnjudgedOnly(t *testing.T) {
	a := NewAggregator()
	require.NoError(t, a.Add(rec("gen-only", "d1", sixWords, nil)))
	s := a.Stats()[0]
	assert.Equal(t, 1, s.Valid)
	assert.Equal(t, 1, s.Unjudged)
	assert.True(t, math.IsNaN(s.HallucinationRate))
	assert.True(t, math.IsNaN(s.HRLow))
	assert.InDelta(t, 100.0, s.AnswerRate, 1e-9)
}

func TestAggregateModelsAreNotIntersected(t *testing.T) {
	a := NewAggregator()
	for i := range 4 {
		require.NoError(t, a.Add(rec("a", fmt.Sprint(i), sixWords, ptr(0.9))))
	}
	require.NoError(t, a.Add(rec("b", "0", sixWords, ptr(0.1))))
	rows := a.Stats()
	require.Len(t, rows, 2)
	assert.Equal(t, "a", rows[0].Model, "lower hallucination rate first")
	assert.Equal(t, 4, rows[0].Documents)
	assert.Equal(t, 1, rows[1].Documents)
}

func TestAggregateDuplicate(t *testing.T) {
	a := NewAggregator()
	require.NoError(t, a.Add(rec("m", "d1", sixWords, nil)))
	require.NoError(t, a.Add(rec("other", "d1", sixWords, nil)), "same doc, other model")
	err := a.Add(rec("m", "d1", sixWords, ptr(0.9)))
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrDuplicate))
	assert.Contains(t, err.Error(), `"d1"`)
}

func TestAggregateLatencyAndTokens(t *testing.T) {
	a := NewAggregator()
	for i := 1; i <= 100; i++ {
		r := rec("m", fmt.Sprint(i), sixWords, ptr(0.9))
		r.LatencyMS = float64(i)
		r.TTFTMS = float64(i) / 10
		r.Usage = &results.Usage{PromptTokens: 100, CompletionTokens: i}
		require.NoError(t, a.Add(r))
	}
	// A failed request's latency is left out; its usage (none) too.
	failed := &results.Record{Schema: 1, Model: "m", DocID: "x", LatencyMS: 1e6, Error: &results.Error{Class: errclass.Server}}
	require.NoError(t, a.Add(failed))
	s := a.Stats()[0]
	assert.Equal(t, 100, s.LatencyN)
	assert.InDelta(t, 50.5, s.LatencyP50MS, 1e-9) // numpy: percentile(1..100, 50)
	assert.InDelta(t, 95.05, s.LatencyP95MS, 1e-4)
	assert.InDelta(t, 5.05, s.TTFTP50MS, 1e-4)
	assert.Equal(t, int64(10000), s.TokensIn)
	assert.Equal(t, int64(5050), s.TokensOut)
	assert.InDelta(t, 50.5, s.TokensOutMean, 1e-9)
	assert.Equal(t, 100, s.UsageDocs)
}

// Repeated judgments count per model, and of them those whose verdicts
// flipped; invalid summaries and single verdicts count in neither.
func TestAggregateFlippedVerdicts(t *testing.T) {
	a := NewAggregator()
	for i, j := range []results.Judgment{
		{Scorer: "judge", Score: ptr(1.0), Repeats: []float64{1, 0, 1}, Flipped: true},
		{Scorer: "judge", Score: ptr(0.0), Repeats: []float64{0, 0, 0}},
		{Scorer: "judge", Score: ptr(0.2), Repeats: []float64{0.2, 0.9}, Flipped: true},
		{Scorer: "judge", Score: ptr(0.9)},
	} {
		r := rec("m", fmt.Sprint("d", i), sixWords+" It was warm.", nil)
		r.Judgment = &j
		require.NoError(t, a.Add(r))
	}
	short := rec("m", "short", "Too short to count.", nil)
	short.Judgment = &results.Judgment{Scorer: "judge", Score: ptr(1.0), Repeats: []float64{1, 0, 1}, Flipped: true}
	require.NoError(t, a.Add(short))
	require.NoError(t, a.Add(rec("n", "d0", sixWords+" It was warm.", ptr(0.9))))
	rows := a.Stats()
	require.Len(t, rows, 2)
	for _, s := range rows {
		switch s.Model {
		case "m":
			assert.Equal(t, 3, s.Repeated)
			assert.Equal(t, 2, s.Flipped)
		case "n":
			assert.Zero(t, s.Repeated)
			assert.Zero(t, s.Flipped)
		}
	}
}
