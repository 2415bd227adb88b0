package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// writeRunConfig writes a run config whose output lies in a temporary
// directory and returns the config path and that directory.
func writeRunConfig(t *testing.T, body string) (cfgPath, outDir string) {
	t.Helper()
	dir := t.TempDir()
	outDir = filepath.Join(dir, "out")
	cfgPath = filepath.Join(dir, "run.yaml")
	body = strings.ReplaceAll(body, "OUTDIR", outDir)
	require.NoError(t, os.WriteFile(cfgPath, []byte(body), 0o644))
	return cfgPath, outDir
}

const demoLikeConfig = `
dataset: builtin
output: OUTDIR
concurrency: 4
models:
  - name: builtin:lead-3
  - name: builtin:corrupt
    params: 7e9
scorer: hhem
fallback_scorer: overlap
report:
  formats: [markdown, csv, json]
`

func leaderboardCSV(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, "model,hallucination_rate,factual_consistency_rate,answer_rate,average_summary_length", strings.Join(rows[0][:5], ","))
	byModel := map[string][]string{}
	for _, r := range rows[1:] {
		byModel[r[0]] = r
	}
	return byModel
}

func TestRunDemoConfigEndToEndAndResume(t *testing.T) {
	// An empty Hugging Face cache: HHEM cannot be found, so the run must
	// fall back to overlap and say so.
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HUB_OFFLINE", "1")
	cfg, out := writeRunConfig(t, demoLikeConfig)

	code, stdout, stderr := runHallu(t, "run", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "NOTICE")
	assert.Contains(t, stderr, "hallu model pull")
	assert.Contains(t, stdout, "builtin:lead-3")
	assert.Contains(t, stdout, "builtin:corrupt")

	for _, label := range []string{"builtin_lead-3", "builtin_corrupt"} {
		gens := readRecords(t, filepath.Join(out, label, results.GenerationsFile))
		judged := readRecords(t, filepath.Join(out, label, results.JudgmentsFile))
		assert.Len(t, gens, 62, label)
		require.Len(t, judged, 62, label)
		for _, r := range judged {
			require.NotNil(t, r.Judgment, r.DocID)
			assert.Equal(t, "overlap", r.Judgment.Scorer)
		}
	}

	rows := leaderboardCSV(t, filepath.Join(out, "leaderboard.csv"))
	lead, err := strconv.ParseFloat(rows["builtin:lead-3"][1], 64)
	require.NoError(t, err)
	corrupt, err := strconv.ParseFloat(rows["builtin:corrupt"][1], 64)
	require.NoError(t, err)
	assert.Less(t, lead, 10.0, "an extractive baseline should hardly ever hallucinate")
	assert.Greater(t, corrupt, lead+30, "the corrupted model must rank well above lead-3")
	assert.FileExists(t, filepath.Join(out, "leaderboard.md"))
	assert.FileExists(t, filepath.Join(out, "leaderboard.json"))

	man, err := results.ReadManifest(out)
	require.NoError(t, err)
	assert.Equal(t, "builtin", man.Dataset)
	// The manifest describes the records: the dataset they hold, and the
	// scorer that actually judged them, standing in for hhem.
	assert.Len(t, man.DatasetSHA256, 16)
	assert.Equal(t, man.DatasetSHA256, man.Models["builtin:lead-3"].DatasetSHA256)
	assert.Equal(t, 62, man.Documents)
	assert.Equal(t, 62, man.Models["builtin:corrupt"].Generated)
	assert.Equal(t, "overlap 1", man.Scorer)
	assert.Equal(t, []string{"hhem"}, man.FallbackFor)

	// A second run resumes: nothing is generated or judged twice.
	code, stdout2, stderr := runHallu(t, "run", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "62 already done")
	for _, label := range []string{"builtin_lead-3", "builtin_corrupt"} {
		assert.Equal(t, 62, countLines(filepath.Join(out, label, results.GenerationsFile)))
		assert.Equal(t, 62, countLines(filepath.Join(out, label, results.JudgmentsFile)))
	}
	assert.Equal(t, stdout, stdout2, "the same results give the same leaderboard")
}

func TestRunKeepsAPIKeysOutOfResults(t *testing.T) {
	t.Setenv("HALLU_TEST_SECRET_KEY", "sk-very-secret-value")
	cfg, out := writeRunConfig(t, `
dataset: builtin
limit: 5
output: OUTDIR
models:
  - name: builtin:lead-3
    api_key_env: HALLU_TEST_SECRET_KEY
scorer: overlap
report:
  formats: [json]
`)
	code, _, stderr := runHallu(t, "run", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	err := filepath.Walk(out, func(path string, info os.FileInfo, err error) error {
		require.NoError(t, err)
		if info.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.NotContains(t, string(b), "sk-very-secret-value", path)
		return nil
	})
	require.NoError(t, err)
	man, err := results.ReadManifest(out)
	require.NoError(t, err)
	assert.Equal(t, 5, man.Documents)
}

// renamedScorer is overlap under another name, to switch scorers between
// runs.
type renamedScorer struct{ scorers.Scorer }

func (renamedScorer) Name() string { return "run-test-other" }

func init() {
	scorers.Register(scorers.Info{Name: "run-test-other", Description: "test only", Open: func(ctx context.Context, o scorers.Options) (scorers.Scorer, error) {
		s, err := scorers.Open(ctx, "overlap", o)
		return renamedScorer{s}, err
	}})
}

func TestRunSwitchingScorerRefusesUnlessReplace(t *testing.T) {
	cfg, out := writeRunConfig(t, `
dataset: builtin
limit: 4
output: OUTDIR
models:
  - name: builtin:corrupt
scorer: overlap
`)
	code, _, stderr := runHallu(t, "run", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	b, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, []byte(strings.Replace(string(b), "scorer: overlap", "scorer: run-test-other", 1)), 0o644))

	judgments := filepath.Join(out, "builtin_corrupt", results.JudgmentsFile)
	before, err := os.ReadFile(judgments)
	require.NoError(t, err)
	code, _, stderr = runHallu(t, "run", "--config", cfg)
	require.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "judged by overlap 1, not run-test-other 1")
	assert.Contains(t, stderr, "--replace")
	after, err := os.ReadFile(judgments)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "the first scorer's judgments are untouched")

	code, _, stderr = runHallu(t, "run", "--config", cfg, "--replace")
	require.Equal(t, 0, code, stderr)
	recs := readRecords(t, judgments)
	require.Len(t, recs, 4, "replaced, not doubled")
	for _, r := range recs {
		assert.Equal(t, "run-test-other", r.Judgment.Scorer)
	}
}

func TestRunConfigErrors(t *testing.T) {
	cases := map[string]struct{ body, want string }{
		"unknown key": {"dataset: builtin\noutput: OUTDIR\nmodles: []\n", "modles"},
		"no models":   {"dataset: builtin\noutput: OUTDIR\n", "at least one model"},
		"no dataset":  {"output: OUTDIR\nmodels: [{name: builtin:lead-3}]\n", "dataset is required"},
		"no endpoint": {"dataset: builtin\noutput: OUTDIR\nmodels: [{name: llama3}]\n", "no endpoint"},
		"duplicate":   {"dataset: builtin\noutput: OUTDIR\nmodels: [{name: builtin:lead-3}, {name: builtin:lead-3}]\n", "appears twice"},
		"bad scorer":  {"dataset: builtin\noutput: OUTDIR\nmodels: [{name: builtin:lead-3}]\nscorer: nosuch\n", "unknown scorer"},
		"bad dataset": {"dataset: /nonexistent/docs.csv\noutput: OUTDIR\nmodels: [{name: builtin:lead-3}]\n", "docs.csv"},
		"bad format":  {"dataset: builtin\noutput: OUTDIR\nmodels: [{name: builtin:lead-3}]\nscorer: overlap\nreport: {formats: [pdf]}\n", "pdf"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg, _ := writeRunConfig(t, tc.body)
			code, _, stderr := runHallu(t, "run", "--config", cfg)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tc.want)
		})
	}
	code, _, stderr := runHallu(t, "run")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--config")
}
