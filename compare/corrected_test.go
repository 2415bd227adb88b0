package compare

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/scorers"
)

var goldenHHEM = scorers.Identity{Name: "hhem", Version: "2.1-open", Weights: "2f1d3c4b5a69788796a5b4c3d2e1f0a9"}

func calibrationOf(id scorers.Identity, cf calibration.Confusion) *calibration.File {
	return calibration.New(id, 0.5, cf, 0, calibration.Labels{Path: "labels.csv", Format: "hallu", SHA256: "9c1e", Count: cf.Positives() + cf.Negatives()})
}

// TestGoldenCalibrated pins the corrected rates in every rendering of the
// regression comparison (4 against 14 hallucinated of 40).
func TestGoldenCalibrated(t *testing.T) {
	base := keyedSide(t, "base-model", 4, goldenHHEM, nil)
	cand := keyedSide(t, "cand-model", 14, goldenHHEM, nil)
	r, err := Compare(base, cand, Options{})
	require.NoError(t, err)
	require.NoError(t, r.Calibrate(calibrationOf(goldenHHEM, calibration.Confusion{TP: 40, FN: 10, TN: 45, FP: 5}), "cal.json", 1))
	vs := r.Check(gates(5, 1), DefaultMinDocs)
	p, ok := r.candidateBelow()
	require.True(t, ok)
	assert.Less(t, p.PBelow, 0.05, "10%% against 35%% observed: the candidate is decisively worse")
	assert.True(t, p.Decisive)
	for ext, write := range map[string]func(*bytes.Buffer) error{
		"txt":  func(b *bytes.Buffer) error { return r.WriteText(b, vs) },
		"md":   func(b *bytes.Buffer) error { return r.WriteMarkdown(b, vs) },
		"json": func(b *bytes.Buffer) error { return r.WriteJSON(b, vs) },
	} {
		var b bytes.Buffer
		require.NoError(t, write(&b))
		golden(t, "calibrated."+ext, b.Bytes())
	}
}

// TestCalibrateRefusesOtherScorer: a calibration of another scorer identity
// than either side's is a *calibration.MismatchError naming the side.
func TestCalibrateRefusesOtherScorer(t *testing.T) {
	base := keyedSide(t, "base-model", 4, goldenHHEM, nil)
	cand := keyedSide(t, "cand-model", 6, goldenHHEM, nil)
	r, err := Compare(base, cand, Options{})
	require.NoError(t, err)
	other := goldenHHEM
	other.Weights = "0000"
	err = r.Calibrate(calibrationOf(other, calibration.Confusion{TP: 9, FN: 1, TN: 9, FP: 1}), "cal.json", 1)
	var me *calibration.MismatchError
	require.True(t, errors.As(err, &me), "%v", err)
	assert.Equal(t, "base-model", me.Model)
	assert.Contains(t, err.Error(), `weights "0000" in the calibration`)
	assert.Nil(t, r.Corrected)

	// A model compared with itself keeps its two sides apart.
	self := keyedSide(t, "m", 6, goldenHHEM, nil)
	r, err = Compare(keyedSide(t, "m", 4, goldenHHEM, nil), self, Options{})
	require.NoError(t, err)
	require.NoError(t, r.Calibrate(calibrationOf(goldenHHEM, calibration.Confusion{TP: 9, FN: 1, TN: 9, FP: 1}), "cal.json", 1))
	assert.Equal(t, "m (base)", r.Corrected.Rates[0].Model)
	_, ok := r.candidateBelow()
	assert.True(t, ok)
}
