package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// calibrated runs calibrate --calibration-out on calibrationSet with the
// overlap scorer and extra flags, returning the file's path and contents.
func calibrated(t *testing.T, extra ...string) (string, *calibration.File) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "cal.json")
	args := append([]string{"calibrate", "--labels", calibrationSet(t, ".csv"), "--scorer", "overlap", "--calibration-out", out}, extra...)
	code, _, errOut := runHallu(t, args...)
	require.Equal(t, 0, code, errOut)
	f, err := calibration.Read(out)
	require.NoError(t, err)
	return out, f
}

// writeJudgedBy writes model's records judged by scorer id: hallucinated
// (score 0.1) on the first bad of n documents, consistent on the rest.
func writeJudgedBy(t *testing.T, path, model string, id scorers.Identity, n, bad int) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	w := results.NewWriter(f)
	for i := range n {
		s := 0.9
		if i < bad {
			s = 0.1
		}
		r := &results.Record{Model: model, DocID: "doc-" + string(rune('A'+i/26)) + string(rune('a'+i%26)), Summary: "The cat sat on the mat today."}
		r.Judgment = &results.Judgment{Scorer: id.Name, Version: id.Version, Options: id.Options, Weights: id.Weights, ScorerKey: id.Key(), Score: &s}
		require.NoError(t, w.Write(r))
	}
}

// TestReportCalibration: calibrate's file corrects the rates of results
// judged by the same scorer, in every format.
func TestReportCalibration(t *testing.T) {
	cal, f := calibrated(t)
	dir := t.TempDir()
	writeJudgedBy(t, filepath.Join(dir, "a", results.JudgmentsFile), "a", f.Scorer, 60, 6)
	writeJudgedBy(t, filepath.Join(dir, "b", results.JudgmentsFile), "b", f.Scorer, 60, 30)

	code, out, errOut := reportCmd(t, "", "--calibration", cal, dir)
	require.Equal(t, 0, code, errOut)
	for _, want := range []string{"CORRECTED FOR JUDGE ERROR", "sensitivity 75.0 %", "a < b", "decisive"} {
		assert.Contains(t, out, want)
	}
	code, out, errOut = reportCmd(t, "", "--calibration", cal, "--format", "json", dir)
	require.Equal(t, 0, code, errOut)
	var rows []struct {
		Model     string
		Corrected struct {
			HallucinationRate float64            `json:"hallucination_rate"`
			CILow             float64            `json:"ci_low"`
			CIHigh            float64            `json:"ci_high"`
			PBelow            map[string]float64 `json:"p_below"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 2)
	// b: 50% observed, sensitivity 3/4 and specificity 4/4:
	// (0.5 + 1 − 1) / 0.75.
	assert.Equal(t, "b", rows[1].Model)
	assert.InDelta(t, 66.67, rows[1].Corrected.HallucinationRate, 0.01)
	assert.Less(t, rows[1].Corrected.CILow, rows[1].Corrected.HallucinationRate)
	assert.Greater(t, rows[0].Corrected.PBelow["b"], 0.95)

	for format, want := range map[string]string{"markdown": "### Corrected for judge error", "csv": "corrected_hr"} {
		code, out, errOut = reportCmd(t, "", "--calibration", cal, "--format", format, dir)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, want, format)
	}
	html := filepath.Join(t.TempDir(), "r.html")
	code, _, errOut = reportCmd(t, "", "--calibration", cal, "--format", "html", "-o", html, dir)
	require.Equal(t, 0, code, errOut)
	page, err := os.ReadFile(html)
	require.NoError(t, err)
	assert.Contains(t, string(page), `<section id="corrected">`)
	assert.Contains(t, string(page), "a &lt; b")
}

// TestReportCalibrationRefused: a calibration of another scorer identity,
// or at another threshold, is refused with exit 2, naming what differs.
func TestReportCalibrationRefused(t *testing.T) {
	cal, f := calibrated(t)
	dir := t.TempDir()
	other := f.Scorer
	other.Options = map[string]string{"mode": "strict"}
	writeJudgedBy(t, filepath.Join(dir, "a", results.JudgmentsFile), "a", other, 10, 2)
	code, _, errOut := reportCmd(t, "", "--calibration", cal, dir)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "does not describe the scorer that judged a")
	assert.Contains(t, errOut, "option mode unset in the calibration, strict in the judgments")

	at6, f6 := calibrated(t, "--threshold", "0.6")
	dir = t.TempDir()
	writeJudgedBy(t, filepath.Join(dir, "a", results.JudgmentsFile), "a", f6.Scorer, 10, 2)
	code, _, errOut = reportCmd(t, "", "--calibration", at6, dir)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "threshold 0.6 in the calibration, 0.5 in the judgments")

	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"kind":"hallu-calibration","version":9}`), 0o644))
	code, _, errOut = reportCmd(t, "", "--calibration", bad, dir)
	assert.Equal(t, 2, code)
	assert.True(t, strings.Contains(errOut, "version 9"), errOut)
}

// TestCompareCalibration: compare --calibration adds the corrected rates
// (text, HTML) and refuses another scorer's calibration with exit 2.
func TestCompareCalibration(t *testing.T) {
	cal, f := calibrated(t)
	dir := t.TempDir()
	base, cand := filepath.Join(dir, "base.jsonl"), filepath.Join(dir, "cand.jsonl")
	writeJudgedBy(t, base, "a", f.Scorer, 40, 4)
	writeJudgedBy(t, cand, "b", f.Scorer, 40, 20)
	html := filepath.Join(t.TempDir(), "c.html")
	code, out, errOut := runHallu(t, "compare", base, cand, "--calibration", cal, "--html", html)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "corrected for judge error")
	assert.Contains(t, out, "P(candidate's true hallucination rate < base's) is 0.01: decisive")
	page, err := os.ReadFile(html)
	require.NoError(t, err)
	assert.Contains(t, string(page), `<section id="corrected">`)

	other := f.Scorer
	other.Version = "2"
	writeJudgedBy(t, base, "a", other, 40, 4)
	writeJudgedBy(t, cand, "b", other, 40, 20)
	code, _, errOut = runHallu(t, "compare", base, cand, "--calibration", cal)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `version "1" in the calibration, "2" in the judgments`)
}
