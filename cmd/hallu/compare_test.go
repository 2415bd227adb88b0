package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/report"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

func compareCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"compare"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeScored writes one model's judged records, document i scored
// scores[i], with source text made from srcPrefix and the document id,
// every key set as this hallu writes them.
func writeScored(t *testing.T, path, model, srcPrefix string, scores []float64) {
	t.Helper()
	writeScoredWith(t, path, model, srcPrefix, scores, nil)
}

// testScorer judges writeScored's records.
var testScorer = scorers.Identity{Name: "test", Version: "1"}

// writeScoredWith is writeScored with each record passed through edit
// (which may be nil) before it is written.
func writeScoredWith(t *testing.T, path, model, srcPrefix string, scores []float64, edit func(*results.Record)) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	var buf bytes.Buffer
	w := results.NewWriter(&buf)
	for i, s := range scores {
		id := fmt.Sprintf("doc-%03d", i)
		r := &results.Record{Model: model, DocID: id, Source: srcPrefix + id, DocHash: results.TextHash(srcPrefix + id),
			PromptHash: "0123456789abcdef", Params: &results.Params{MaxTokens: 256}, Summary: "The cat sat on the mat today."}
		r.GenKey = results.GenerationKey(r)
		r.Judgment = &results.Judgment{Scorer: testScorer.Name, Version: testScorer.Version, ScorerKey: testScorer.Key(), Score: &s}
		if edit != nil {
			edit(r)
		}
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

// TestCompareRefusesDifferentProvenance: two sides made differently in
// anything but the model are bad input (exit 2), named with both values,
// even when the gates would pass or fail. Before record keys were checked,
// each of these compared and exited 0 or 1.
func TestCompareRefusesDifferentProvenance(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	base := filepath.Join(dir, "base.jsonl")
	writeScored(t, base, "a", "src ", scores(40, 4))
	side := func(name string, bad int, edit func(*results.Record)) string {
		p := filepath.Join(dir, name+".jsonl")
		writeScoredWith(t, p, "b", "src ", scores(40, bad), edit)
		return p
	}
	exec := scorers.Identity{Name: "exec", Version: "1", Options: map[string]string{"cmd": "./minicheck.py"}}
	byExec := side("exec", 20, func(r *results.Record) {
		r.Judgment.Scorer, r.Judgment.Version, r.Judgment.Options, r.Judgment.ScorerKey = exec.Name, exec.Version, exec.Options, exec.Key()
	})
	otherPrompt := side("prompt", 4, func(r *results.Record) { r.PromptHash = "fedcba9876543210" })
	warmer := side("warmer", 4, func(r *results.Record) { r.Params.Temperature = 0.7 })
	otherText := side("text", 4, func(r *results.Record) {
		if r.DocID == "doc-017" {
			r.Source = "another text"
			r.DocHash = results.TextHash(r.Source)
		}
	})
	mixed := side("mixed", 4, func(r *results.Record) {
		if r.DocID == "doc-003" {
			r.Judgment.Scorer, r.Judgment.ScorerKey = "overlap", scorers.Identity{Name: "overlap"}.Key()
		}
	})
	junit := filepath.Join(dir, "junit.xml")

	for _, c := range []struct {
		name, cand, want string
	}{
		{"scorer", byExec, "scorer differs: test 1 (base) vs exec 1 cmd=./minicheck.py (candidate)"},
		{"prompt", otherPrompt, "prompt differs: 0123456789abcdef (base) vs fedcba9876543210 (candidate)"},
		{"settings", warmer, "sampling settings differ: temperature 0 (base) vs 0.7 (candidate) (--allow-settings-change compares them anyway)"},
		{"dataset", otherText, `document "doc-017" differs between base and candidate (text sha256 ` + results.TextHash("src doc-017") + " vs " + results.TextHash("another text") + ")"},
		{"mixed side", mixed, "candidate holds judgments of more than one scorer (test 1; overlap 1): judge it again with one scorer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := compareCmd(t, "", base, c.cand, "--max-hr-increase", "5", "--junit", junit)
			assert.Equal(t, 2, code, errOut)
			assert.Empty(t, out)
			assert.Contains(t, errOut, c.want)
			assert.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
			j := readJUnit(t, junit)
			require.Len(t, j.Suite.Cases, 1)
			require.NotNil(t, j.Suite.Cases[0].Error)
			assert.Contains(t, j.Suite.Cases[0].Error.Message, c.want)
		})
	}
	// The scorer and dataset are never accepted; the settings may be.
	code, _, errOut := compareCmd(t, "", base, byExec, "--allow-settings-change")
	assert.Equal(t, 2, code, errOut)
	code, _, errOut = compareCmd(t, "", base, warmer, "--allow-settings-change")
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "hallu compare: warning: sampling settings differ (allowed by --allow-settings-change): temperature 0 (base) vs 0.7 (candidate)")
}

// TestCompareOlderRecords: records without keys compare on what they carry
// (scorer name and version, source text) and say so.
func TestCompareOlderRecords(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	old := func(r *results.Record) {
		r.DocHash, r.PromptHash, r.Params, r.GenKey, r.Judgment.ScorerKey = "", "", nil, "", ""
	}
	base, cand, other := filepath.Join(dir, "base.jsonl"), filepath.Join(dir, "cand.jsonl"), filepath.Join(dir, "other.jsonl")
	writeScoredWith(t, base, "a", "src ", scores(40, 4), old)
	writeScoredWith(t, cand, "b", "src ", scores(40, 5), old)
	writeScoredWith(t, other, "b", "src ", scores(40, 5), func(r *results.Record) { old(r); r.Judgment.Scorer = "overlap" })

	code, out, errOut := compareCmd(t, "", base, cand)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "hallu compare: warning: base and candidate hold records made by an older hallu, checked on what they carry: scorers matched on name and version only")
	assert.Contains(t, out, "scorer:    test 1\n")
	code, _, errOut = compareCmd(t, "", base, other)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "scorer differs: test 1 (base) vs overlap 1 (candidate)")
}

// failWriter fails every write, as a closed pipe does.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestCompareOutputFailureIsExit2: an output that cannot be written is exit
// 2, never 1 (a regression) or 0, whatever the gates say; the outputs that
// can be written still are. Tests run as root, so unwritable paths lie
// under a regular file rather than in a read-only directory.
func TestCompareOutputFailureIsExit2(t *testing.T) {
	dir := t.TempDir()
	base, worse, same := filepath.Join(dir, "base.jsonl"), filepath.Join(dir, "worse.jsonl"), filepath.Join(dir, "same.jsonl")
	writeScored(t, base, "a", "src ", scores(60, 6))
	writeScored(t, worse, "b", "src ", scores(60, 18))
	writeScored(t, same, "c", "src ", scores(60, 6))
	notDir := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(notDir, nil, 0o644))
	bad := filepath.Join(notDir, "x")
	t.Setenv("GITHUB_STEP_SUMMARY", "")

	for _, cand := range []string{worse, same} { // exit 1 and exit 0 without the failure
		for _, c := range []struct {
			name string
			args []string
			env  string
			want string
		}{
			{"junit", []string{"--junit", bad}, "", "writing --junit " + bad},
			{"html", []string{"--html", bad}, "", "writing --html " + bad},
			{"out", []string{"-o", bad}, "", "writing --out " + bad},
			{"out html", []string{"--format", "html", "--out", bad}, "", "writing --out " + bad},
			{"step summary", nil, bad, "writing $GITHUB_STEP_SUMMARY " + bad},
			{"proc", []string{"--junit", "/proc/hallu-compare/x.xml"}, "", "writing --junit /proc/hallu-compare/x.xml"},
		} {
			t.Run(filepath.Base(cand)+"/"+c.name, func(t *testing.T) {
				t.Setenv("GITHUB_STEP_SUMMARY", c.env)
				ok := filepath.Join(t.TempDir(), "ok.xml")
				code, out, errOut := compareCmd(t, "", append([]string{base, cand, "--max-hr-increase", "5", "--junit", ok}, c.args...)...)
				assert.Equal(t, 2, code, errOut)
				assert.Contains(t, errOut, c.want)
				if c.name == "junit" || c.name == "proc" {
					return
				}
				assert.FileExists(t, ok, "the other outputs are still written")
				if len(c.args) > 0 && c.args[0] == "-o" || c.name == "out html" {
					return
				}
				assert.Contains(t, out, "gates:")
			})
		}
		// Standard output itself.
		var errOut bytes.Buffer
		code := run([]string{"compare", base, cand, "--max-hr-increase", "5"}, strings.NewReader(""), failWriter{}, &errOut)
		assert.Equal(t, 2, code, errOut.String())
		assert.Contains(t, errOut.String(), "writing standard output: broken pipe")
	}
}

// TestCompareFormatsAndOut: the project-wide format names, -o/--out, and
// --bootstrap-seed, with flags before or after the paths.
func TestCompareFormatsAndOut(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	base, cand := filepath.Join(dir, "base.jsonl"), filepath.Join(dir, "cand.jsonl")
	writeScored(t, base, "a", "src ", scores(50, 5))
	writeScored(t, cand, "b", "src ", scores(50, 3))

	code, table, errOut := compareCmd(t, "", base, cand)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, table, "scorer:    test 1\n")
	for _, f := range []string{"table", "text"} {
		code, out, errOut := compareCmd(t, "", base, cand, "--format", f)
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, table, out, f)
	}
	code, md, _ := compareCmd(t, "", "--format", "markdown", base, cand)
	require.Equal(t, 0, code)
	assert.Contains(t, md, "Scorer: `test 1`.")

	// -o and --out write the main output to a file, nothing to stdout.
	for _, flagName := range []string{"-o", "--out"} {
		path := filepath.Join(dir, "out"+flagName+".md")
		code, out, errOut := compareCmd(t, "", base, cand, "--format", "markdown", flagName, path)
		require.Equal(t, 0, code, errOut)
		assert.Empty(t, out)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, md, string(b))
	}
	// html: as --html, to -o or stdout.
	page := filepath.Join(dir, "cmp.html")
	code, _, errOut = compareCmd(t, "", base, cand, "--format", "html", "-o", page)
	require.Equal(t, 0, code, errOut)
	b, err := os.ReadFile(page)
	require.NoError(t, err)
	assert.Contains(t, string(b), "<html")
	assert.Contains(t, string(b), "Both sides judged by test 1.")
	code, out, _ := compareCmd(t, "", base, cand, "--format", "html")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "<html")

	code, _, errOut = compareCmd(t, "", base, cand, "--format", "csv")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--format csv: a comparison (two rates, gates, flipped documents) has no one-table form; use --format json")
	code, _, errOut = compareCmd(t, "", base, cand, "--format", "yaml")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `--format "yaml": want table, markdown, json or html`)

	// --bootstrap-seed and its older name --seed set the same seed.
	seedOf := func(args ...string) uint64 {
		t.Helper()
		code, out, errOut := compareCmd(t, "", append([]string{base, cand, "--format", "json", "--ci", "bootstrap"}, args...)...)
		require.Equal(t, 0, code, errOut)
		var got struct {
			Bootstrap struct{ Seed uint64 } `json:"bootstrap"`
			Base      struct {
				Low float64 `json:"hr_ci_low"`
			} `json:"base"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		return got.Bootstrap.Seed
	}
	assert.Equal(t, uint64(42), seedOf("--bootstrap-seed", "42"))
	assert.Equal(t, uint64(42), seedOf("--seed", "42"))
	assert.Equal(t, uint64(1), seedOf())
}
