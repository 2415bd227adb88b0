package calibration

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCorrect: the point estimate is Rogan–Gladen's, the interval holds it
// and is wider than the observed rate's own sampling error alone allows, and
// the same seed gives the same figures.
func TestCorrect(t *testing.T) {
	f := sample() // sensitivity 0.8, specificity 0.9
	models := []Observed{{"low", 30, 300}, {"high", 90, 300}, {"near", 96, 300}, {"none", 0, 0}, {"clean", 0, 300}}
	c := Correct(f, "cal.json", models, Options{Seed: 1})
	require.False(t, c.Chance)
	assert.Equal(t, DefaultDraws, c.Draws)
	assert.InDelta(t, 0.7, c.Youden, 1e-12)
	assert.Greater(t, c.YoudenLow, MinYouden)
	assert.Less(t, c.SensLow, 0.8)
	assert.Greater(t, c.SensHigh, 0.8)

	low := c.Rates[0]
	assert.InDelta(t, 10, low.Observed, 1e-9)
	// (0.10 + 0.9 − 1) / 0.7 = 0: the judge's false positives alone give a
	// 10% observed rate.
	assert.Equal(t, 0.0, low.Corrected)
	assert.Equal(t, 0.0, low.Low)
	high := c.Rates[1]
	assert.InDelta(t, (0.3+0.9-1)/0.7*100, high.Corrected, 1e-9)
	assert.Less(t, high.Low, high.Corrected)
	assert.Greater(t, high.High, high.Corrected)
	// The observed rate's Wilson interval is about ±5 points; the judge's
	// own uncertainty, divided by J, widens it.
	assert.Greater(t, high.High-high.Low, 15.0)
	assert.True(t, math.IsNaN(c.Rates[3].Corrected), "no judged summary, no rate")

	assert.Equal(t, 0, low.Clipped, "10%% observed on 300 is the judge's false-positive rate within sampling error")
	// 0 of 300 flagged by a judge that flags 10% of consistent pairs: the
	// summaries are unlike the labelled ones.
	clean := c.Rates[4]
	assert.Equal(t, -1, clean.Clipped)
	assert.Less(t, clean.High, 0.5)
	assert.Contains(t, c.ClipNote(clean), "pinned at 0")
	assert.Len(t, c.ClipNotes(), 1)

	require.Len(t, c.Pairs, 6, "pairs of the models with judged summaries")
	p, ok := c.Pair("low", "high")
	require.True(t, ok)
	assert.Greater(t, p.PBelow, 0.99)
	assert.True(t, p.Decisive)
	p, ok = c.Pair("near", "high")
	require.True(t, ok)
	assert.False(t, p.Decisive, "30%% against 32%% observed on 300 documents: not decisive (P %v)", p.PBelow)
	q, _ := c.Pair("high", "near")
	assert.InDelta(t, 1, p.PBelow+q.PBelow, 1e-12)
	_, ok = c.Pair("none", "high")
	assert.False(t, ok)

	again := Correct(f, "cal.json", models, Options{Seed: 1})
	assert.Equal(t, c.Rates[1], again.Rates[1])
	assert.Equal(t, c.Pairs, again.Pairs)
	// A model's interval does not move when another model joins.
	alone := Correct(f, "cal.json", models[1:2], Options{Seed: 1})
	assert.Equal(t, c.Rates[1], alone.Rates[0])
}

// TestCorrectChance: a judge whose sensitivity + specificity − 1 may be 0
// on its labelled set corrects nothing.
func TestCorrectChance(t *testing.T) {
	f := New(hhem, 0.5, Confusion{TP: 12, FN: 8, TN: 9, FP: 11}, 0, Labels{Path: "l.csv", Count: 40})
	c := Correct(f, "cal.json", []Observed{{"a", 10, 100}, {"b", 50, 100}}, Options{})
	assert.True(t, c.Chance)
	assert.LessOrEqual(t, c.YoudenLow, MinYouden)
	assert.True(t, math.IsNaN(c.Rates[0].Corrected))
	assert.InDelta(t, 10, c.Rates[0].Observed, 1e-12)
	assert.Empty(t, c.Pairs)
}
