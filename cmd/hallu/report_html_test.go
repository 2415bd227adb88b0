package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/pipeline"
	"github.com/hallu-eval/hallu/results"
)

// demoRun runs the demo configuration (builtin models, overlap scorer) into
// a temporary directory and returns it.
func demoRun(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "demo.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`dataset: builtin
output: `+filepath.Join(dir, "out")+`
concurrency: 4
models:
  - name: builtin:lead-3
    params: 3e8
  - name: builtin:corrupt
    params: 7e9
scorer: overlap
`), 0o644))
	var out, errOut bytes.Buffer
	code := run([]string{"run", "--config", cfg}, strings.NewReader(""), &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	return filepath.Join(dir, "out")
}

func TestWriteHTMLReportFromRunDirectory(t *testing.T) {
	dir := demoRun(t)
	var page, errOut bytes.Buffer
	err := writeHTMLReport(context.Background(), []string{dir}, nil, &page, htmlOptions{MaxDocs: 5, Stderr: &errOut})
	require.NoError(t, err)
	html := page.String()
	// Both models, the size plot (params come from the manifest), and the
	// drill-down capped at 5 per status with the rest accounted for.
	assert.Contains(t, html, "builtin:lead-3")
	assert.Contains(t, html, "builtin:corrupt")
	assert.Contains(t, html, `id="chart-size"`)
	assert.Contains(t, html, "7B")
	assert.Contains(t, html, "Left out of this page")
	assert.LessOrEqual(t, strings.Count(html, `<details class="doc" data-status="consistent"`), 10)
	assert.Contains(t, html, "<mark")
	assert.Contains(t, html, "overlap 1") // scorer and version from the manifest

	// The run directory, standard input and named files give the same
	// figures.
	jf := filepath.Join(dir, "builtin_corrupt", results.JudgmentsFile)
	b, err := os.ReadFile(jf)
	require.NoError(t, err)
	var fromStdin bytes.Buffer
	require.NoError(t, writeHTMLReport(context.Background(), []string{"-"}, bytes.NewReader(b), &fromStdin, htmlOptions{}))
	assert.Contains(t, fromStdin.String(), "builtin:corrupt")
	assert.NotContains(t, fromStdin.String(), "builtin:lead-3")
	assert.Equal(t, strings.Count(string(b), "\n"), strings.Count(fromStdin.String(), `<details class="doc"`),
		"every document of a 62-document run is shown under the default cap")
}

func TestWriteHTMLReportErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(`{"schema":1,"doc_id":"a","model":"m","summary":"x"}`+"\n{oops\n"), 0o644))
	err := writeHTMLReport(context.Background(), []string{bad}, nil, &bytes.Buffer{}, htmlOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.jsonl line 2")

	err = writeHTMLReport(context.Background(), []string{filepath.Join(dir, "missing.jsonl")}, nil, &bytes.Buffer{}, htmlOptions{})
	require.Error(t, err)

	// A bad line on standard input is reported by line, and nothing waits
	// on the drill-down's reader of it.
	lines := strings.Repeat(`{"schema":1,"doc_id":"a","model":"m","summary":"x"}`+"\n", 1) + "{oops\n" +
		strings.Repeat(`{"schema":1,"doc_id":"b","model":"m","summary":"`+strings.Repeat("y", 1000)+`"}`+"\n", 2000)
	err = writeHTMLReport(context.Background(), []string{"-"}, strings.NewReader(lines), &bytes.Buffer{}, htmlOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stdin line 2")

	// A dataset kept beside the results is skipped with a notice, and the
	// page says so.
	run := filepath.Join(dir, "run")
	writeJudged(t, filepath.Join(run, "m", results.JudgmentsFile), "m", 0.9, 0.1)
	require.NoError(t, os.WriteFile(filepath.Join(run, "docs.jsonl"), []byte(`{"id":"a","text":"t"}`+"\n"), 0o644))
	var page, errOut bytes.Buffer
	require.NoError(t, writeHTMLReport(context.Background(), []string{run}, nil, &page, htmlOptions{Stderr: &errOut}))
	assert.Contains(t, errOut.String(), "docs.jsonl: not hallu result records")
	assert.Contains(t, page.String(), "docs.jsonl: not hallu result records")
}

func TestWriteRunHTML(t *testing.T) {
	dir := demoRun(t)
	man, err := results.ReadManifest(dir)
	require.NoError(t, err)
	files := []string{filepath.Join(dir, "builtin_lead-3", results.JudgmentsFile), filepath.Join(dir, "builtin_corrupt", results.JudgmentsFile)}
	stats, err := leaderboard.Load(files, nil, nil, leaderboard.Options{})
	require.NoError(t, err)
	path := filepath.Join(dir, pipeline.RunHTMLFile)
	err = pipeline.WriteHTML(context.Background(), path, files, man, stats)
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), `id="chart-size"`)
	// Under the default cap of 50 per status: lead-3's consistent documents
	// are sampled, the rest shown whole.
	want := 0
	for _, s := range stats {
		want += min(s.Consistent, 50) + min(s.Hallucinated, 50) + min(s.Documents-s.Valid, 50)
	}
	assert.Equal(t, want, strings.Count(string(b), `<details class="doc"`))
	if d := os.Getenv("HALLU_SCREENSHOT_DIR"); d != "" {
		require.NoError(t, os.WriteFile(filepath.Join(d, "demo-report.html"), b, 0o644))
	}
}
