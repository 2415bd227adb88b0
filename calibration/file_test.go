package calibration

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
)

var hhem = scorers.Identity{Name: "hhem", Version: "2.1-open", Options: map[string]string{"mode": "claims"}, Weights: "2f1d3c4b5a69"}

func sample() *File {
	return New(hhem, 0.5, Confusion{TP: 40, FN: 10, TN: 45, FP: 5}, 2,
		Labels{Path: "labels.csv", Format: "hallu", SHA256: "ab12", Count: 102})
}

func TestFileRoundTrip(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, sample().Write(&b))
	assert.Contains(t, b.String(), `"kind": "hallu-calibration"`)
	assert.Contains(t, b.String(), `"weights": "2f1d3c4b5a69"`)
	path := filepath.Join(t.TempDir(), "cal.json")
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	got, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, sample(), got)
	assert.InDelta(t, 0.8, got.Confusion.Sensitivity(), 1e-12)
	assert.InDelta(t, 0.9, got.Confusion.Specificity(), 1e-12)
}

// TestValidate: every way a file can be unfit to correct a rate is refused
// with the reason.
func TestValidate(t *testing.T) {
	for name, c := range map[string]struct {
		edit func(*File)
		want string
	}{
		"kind":        {func(f *File) { f.Kind = "other" }, "not a hallu calibration file"},
		"version":     {func(f *File) { f.Version = 2 }, "version 2"},
		"edited":      {func(f *File) { f.Scorer.Options["mode"] = "document" }, "was edited"},
		"threshold":   {func(f *File) { f.Threshold = 1.5 }, "threshold 1.5"},
		"negative":    {func(f *File) { f.Confusion.FP = -1 }, "negative count"},
		"no positive": {func(f *File) { f.Confusion.TP, f.Confusion.FN = 0, 0 }, "no pair labelled hallucinated"},
		"no negative": {func(f *File) { f.Confusion.TN, f.Confusion.FP = 0, 0 }, "no pair labelled consistent"},
	} {
		t.Run(name, func(t *testing.T) {
			f := sample()
			f.Scorer.Options = map[string]string{"mode": "claims"}
			c.edit(f)
			err := f.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			var b bytes.Buffer
			assert.Error(t, f.Write(&b), "an invalid file is not written")
		})
	}
	_, err := Decode(strings.NewReader("{not json"), "cal.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cal.json")
}

// TestCheck: a calibration applies only to judgments by the same scorer
// identity at the same threshold; the error names what differs, on which
// side.
func TestCheck(t *testing.T) {
	f := sample()
	assert.NoError(t, f.Check("cal.json", "m", hhem, 0.5))

	other := hhem
	other.Options = map[string]string{"mode": "document"}
	other.Weights = "ffff"
	err := f.Check("cal.json", "llama", other, 0.5)
	var me *MismatchError
	require.True(t, errors.As(err, &me))
	assert.Equal(t, "llama", me.Model)
	assert.Contains(t, err.Error(), `weights "2f1d3c4b5a69" in the calibration, "ffff" in the judgments`)
	assert.Contains(t, err.Error(), "option mode=claims in the calibration, document in the judgments")
	assert.Contains(t, err.Error(), "cal.json")

	err = f.Check("cal.json", "m", hhem, 0.7)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "threshold 0.5 in the calibration, 0.7 in the judgments")
	assert.Contains(t, err.Error(), "calibrate again with --threshold 0.7")

	err = f.Check("cal.json", "m", scorers.Identity{Name: "overlap", Version: "1"}, 0.5)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "scorer hhem in the calibration, overlap in the judgments")
}
