package calibrate

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/scorers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// hashScorer gives each summary a score from its hash; summaries marked
// "err" fail, "nan" score NaN, "panic" panic (failing their batch), and
// short summaries ("ok.") are scored like any other: calibration judges
// exactly the labelled pairs.
type hashScorer struct{}

func (hashScorer) Name() string    { return "hash" }
func (hashScorer) Version() string { return "1" }
func (hashScorer) Close() error    { return nil }
func (hashScorer) Score(_ context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	out := make([]scorers.Result, len(pairs))
	for i, p := range pairs {
		switch {
		case strings.Contains(p.Summary, "panic"):
			panic("hash scorer bug")
		case strings.Contains(p.Summary, "err"):
			out[i].Err = errors.New("cannot score " + p.ID)
		case strings.Contains(p.Summary, "nan"):
			out[i].Score = math.NaN()
		default:
			h := fnv.New32a()
			h.Write([]byte(p.Source + "|" + p.Summary))
			out[i].Score = float64(h.Sum32()%1000) / 999
		}
	}
	return out, nil
}

// goldenLabels is a labels file with ids on some lines, a few failures and
// summaries the score stage would call invalid (short, empty-looking).
func goldenLabels() string {
	var b strings.Builder
	for i := range 40 {
		summary := fmt.Sprintf("Summary number %d of the source.", i)
		switch {
		case i%11 == 3:
			summary = "this one has an err in it"
		case i == 17:
			summary = "nan"
		case i == 22:
			summary = "ok."
		}
		id := ""
		if i%3 == 0 {
			id = fmt.Sprintf(`, "id": "ex%02d"`, i)
		}
		fmt.Fprintf(&b, `{"source": "Source text %d.", "summary": %q, "label": %d%s}`+"\n", i%7, summary, (i*7)%3%2, id)
	}
	return b.String()
}

func goldenRun(t *testing.T, labels string, batch, concurrency int) string {
	t.Helper()
	r, err := NewReader(strings.NewReader(labels), "golden.jsonl")
	require.NoError(t, err)
	var dump bytes.Buffer
	rep, err := Run(context.Background(), r, Config{Scorer: hashScorer{}, Batch: batch, Concurrency: concurrency,
		OnScored: func(ex Example, res scorers.Result) {
			if res.Err != nil {
				fmt.Fprintf(&dump, "%s\tlabel %d\terror %v\n", ex.ID, ex.Label, res.Err)
				return
			}
			fmt.Fprintf(&dump, "%s\tlabel %d\tscore %.6f\n", ex.ID, ex.Label, res.Score)
		}})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, rep.WriteTable(&out, "golden.jsonl"))
	out.WriteString("---\n")
	require.NoError(t, rep.WriteJSON(&out, "golden.jsonl"))
	out.WriteString("---\n")
	out.Write(dump.Bytes())
	return out.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got)
}

// TestGoldenReport pins calibrate's output: the table, the JSON and the
// per-pair results, in input order.
func TestGoldenReport(t *testing.T) {
	checkGolden(t, "golden_report.txt", goldenRun(t, goldenLabels(), 4, 1))
}

// TestGoldenCalibrationFile pins the calibration file of the golden run
// (calibrate --calibration-out): the hash scorer's identity, the
// threshold, the confusion counts and the labels' origin.
func TestGoldenCalibrationFile(t *testing.T) {
	r, err := NewReader(strings.NewReader(goldenLabels()), "golden.jsonl")
	require.NoError(t, err)
	rep, err := Run(context.Background(), r, Config{Scorer: hashScorer{}, Batch: 4})
	require.NoError(t, err)
	f := rep.Calibration(calibration.Labels{Path: "golden.jsonl", Format: FormatHallu, SHA256: "5e1f"})
	cf := f.Confusion
	assert.Equal(t, rep.N, cf.Positives()+cf.Negatives())
	assert.Equal(t, rep.Hallucinated, cf.Positives())
	assert.InDelta(t, rep.Recall, cf.Sensitivity(), 1e-12)
	var out bytes.Buffer
	require.NoError(t, f.Write(&out))
	checkGolden(t, "golden_calibration.json", out.String())
}

// TestReportIndependentOfConcurrency: concurrent scoring gives the same
// report, error samples and per-pair order included.
func TestReportIndependentOfConcurrency(t *testing.T) {
	labels := goldenLabels()
	want := goldenRun(t, labels, 4, 1)
	for range 5 {
		assert.Equal(t, want, goldenRun(t, labels, 4, 3))
	}
}

// TestPanicFailsItsBatchOnly: a scorer panic costs its batch, not the run,
// and is reported in one line.
func TestPanicFailsItsBatchOnly(t *testing.T) {
	labels := `{"source": "s", "summary": "a panic here", "label": 1}` + "\n" + goldenLabels()
	r, err := NewReader(strings.NewReader(labels), "p.jsonl")
	require.NoError(t, err)
	rep, err := Run(context.Background(), r, Config{Scorer: hashScorer{}, Batch: 4, Concurrency: 2})
	require.NoError(t, err)
	assert.Equal(t, 41, rep.N+rep.Errors)
	assert.Equal(t, 4+5, rep.Errors, "the first batch and the set's own failures")
	require.NotEmpty(t, rep.ErrorSamples)
	assert.Regexp(t, `^line 1: scorer panicked: hash scorer bug \(at .*hashScorer\.Score golden_test\.go:\d+\)$`, rep.ErrorSamples[0])
}
