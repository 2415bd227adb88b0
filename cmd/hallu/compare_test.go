package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/report"
	"github.com/hallu-eval/hallu/results"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func compareCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"compare"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeScored writes one model's judged records, document i scored
// scores[i], with source text made from srcPrefix and the document id.
func writeScored(t *testing.T, path, model, srcPrefix string, scores []float64) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	var buf bytes.Buffer
	w := results.NewWriter(&buf)
	for i, s := range scores {
		id := fmt.Sprintf("doc-%03d", i)
		r := &results.Record{Model: model, DocID: id, Source: srcPrefix + id, Summary: "The cat sat on the mat today."}
		r.Judgment = &results.Judgment{Scorer: "test", Score: &s}
		require.NoError(t, w.Write(r))
	}
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

// scores returns n scores of which the first bad are hallucinated.
func scores(n, bad int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 0.9
		if i < bad {
			out[i] = 0.1
		}
	}
	return out
}

type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suite    struct {
		Name  string `xml:"name,attr"`
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var d junitDoc
	require.NoError(t, xml.Unmarshal(b, &d), string(b))
	return d
}

func TestCompareExitStatuses(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base", results.JudgmentsFile)
	same := filepath.Join(dir, "same", results.JudgmentsFile)
	worse := filepath.Join(dir, "worse", results.JudgmentsFile)
	writeScored(t, base, "base-model", "src ", scores(60, 6))
	writeScored(t, same, "same-model", "src ", scores(60, 6))
	writeScored(t, worse, "worse-model", "src ", scores(60, 18))

	summary := filepath.Join(dir, "step-summary.md")
	require.NoError(t, os.WriteFile(summary, []byte("earlier step\n"), 0o644))
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	junit := filepath.Join(dir, "junit.xml")

	// Pass: the same verdicts, flags after the paths as CI scripts write them.
	code, out, errOut := compareCmd(t, "", filepath.Dir(base), filepath.Dir(same), "--max-hr-increase", "0", "--junit", junit)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "PASS  hallucination-rate")
	b, err := os.ReadFile(summary)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), "earlier step\n### hallu compare: `base-model` → `same-model`"), "appended: %s", b)
	assert.Contains(t, string(b), "**✅ No regression.**")
	j := readJUnit(t, junit)
	assert.Equal(t, 2, j.Tests)
	assert.Equal(t, 0, j.Failures+j.Errors)
	assert.Equal(t, "shared-documents", j.Suite.Cases[0].Name)
	assert.Equal(t, "hallucination-rate", j.Suite.Cases[1].Name)

	// Regression: 12 more of 60 hallucinated, all one way (p = 2·2⁻¹²).
	code, out, errOut = compareCmd(t, "", "--max-hr-increase", "5", "--max-ar-decrease", "1", "--junit", junit, base, worse)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "FAIL  hallucination-rate")
	assert.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
	assert.Contains(t, errOut, "hallucination rate +20.0 pp")
	assert.Contains(t, errOut, "p = 0.00049")
	j = readJUnit(t, junit)
	assert.Equal(t, 3, j.Tests)
	assert.Equal(t, 1, j.Failures)
	require.NotNil(t, j.Suite.Cases[1].Failure)
	assert.Contains(t, j.Suite.Cases[1].Failure.Message, "+20.0 pp")
	assert.Nil(t, j.Suite.Cases[2].Failure, "answer rate unchanged")
	b, err = os.ReadFile(summary)
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(b), "### hallu compare"), "a second summary appended")
	assert.Contains(t, string(b), "**❌ Regression.**")

	// A rise within the limit, or not significant, passes.
	code, _, errOut = compareCmd(t, "", "--max-hr-increase", "25", base, worse)
	assert.Equal(t, 0, code, errOut)
	code, _, errOut = compareCmd(t, "", "--max-hr-increase", "5", "--alpha", "0.0001", base, worse)
	assert.Equal(t, 0, code, errOut)
	// No gate: a report, exit 0.
	code, _, errOut = compareCmd(t, "", base, worse)
	assert.Equal(t, 0, code, errOut)
}

func TestCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.jsonl")
	writeScored(t, base, "a", "src ", scores(40, 4))
	other := filepath.Join(dir, "other.jsonl")
	writeScored(t, other, "b", "another dataset ", scores(40, 4))
	small := filepath.Join(dir, "small.jsonl")
	writeScored(t, small, "b", "src ", scores(8, 1))
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	junit := filepath.Join(dir, "junit.xml")

	expect2 := func(want string, args ...string) {
		t.Helper()
		code, out, errOut := compareCmd(t, "", args...)
		assert.Equal(t, 2, code, errOut)
		assert.Empty(t, out)
		assert.Contains(t, errOut, want)
		assert.Equal(t, 1, strings.Count(errOut, "\nhallu compare: ")+boolInt(strings.HasPrefix(errOut, "hallu compare: ")), "one reason: %q", errOut)
	}
	expect2("different source texts", base, other, "--junit", junit)
	j := readJUnit(t, junit)
	assert.Equal(t, 1, j.Errors)
	require.NotNil(t, j.Suite.Cases[0].Error)
	assert.Contains(t, j.Suite.Cases[0].Error.Message, "not run on the same dataset")

	expect2("share 8 documents", base, small)
	code, _, errOut := compareCmd(t, "", "--min-docs", "5", base, small)
	assert.Equal(t, 0, code, errOut)

	expect2("no such file", base, filepath.Join(dir, "missing.jsonl"))
	expect2("want two result sets", base)
	expect2("--max-hr-increase -1", "--max-hr-increase", "-1", base, base)
	expect2(`only one of BASE and CAND can be "-"`, "-", "-")
	expect2("--format", "--format", "yaml", base, base)

	// Two models in one file: name them, and say how to choose.
	both := filepath.Join(dir, "both.jsonl")
	b1, err := os.ReadFile(base)
	require.NoError(t, err)
	b2, err := os.ReadFile(small)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(both, append(b1, b2...), 0o644))
	expect2("2 models found (a, b); choose one with --base-model", both, base)
	expect2(`no records of model "z"`, "--cand-model", "z", base, both)
	// Picking the models makes one file serve both sides.
	code, out, errOut := compareCmd(t, "", "--base-model", "a", "--cand-model", "b", "--min-docs", "8", both, both)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "8 shared, 32 only in base")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestCompareJSONAndStdin(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.jsonl")
	cand := filepath.Join(dir, "cand.jsonl")
	writeScored(t, base, "a", "src ", scores(50, 5))
	writeScored(t, cand, "b", "src ", scores(50, 3))
	stdin, err := os.ReadFile(cand)
	require.NoError(t, err)
	t.Setenv("GITHUB_STEP_SUMMARY", "")

	code, out, errOut := compareCmd(t, string(stdin), "--format", "json", "--ci", "bootstrap", "--seed", "3", base, "-")
	require.Equal(t, 0, code, errOut)
	var got struct {
		Base struct {
			Model    string  `json:"model"`
			CIMethod string  `json:"ci_method"`
			HR       float64 `json:"hallucination_rate"`
		} `json:"base"`
		Hallucination struct {
			Diff float64 `json:"difference_pp"`
			P    float64 `json:"p_value"`
			Down int     `json:"to_consistent"`
		} `json:"hallucination"`
		Bootstrap struct{ Seed uint64 } `json:"bootstrap"`
		Status    string                `json:"status"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, "a", got.Base.Model)
	assert.Equal(t, "bootstrap", got.Base.CIMethod)
	assert.InDelta(t, 10.0, got.Base.HR, 1e-9)
	assert.InDelta(t, -4.0, got.Hallucination.Diff, 1e-9)
	assert.Equal(t, 2, got.Hallucination.Down)
	assert.InDelta(t, 0.5, got.Hallucination.P, 1e-12) // two flips: 2·(1/4)
	assert.Equal(t, uint64(3), got.Bootstrap.Seed)
	assert.Equal(t, "pass", got.Status)

	code, out, _ = compareCmd(t, "", "--format", "markdown", base, cand)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "| Hallucination rate (%) |")
}

func TestReportIntervalsAndCommon(t *testing.T) {
	dir := t.TempDir()
	writeScored(t, filepath.Join(dir, "a", results.JudgmentsFile), "a", "src ", scores(40, 4))
	// b refuses the last 10 documents: they drop out of the common set.
	bPath := filepath.Join(dir, "b", results.JudgmentsFile)
	writeScored(t, bPath, "b", "src ", scores(40, 2))
	b, err := os.ReadFile(bPath)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(b), "\n")
	for i := 30; i < 40; i++ {
		lines[i] = strings.Replace(lines[i], "The cat sat on the mat today.", leaderboard.RefusalSentence, 1)
	}
	require.NoError(t, os.WriteFile(bPath, []byte(strings.Join(lines, "")), 0o644))

	code, out, errOut := reportCmd(t, "", "--format", "json", "--common", dir)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "kept 30 documents that all 2 models answered validly")
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	for _, r := range rows {
		assert.Equal(t, 30.0, r["common_documents"])
		assert.Equal(t, 30.0, r["judged"])
		assert.Equal(t, 40.0, r["documents"])
	}

	code, out, errOut = reportCmd(t, "", "--format", "csv", "--ci", "bootstrap", "--bootstrap-samples", "500", "--seed", "5", dir)
	require.Equal(t, 0, code, errOut)
	code2, out2, _ := reportCmd(t, "", "--format", "csv", "--ci", "bootstrap", "--bootstrap-samples", "500", "--seed", "5", dir)
	require.Equal(t, 0, code2)
	assert.Equal(t, out, out2, "the same seed, the same intervals")
	assert.Contains(t, out, ",bootstrap,")
	assert.True(t, strings.HasPrefix(out, report.CSVHeader+","))

	code, _, errOut = reportCmd(t, "", "--ci", "exact", dir)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `"exact"`)
}
