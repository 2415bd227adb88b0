package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallu-eval/hallu/internal/testutil"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/report"
	"github.com/hallu-eval/hallu/results"
)

// reportCmd runs `hallu report ARGS...` and returns its exit status, stdout
// and stderr.
func reportCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"report"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeJudged(t *testing.T, path string, model string, scores ...float64) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	w := results.NewWriter(f)
	for i, s := range scores {
		r := &results.Record{Model: model, DocID: string(rune('a' + i)), Summary: "The cat sat on the mat today."}
		r.Judgment = &results.Judgment{Scorer: "test", Score: &s}
		require.NoError(t, w.Write(r))
	}
}

func TestReportDirectoryAndFormats(t *testing.T) {
	dir := t.TempDir()
	writeJudged(t, filepath.Join(dir, "m1", results.JudgmentsFile), "m1", 0.9, 0.8, 0.1, 0.7)
	writeJudged(t, filepath.Join(dir, "m1", results.GenerationsFile), "m1", 0.9) // superseded
	writeJudged(t, filepath.Join(dir, "m2", results.JudgmentsFile), "m2", 0.9, 0.9)

	code, out, errOut := reportCmd(t, "", "--format", "csv", dir)
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	assert.True(t, strings.HasPrefix(lines[0], report.CSVHeader+","))
	assert.True(t, strings.HasPrefix(lines[1], "m2,0.0,100.0,100.0,7.0,"), lines[1])
	assert.True(t, strings.HasPrefix(lines[2], "m1,25.0,75.0,100.0,7.0,"), lines[2])

	for _, f := range []string{"table", "markdown", "json"} {
		code, out, errOut := reportCmd(t, "", "--format", f, dir)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "m1", f)
	}

	// -o writes the file and nothing to stdout.
	dest := filepath.Join(dir, "leaderboard.md")
	code, out, errOut = reportCmd(t, "", "--format", "markdown", "-o", dest, dir)
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, out)
	b, err := os.ReadFile(dest)
	require.NoError(t, err)
	assert.Contains(t, string(b), "| m2 | 0.0 % |")
}

func TestReportStdin(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.jsonl")
	writeJudged(t, path, "m", 0.2)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	code, out, errOut := reportCmd(t, string(b), "--format", "csv", "-")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "\nm,100.0,0.0,100.0,7.0,")
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.jsonl")
	writeJudged(t, path, "m", 0.2, 0.3)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"schema":1,"doc_id":"x","model":"m","judgment":{"score":7}}` + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	code, out, errOut := reportCmd(t, "", path)
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, path+" line 3: judgment score 7 is outside [0,1]")

	code, _, errOut = reportCmd(t, "", "--format", "yaml", path)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `--format "yaml": want table, markdown, csv, json, html`)

	// No paths: the records come from the pipe, here an empty one.
	code, _, errOut = reportCmd(t, "")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "no records in the input")

	code, _, _ = reportCmd(t, "", filepath.Join(dir, "missing.jsonl"))
	assert.Equal(t, 2, code)

	code, _, errOut = reportCmd(t, "", "--from", "other", path)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "want hallu or vectara")

	// A failed report leaves an existing output file alone.
	dest := filepath.Join(dir, "out.csv")
	require.NoError(t, os.WriteFile(dest, []byte("keep"), 0o644))
	code, _, _ = reportCmd(t, "", "-o", dest, path)
	assert.Equal(t, 2, code)
	b, err := os.ReadFile(dest)
	require.NoError(t, err)
	assert.Equal(t, "keep", string(b))
}

func TestReportVectara(t *testing.T) {
	root := testutil.SharedTestdata(t, "vectara-lb")
	want, err := os.ReadFile(filepath.Join(root, "expected.csv"))
	require.NoError(t, err)
	code, out, errOut := reportCmd(t, "", "--from", "vectara", "--format", "csv", root)
	require.Equal(t, 0, code, errOut)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		got = append(got, strings.Join(strings.Split(line, ",")[:5], ","))
	}
	// Both are sorted by hallucination rate.
	assert.Equal(t, string(want), strings.Join(got, "\n")+"\n")
}

func TestReportReadsPipeWithoutPaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.jsonl")
	writeJudged(t, path, "piped-model", 0.9, 0.1, 0.8)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	code, out, errOut := reportCmd(t, string(b), "--format", "csv")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "piped-model,33.3,66.7,")
}

func TestReportBootstrapSeed(t *testing.T) {
	dir := t.TempDir()
	writeJudged(t, filepath.Join(dir, "a", "judgments.jsonl"), "a", 0.9, 0.1, 0.2, 0.8, 0.7, 0.3, 0.6)
	boot := func(args ...string) (string, string) {
		t.Helper()
		code, out, errOut := reportCmd(t, "", append([]string{"--format", "csv", "--ci", "bootstrap", "--bootstrap-samples", "300", dir}, args...)...)
		require.Equal(t, 0, code, errOut)
		return out, errOut
	}
	seed5, errOut := boot("--bootstrap-seed", "5")
	assert.Empty(t, errOut)
	seed6, _ := boot("--bootstrap-seed", "6")
	assert.NotEqual(t, seed5, seed6, "the seed reaches the bootstrap")

	// The old spelling still works, with a notice.
	old, errOut := boot("--seed", "5")
	assert.Equal(t, seed5, old)
	assert.Equal(t, "hallu report: NOTICE: --seed is deprecated; use --bootstrap-seed\n", errOut)
}
