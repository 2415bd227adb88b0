package leaderboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/stats"
)

// wilsonFixtures are statsmodels' proportion_confint(method="wilson") values,
// written by compare/testdata/make_fixtures.py.
func wilsonFixtures(t *testing.T) []struct {
	K, N int
	CI   [2]float64
} {
	b, err := os.ReadFile(filepath.Join("..", "compare", "testdata", "fixtures.json"))
	require.NoError(t, err)
	var f struct {
		Wilson []struct {
			K, N int
			CI   [2]float64
		}
	}
	require.NoError(t, json.Unmarshal(b, &f))
	require.NotEmpty(t, f.Wilson)
	return f.Wilson
}

// statsFor builds a row through the aggregator: n documents of which k are
// valid, and of the valid ones h hallucinated.
func statsFor(t *testing.T, model string, n, k, h int) ModelStats {
	a := NewAggregator()
	for i := range n {
		summary, score := sixWords, 0.9
		if i >= k {
			summary = RefusalSentence
		} else if i < h {
			score = 0.1
		}
		require.NoError(t, a.Add(rec(model, fmt.Sprint(i), summary, &score)))
	}
	return a.Stats()[0]
}

func TestWilsonIntervalsOfEveryRate(t *testing.T) {
	for _, c := range wilsonFixtures(t) {
		// k of n documents answered gives the answer rate's interval; n
		// answered with k hallucinations gives the hallucination rate's.
		ar := statsFor(t, "m", c.N, c.K, 0)
		assert.InDelta(t, 100*c.CI[0], ar.ARLow, 1e-9, "AR %d/%d", c.K, c.N)
		assert.InDelta(t, 100*c.CI[1], ar.ARHigh, 1e-9, "AR %d/%d", c.K, c.N)
		hr := statsFor(t, "m", c.N, c.N, c.K)
		assert.InDelta(t, 100*c.CI[0], hr.HRLow, 1e-9, "HR %d/%d", c.K, c.N)
		assert.InDelta(t, 100*c.CI[1], hr.HRHigh, 1e-9, "HR %d/%d", c.K, c.N)
		// Consistency is the complement: its interval mirrors.
		assert.InDelta(t, 100-100*c.CI[1], hr.FCRLow, 1e-9)
		assert.InDelta(t, 100-100*c.CI[0], hr.FCRHigh, 1e-9)
		assert.Equal(t, IntervalWilson, hr.CI)
	}
}

func TestBootstrapIntervals(t *testing.T) {
	rows := []ModelStats{statsFor(t, "a", 400, 380, 38), statsFor(t, "b", 100, 90, 30)}
	opts := IntervalOptions{Method: IntervalBootstrap, Seed: 42}
	require.NoError(t, SetIntervals(rows, opts))
	for _, s := range rows {
		assert.Equal(t, IntervalBootstrap, s.CI)
		assert.True(t, s.HRLow <= s.HallucinationRate && s.HallucinationRate <= s.HRHigh, "%s HR %v [%v, %v]", s.Model, s.HallucinationRate, s.HRLow, s.HRHigh)
		assert.True(t, s.ARLow <= s.AnswerRate && s.AnswerRate <= s.ARHigh)
		assert.InDelta(t, 100-s.HRHigh, s.FCRLow, 1e-9)
		// Close to Wilson at these sizes, within a couple of points.
		w := statsFor(t, s.Model, s.Documents, s.Valid, s.Hallucinated)
		assert.InDelta(t, w.HRLow, s.HRLow, 2.5)
		assert.InDelta(t, w.HRHigh, s.HRHigh, 2.5)
	}
	// Repeatable, and one model's interval does not depend on the others.
	alone := []ModelStats{statsFor(t, "b", 100, 90, 30)}
	require.NoError(t, SetIntervals(alone, opts))
	assert.Equal(t, rows[1].HRLow, alone[0].HRLow)
	assert.Equal(t, rows[1].ARHigh, alone[0].ARHigh)
	// Another seed moves the bounds a little.
	other := []ModelStats{statsFor(t, "b", 100, 90, 30)}
	require.NoError(t, SetIntervals(other, IntervalOptions{Method: IntervalBootstrap, Seed: 43}))
	assert.NotEqual(t, [4]float64{rows[1].HRLow, rows[1].HRHigh, rows[1].ARLow, rows[1].ARHigh},
		[4]float64{other[0].HRLow, other[0].HRHigh, other[0].ARLow, other[0].ARHigh})

	// No judged summary: no interval.
	unjudged := NewAggregator()
	require.NoError(t, unjudged.Add(rec("u", "1", sixWords, nil)))
	us := unjudged.Stats()
	require.NoError(t, SetIntervals(us, opts))
	assert.True(t, math.IsNaN(us[0].HRLow) && math.IsNaN(us[0].FCRHigh))
	assert.False(t, math.IsNaN(us[0].ARLow))

	assert.ErrorContains(t, SetIntervals(rows, IntervalOptions{Method: "jackknife"}), `"jackknife"`)
	assert.Error(t, SetIntervals(rows, IntervalOptions{Samples: -1}))
}

func TestCommonStats(t *testing.T) {
	a := NewAggregator()
	a.KeepForCommon()
	add := func(model, doc, summary string, score float64) {
		require.NoError(t, a.Add(rec(model, doc, summary, &score)))
	}
	// d1..d4 answered by both; d5 refused by "b"; d6 only "a" has; d7 an
	// error for "a".
	for i, s := range []float64{0.9, 0.9, 0.1, 0.9} {
		add("a", fmt.Sprint("d", i+1), sixWords, s)
	}
	for i, s := range []float64{0.9, 0.1, 0.1, 0.1} {
		add("b", fmt.Sprint("d", i+1), sixWords+" More words here.", s)
	}
	add("a", "d5", sixWords, 0.1)
	add("b", "d5", RefusalSentence, 0.9)
	add("a", "d6", sixWords, 0.1)
	add("b", "d7", sixWords, 0.1)
	require.NoError(t, a.Add(&results.Record{Schema: 1, Model: "a", DocID: "d7", Error: &results.Error{Class: errclass.Timeout}}))

	rows, n, err := a.CommonStats()
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	require.Len(t, rows, 2)
	byModel := map[string]ModelStats{rows[0].Model: rows[0], rows[1].Model: rows[1]}
	ra, rb := byModel["a"], byModel["b"]
	assert.Equal(t, "a", rows[0].Model, "sorted by the common-document rate")
	// On d1..d4: a hallucinates on 1 of 4, b on 3 of 4.
	assert.Equal(t, 4, ra.Judged)
	assert.InDelta(t, 25.0, ra.HallucinationRate, 1e-9)
	assert.InDelta(t, 75.0, rb.HallucinationRate, 1e-9)
	lo, hi := stats.Wilson(3, 4, stats.Z95)
	assert.InDelta(t, lo*100, rb.HRLow, 1e-9)
	assert.InDelta(t, 100-hi*100, rb.FCRLow, 1e-9)
	assert.InDelta(t, 6.0, ra.AvgSummaryWords, 1e-9)
	assert.InDelta(t, 9.0, rb.AvgSummaryWords, 1e-9)
	// Answer rates still cover every document: a answered 6 of 7, b 5 of 6.
	assert.Equal(t, 7, ra.Documents)
	assert.InDelta(t, 600.0/7, ra.AnswerRate, 1e-9)
	assert.InDelta(t, 500.0/6, rb.AnswerRate, 1e-9)
	lo, _ = stats.Wilson(5, 6, stats.Z95)
	assert.InDelta(t, lo*100, rb.ARLow, 1e-9)
	assert.Equal(t, 4, ra.CommonDocs)
	assert.True(t, ra.Common && rb.Common)

	// A model that answered nothing leaves no common document.
	z := NewAggregator()
	z.KeepForCommon()
	require.NoError(t, z.Add(rec("a", "d1", sixWords, ptr(0.9))))
	require.NoError(t, z.Add(rec("z", "d1", "", nil)))
	rows, n, err = z.CommonStats()
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	assert.True(t, math.IsNaN(rows[0].HallucinationRate))
	assert.Equal(t, 0, rows[0].Judged)
	assert.True(t, rows[0].Common, "no common document is still said")

	_, _, err = NewAggregator().CommonStats()
	assert.ErrorIs(t, err, ErrNotKept)
}

func TestReadRecords(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	w := results.NewWriter(&buf)
	require.NoError(t, w.Write(&results.Record{Model: "m", DocID: "d1", Source: "Text one.", Summary: sixWords}))
	require.NoError(t, w.Write(&results.Record{Model: "m", DocID: "d2", Source: "Text two.", Summary: sixWords}))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "m"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "m", results.JudgmentsFile), buf.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docs.jsonl"), []byte(`{"id":"x","text":"y"}`+"\n"), 0o644))

	var got []string
	var skipped []string
	err := ReadRecords([]string{dir}, nil, func(p string) { skipped = append(skipped, p) }, func(r *results.Record) error {
		got = append(got, r.DocID+":"+r.Source)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"d1:Text one.", "d2:Text two."}, got)
	assert.Equal(t, []string{filepath.Join(dir, "docs.jsonl")}, skipped)

	// fn's error is named by file and line; so is a bad record.
	path := filepath.Join(dir, "m", results.JudgmentsFile)
	err = ReadRecords([]string{path}, nil, nil, func(r *results.Record) error {
		if r.DocID == "d2" {
			return fmt.Errorf("boom")
		}
		return nil
	})
	assert.EqualError(t, err, path+" line 2: boom")
	err = ReadRecords([]string{"-"}, strings.NewReader("{\"schema\":1}\n"), nil, func(*results.Record) error { return nil })
	assert.ErrorContains(t, err, "stdin line 1")
}
