package report

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenExt are the text formats, by the extension of their golden files
// in testdata. After a deliberate change of a format: go test ./report
// -update, and review the diff.
var goldenExt = map[string]string{"table": "txt", "markdown": "md", "csv": "csv", "json": "json"}

// goldenRecords: three models on the same five documents, judged by one
// scorer (overlap standing in for hhem on one of them): "steady" answers
// all, "cut" has summaries cut at the token limit and a document cut to the
// server's context, "flaky" a timeout and a refusal. With mixed, "flaky" is
// judged by another scorer.
func goldenRecords(mixed bool) []*results.Record {
	var recs []*results.Record
	seed := 7
	params := &results.Params{Temperature: 0, Seed: &seed, MaxTokens: 256}
	scores := map[string][]float64{"steady": {0.9, 0.8, 0.7, 0.95, 0.2}, "cut": {0.9, 0.1, 0.3, 0.95, 0.6}, "flaky": {0.9, 0.9, 0.9, 0, 0}}
	for _, model := range []string{"steady", "cut", "flaky"} {
		for i, score := range scores[model] {
			doc := fmt.Sprint("doc-", i)
			r := rec(model, doc, sixWords+" And then some.", ptr(score))
			r.DocHash = results.TextHash("text of " + doc)
			r.PromptHash, r.Params, r.Endpoint = "5f2a9c0d1e3b4a67", params, "http://127.0.0.1:8080/v1"
			r.ServedModel, r.SystemFingerprint = model+"-q4", "fp_"+model
			r.LatencyMS = float64(100 * (i + 1))
			r.Judgment.Scorer, r.Judgment.Version = "overlap", "1"
			r.Judgment.Options = map[string]string{"mode": "content"}
			r.Judgment.ScorerKey = "0a1b2c3d4e5f6071"
			switch {
			case model == "cut" && i < 2:
				r.OutputTruncated = true
			case model == "cut" && i == 4:
				r.InputTruncated = true
			case model == "flaky" && i == 3:
				r.Error, r.Summary, r.Judgment = &results.Error{Class: errclass.Timeout, Message: "deadline"}, "", nil
			case model == "flaky" && i == 4:
				r.Summary, r.Judgment.Score = leaderboard.RefusalSentence, nil
			}
			if model == "cut" {
				r.Judgment.FallbackFor = "hhem"
			}
			if mixed && model == "flaky" && r.Judgment != nil {
				r.Judgment.Scorer, r.Judgment.Version, r.Judgment.Options = "judge", "3", map[string]string{"model": "qwen"}
				r.Judgment.ScorerKey = "9f8e7d6c5b4a3921"
			}
			recs = append(recs, r)
		}
	}
	return recs
}

func goldenStats(t *testing.T, mixed bool) []leaderboard.ModelStats {
	a := leaderboard.NewAggregator()
	for _, r := range goldenRecords(mixed) {
		require.NoError(t, a.Add(r))
	}
	return a.Stats()
}

func TestGolden(t *testing.T) {
	for _, set := range []string{"sample", "mixed"} {
		rows := goldenStats(t, set == "mixed")
		for format, ext := range goldenExt {
			t.Run(set+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				require.NoError(t, Write(&buf, format, rows, Options{AllowMixedScorers: set == "mixed"}))
				checkGolden(t, filepath.Join("testdata", set+"."+ext), buf.String())
			})
		}
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./report -update to create it")
	assert.Equal(t, string(want), got)
}

// TestGoldenRepeats: the sample with "steady" judged three times per
// document, two of its five verdicts flipping; the other models were judged
// once, so their verdict-flipped cells are empty.
func TestGoldenRepeats(t *testing.T) {
	a := leaderboard.NewAggregator()
	for _, r := range goldenRecords(false) {
		if r.Model == "steady" && r.Judgment != nil && r.Judgment.Score != nil {
			s := *r.Judgment.Score
			r.Judgment.Repeats = []float64{s, s, s}
			if r.DocID == "doc-0" || r.DocID == "doc-4" {
				r.Judgment.Repeats[1], r.Judgment.Flipped = 1-s, true
			}
		}
		require.NoError(t, a.Add(r))
	}
	rows := a.Stats()
	for format, ext := range goldenExt {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, format, rows, Options{}))
			checkGolden(t, filepath.Join("testdata", "repeats."+ext), buf.String())
		})
	}
}

// goldenCalibration corrects the sample's rates with a judge of
// sensitivity 0.8 and specificity 0.9 measured on 100 labelled pairs, or
// with one no better than chance.
func goldenCalibration(rows []leaderboard.ModelStats, chance bool) *calibration.Correction {
	cf := calibration.Confusion{TP: 40, FN: 10, TN: 45, FP: 5}
	if chance {
		cf = calibration.Confusion{TP: 26, FN: 24, TN: 25, FP: 25}
	}
	f := calibration.New(scorers.Identity{Name: "overlap", Version: "1", Options: map[string]string{"mode": "content"}}, 0.5, cf, 0,
		calibration.Labels{Path: "labels.csv", Format: "hallu", SHA256: "9c1e", Count: 100})
	models := make([]calibration.Observed, len(rows))
	for i, s := range rows {
		models[i] = calibration.Observed{Model: s.Model, Hallucinated: s.Hallucinated, Judged: s.Judged}
	}
	return calibration.Correct(f, "cal.json", models, calibration.Options{Seed: 1})
}

// TestGoldenCalibrated pins the corrected-rate section of every text
// format (report --calibration), and the table's words for a judge no
// better than chance.
func TestGoldenCalibrated(t *testing.T) {
	rows := goldenStats(t, false)
	for format, ext := range goldenExt {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, format, rows, Options{Calibration: goldenCalibration(rows, false)}))
			checkGolden(t, filepath.Join("testdata", "calibrated."+ext), buf.String())
		})
	}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, "table", rows, Options{Calibration: goldenCalibration(rows, true)}))
	checkGolden(t, filepath.Join("testdata", "calibrated-chance.txt"), buf.String())
	assert.Contains(t, buf.String(), "no better than chance")
	assert.NotContains(t, buf.String(), "CORRECTED %")
}
