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
)

// calibrationSet writes labelled pairs the overlap scorer gets mostly
// right: faithful copies labelled 1, and summaries with an invented number
// or name labelled 0, plus one it gets wrong each way.
func calibrationSet(t *testing.T, ext string) string {
	t.Helper()
	src := "The council approved a budget of 3,400 dollars on Monday. Mayor Alice Grant said the park would reopen in May."
	rows := []struct {
		summary string
		label   string
	}{
		{"The council approved a budget of 3,400 dollars on Monday.", "1"},
		{"Mayor Alice Grant said the park would reopen in May.", "consistent"},
		{"The council approved a budget on Monday and the park would reopen.", "1"},
		{"The council approved a budget of 9,100 dollars on Monday.", "0"},
		{"Mayor Robert Stone said the park would reopen in May.", "hallucinated"},
		{"The council approved a budget of 3,400 dollars on Friday.", "0"},
		{"The council rejected the budget of 3,400 dollars on Monday.", "0"}, // overlap misses a changed verb
		{"Grant, the mayor, expects visitors back in the park from May onwards.", "1"},
	}
	var b strings.Builder
	if ext == ".csv" {
		b.WriteString("id,source,summary,label\n")
		for i, r := range rows {
			b.WriteString(string(rune('a'+i)) + ",\"" + src + "\",\"" + r.summary + "\"," + r.label + "\n")
		}
	} else {
		for i, r := range rows {
			line, _ := json.Marshal(map[string]any{"id": string(rune('a' + i)), "doc": src, "claim": r.summary, "label": r.label})
			b.Write(append(line, '\n'))
		}
	}
	path := filepath.Join(t.TempDir(), "labels"+ext)
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

func TestCalibrateTableAndJSON(t *testing.T) {
	path := calibrationSet(t, ".csv")
	code, out, errOut := runHallu(t, "calibrate", "--labels", path, "--scorer", "overlap")
	require.Equal(t, 0, code, errOut)
	for _, want := range []string{"scorer", "overlap", "8 pairs scored (4 consistent, 4 hallucinated)", "balanced accuracy @ 0.5", "AUROC", "best threshold"} {
		assert.Contains(t, out, want)
	}

	code, out, errOut = runHallu(t, "calibrate", "--labels", calibrationSet(t, ".jsonl"), "--scorer", "overlap", "--format", "json", "--batch", "3", "--concurrency", "2")
	require.Equal(t, 0, code, errOut)
	var rep map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, "overlap", rep["scorer"])
	assert.Equal(t, 8.0, rep["n"])
	assert.Equal(t, 0.0, rep["errors"])
	for _, k := range []string{"balanced_accuracy", "hallucinated_precision", "hallucinated_recall", "auroc", "best_threshold", "best_balanced_accuracy"} {
		v, ok := rep[k].(float64)
		require.True(t, ok, "%s is a number: %v", k, rep[k])
		assert.True(t, v >= 0 && v <= 1, "%s = %v", k, v)
	}
	// The heuristic separates these well; a coin would sit at 0.5.
	assert.Greater(t, rep["auroc"].(float64), 0.7)
	assert.GreaterOrEqual(t, rep["best_balanced_accuracy"].(float64), rep["balanced_accuracy"].(float64))
}

func TestCalibrateCountsScorerErrors(t *testing.T) {
	// An exec plugin that answers with the wrong id fails every pair: the
	// errors are counted, and with nothing left to measure the run fails.
	path := calibrationSet(t, ".jsonl")
	code, _, errOut := runHallu(t, "calibrate", "--labels", path, "--scorer", "exec",
		"--scorer-opt", `cmd=/bin/sh -c 'while read l; do echo "{\"id\":\"x\",\"score\":0.5}"; done'`)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "failed on all 8 pairs")
	assert.Contains(t, errOut, `id "x", expected "a"`)
}

func TestCalibrateBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("source,summary,label\nS,Sum,perhaps\n"), 0o644))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--scorer", "overlap"}, "--labels is required"},
		{[]string{"--labels", bad}, "--scorer is required"},
		{[]string{"--labels", bad, "--scorer", "overlap", "--format", "xml"}, "--format"},
		{[]string{"--labels", filepath.Join(dir, "none.csv"), "--scorer", "overlap"}, "none.csv"},
		{[]string{"--labels", bad, "--scorer", "nope"}, `unknown scorer "nope"`},
		{[]string{"--labels", bad, "--scorer", "overlap", "--scorer-opt", "chunk-words=x"}, "chunk-words"},
	}
	for _, c := range cases {
		code, _, errOut := runHallu(t, append([]string{"calibrate"}, c.args...)...)
		assert.Equal(t, 2, code, c.args)
		assert.Contains(t, errOut, c.want, c.args)
	}
	code, _, errOut := runHallu(t, "calibrate", "--labels", bad, "--scorer", "overlap")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `bad.csv line 2: label "perhaps"`)
}

func TestCalibrateFormatsAndOut(t *testing.T) {
	path := calibrationSet(t, ".csv")
	code, out, errOut := runHallu(t, "calibrate", "--labels", path, "--scorer", "overlap", "--format", "csv")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, "metric,value\nscorer,overlap\n"), out)
	assert.Contains(t, out, "\nn,8\n")
	assert.Contains(t, out, "\nauroc,0.")

	code, md, errOut := runHallu(t, "calibrate", "--labels", path, "--scorer", "overlap", "--format", "markdown")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(md, "| metric | value |\n|---|---|\n| scorer | overlap |\n"), md)
	assert.Contains(t, md, "| hallucinated | 4 |\n")

	// -o and --out write the same file instead of standard output.
	dir := t.TempDir()
	for _, f := range []string{"-o", "--out"} {
		dest := filepath.Join(dir, "cal"+f+".csv")
		code, stdout, errOut := runHallu(t, "calibrate", "--labels", path, "--scorer", "overlap", "--format", "csv", f, dest)
		require.Equal(t, 0, code, errOut)
		assert.Empty(t, stdout)
		b, err := os.ReadFile(dest)
		require.NoError(t, err)
		assert.Equal(t, out, string(b))
	}

	code, _, errOut = runHallu(t, "calibrate", "--labels", path, "--scorer", "overlap", "--format", "html")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `--format "html": want table, markdown, csv, json`)
}

// TestCalibrateCalibrationOut: the calibration file carries the scorer's
// identity as its judgments would, the confusion counts at the threshold
// and where the labels came from.
func TestCalibrateCalibrationOut(t *testing.T) {
	path := calibrationSet(t, ".csv")
	out := filepath.Join(t.TempDir(), "cal.json")
	code, _, errOut := runHallu(t, "calibrate", "--labels", path, "--scorer", "overlap", "--calibration-out", out)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "wrote "+out)
	f, err := calibration.Read(out)
	require.NoError(t, err)
	assert.Equal(t, "overlap", f.Scorer.Name)
	assert.Equal(t, 0.5, f.Threshold)
	// calibrationSet: overlap misses the changed verb, one of the four
	// hallucinated pairs, and passes the four consistent ones.
	assert.Equal(t, calibration.Confusion{TP: 3, FN: 1, TN: 4, FP: 0}, f.Confusion)
	assert.Equal(t, path, f.Labels.Path)
	assert.Equal(t, "hallu", f.Labels.Format)
	assert.Equal(t, 8, f.Labels.Count)
	sum, err := calibration.HashFile(path)
	require.NoError(t, err)
	assert.Equal(t, sum, f.Labels.SHA256)

	// A set with one class cannot calibrate: the figures are printed, the
	// file is refused.
	one := filepath.Join(t.TempDir(), "one.csv")
	require.NoError(t, os.WriteFile(one, []byte("source,summary,label\nThe cat sat.,The cat sat.,1\n"), 0o644))
	code, _, errOut = runHallu(t, "calibrate", "--labels", one, "--scorer", "overlap", "--calibration-out", filepath.Join(t.TempDir(), "x.json"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "no pair labelled hallucinated")
}
