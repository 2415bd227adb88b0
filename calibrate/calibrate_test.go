package calibrate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
)

// TestMetricsMatchScikitLearn compares with values scikit-learn computed
// (testdata/make_fixtures.py).
func TestMetricsMatchScikitLearn(t *testing.T) {
	raw, err := os.ReadFile("testdata/metrics_fixture.json")
	require.NoError(t, err)
	var cases []struct {
		Name      string
		Threshold float64
		Scores    []float64
		Labels    []int
	}
	var fields []map[string]any
	require.NoError(t, json.Unmarshal(raw, &cases))
	require.NoError(t, json.Unmarshal(raw, &fields))
	require.NotEmpty(t, cases)
	for i, c := range cases {
		f := fields[i]
		pts := make([]Point, len(c.Scores))
		for k := range c.Scores {
			pts[k] = Point{Score: c.Scores[k], Label: c.Labels[k]}
		}
		m := Compute(pts, c.Threshold)
		const tol = 1e-9
		assert.InDelta(t, f["balanced_accuracy"], m.BalancedAccuracy, tol, c.Name)
		assert.InDelta(t, f["recall"], m.Recall, tol, c.Name)
		assert.InDelta(t, f["precision"], m.Precision, tol, c.Name)
		assert.InDelta(t, f["f1"], m.F1, tol, c.Name)
		assert.InDelta(t, f["auroc"], m.AUROC, tol, c.Name)
		assert.InDelta(t, f["best_balanced_accuracy"], m.BestBalancedAccuracy, tol, c.Name)
		// The reported threshold does achieve the best balanced accuracy.
		at := Compute(pts, m.BestThreshold)
		assert.InDelta(t, m.BestBalancedAccuracy, at.BalancedAccuracy, tol, c.Name)
	}
}

func TestMetricsByHand(t *testing.T) {
	// Two hallucinated (0.2, 0.6) and two consistent (0.4, 0.9) pairs.
	// At 0.5: hallucinated predicted for 0.2 (right) and 0.4 (wrong), so
	// hallucinated recall 1/2, precision 1/2, consistent recall 1/2, BAcc
	// 0.5. Pairs (consistent > hallucinated): 0.4>0.2, 0.9>0.2, 0.9>0.6 =
	// 3 of 4, AUROC 0.75. Threshold 0.9 predicts only 0.9 consistent:
	// recalls 1 and 1/2, BAcc 0.75, the best; 0.4 gives recalls 1/2 and 1,
	// also 0.75, and is closer to 0.5, so it is chosen.
	m := Compute([]Point{{0.2, 0}, {0.6, 0}, {0.4, 1}, {0.9, 1}}, 0.5)
	assert.Equal(t, 0.5, m.BalancedAccuracy)
	assert.Equal(t, 0.5, m.Recall)
	assert.Equal(t, 0.5, m.Precision)
	assert.Equal(t, 0.75, m.AUROC)
	assert.Equal(t, 0.75, m.BestBalancedAccuracy)
	assert.Equal(t, 0.4, m.BestThreshold)
	// At 0.5: 0.2 caught (TP), 0.6 missed (FN), 0.4 flagged (FP), 0.9 passed (TN).
	assert.Equal(t, [4]int{1, 1, 1, 1}, [4]int{m.TP, m.FN, m.FP, m.TN})

	one := Compute([]Point{{0.2, 1}, {0.7, 1}}, 0.5)
	assert.True(t, math.IsNaN(one.AUROC))
	assert.True(t, math.IsNaN(one.Recall))
	assert.True(t, math.IsNaN(one.BestThreshold))
}

func TestReadLabels(t *testing.T) {
	csvText := "id,doc,claim,label\n" +
		"a,\"The river, 12 km long,\nflows north.\",The river is 12 km long.,1\n" +
		"b,Source two.,Claim two.,hallucinated\n" +
		"c,Source three.,Claim three.,Consistent\n"
	r, err := NewReader(strings.NewReader(csvText), "set.csv")
	require.NoError(t, err)
	var got []Example
	for {
		ex, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		got = append(got, ex)
	}
	require.Len(t, got, 3)
	assert.Equal(t, Example{ID: "a", Source: "The river, 12 km long,\nflows north.", Summary: "The river is 12 km long.", Label: 1, Line: 2}, got[0])
	assert.Equal(t, 0, got[1].Label)
	assert.Equal(t, 4, got[1].Line, "lines count the quoted line break")
	assert.Equal(t, 1, got[2].Label)

	jsonl := `{"source": "S1", "summary": "Sum one.", "label": 1}` + "\n\n" +
		`{"premise": "S2", "hypothesis": "Sum two.", "label": "unsupported", "id": 7}` + "\n"
	r, err = NewReader(strings.NewReader(jsonl), "set.jsonl")
	require.NoError(t, err)
	ex, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, Example{ID: "line 1", Source: "S1", Summary: "Sum one.", Label: 1, Line: 1}, ex)
	ex, err = r.Next()
	require.NoError(t, err)
	assert.Equal(t, Example{ID: "7", Source: "S2", Summary: "Sum two.", Label: 0, Line: 3}, ex)
	_, err = r.Next()
	assert.ErrorIs(t, err, io.EOF)
}

func TestBadLabelsNameFileAndLine(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"x.csv", "source,summary\nA,B\n", "x.csv line 1: header \"source,summary\" has no label column"},
		{"x.csv", "source,summary,label\nA,B,1\nA,B,maybe\n", `x.csv line 3: label "maybe"`},
		{"x.csv", "source,summary,label\nA,,1\n", "x.csv line 2: empty summary"},
		{"x.jsonl", `{"source":"A","summary":"B","label":1}` + "\nnot json\n", "x.jsonl line 2: not a JSON object"},
		{"x.jsonl", `{"source":"A","label":1}`, "x.jsonl line 1: no summary field"},
		{"x.jsonl", `{"source":"A","summary":"B"}`, `x.jsonl line 1: no "label" field`},
		{"x.jsonl", `{"source":"A","summary":"B","label":0.5}`, `x.jsonl line 1: label "0.5"`},
	}
	for _, c := range cases {
		r, err := NewReader(strings.NewReader(c.text), c.name)
		for err == nil {
			_, err = r.Next()
		}
		assert.ErrorContains(t, err, c.want)
	}
}

// fixedScorer scores by a table keyed on the summary; missing keys fail.
type fixedScorer map[string]float64

func (fixedScorer) Name() string    { return "fixed" }
func (fixedScorer) Version() string { return "1" }
func (fixedScorer) Close() error    { return nil }
func (f fixedScorer) Score(_ context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	out := make([]scorers.Result, len(pairs))
	for i, p := range pairs {
		s, ok := f[p.Summary]
		if !ok {
			out[i].Err = errors.New("no score for " + p.Summary)
		}
		out[i].Score = s
	}
	return out, nil
}

func TestRunExcludesAndReportsErrors(t *testing.T) {
	jsonl := strings.Join([]string{
		`{"source":"s","summary":"a","label":0}`,
		`{"source":"s","summary":"b","label":0}`,
		`{"source":"s","summary":"c","label":1}`,
		`{"source":"s","summary":"d","label":1}`,
		`{"source":"s","summary":"missing","label":1}`,
		`{"source":"s","summary":"nan","label":1}`,
	}, "\n")
	r, err := NewReader(strings.NewReader(jsonl), "l.jsonl")
	require.NoError(t, err)
	sc := fixedScorer{"a": 0.2, "b": 0.6, "c": 0.4, "d": 0.9, "nan": math.NaN()}
	rep, err := Run(context.Background(), r, Config{Scorer: sc, Batch: 2, Concurrency: 2})
	require.NoError(t, err)
	assert.Equal(t, 4, rep.N)
	assert.Equal(t, 2, rep.Errors)
	require.Len(t, rep.ErrorSamples, 2)
	assert.Contains(t, strings.Join(rep.ErrorSamples, "|"), "line 5: no score for missing")
	assert.Contains(t, strings.Join(rep.ErrorSamples, "|"), "outside [0,1]")
	assert.Equal(t, 0.75, rep.AUROC)

	r, _ = NewReader(strings.NewReader(`{"source":"s","summary":"zzz","label":0}`), "l.jsonl")
	_, err = Run(context.Background(), r, Config{Scorer: sc})
	assert.ErrorContains(t, err, "failed on all 1 pairs")
}
