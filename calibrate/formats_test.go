package calibrate

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The samples in testdata/formats are written for these tests in each
// release's layout, with invented text.

func readAll(t *testing.T, path, format string) (*Labels, []Example) {
	t.Helper()
	l, err := OpenLabels(path, format)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	var out []Example
	for {
		ex, err := l.Next()
		if errors.Is(err, io.EOF) {
			return l, out
		}
		require.NoError(t, err)
		out = append(out, ex)
	}
}

type got struct {
	ID    string
	Label int
	Line  int
}

func brief(exs []Example) []got {
	var out []got
	for _, e := range exs {
		out = append(out, got{e.ID, e.Label, e.Line})
	}
	return out
}

func TestFaithBenchCSV(t *testing.T) {
	l, exs := readAll(t, "testdata/formats/FaithBench.csv", "")
	assert.Equal(t, FormatFaithBench, l.Format)
	// Consistent and Benign → consistent, Unwanted (and its kinds) →
	// hallucinated, Questionable dropped; a quoted summary may span lines.
	assert.Equal(t, []got{
		{"line 2 (org/model-one)", Consistent, 2},
		{"line 3 (org/model-two)", Hallucinated, 3},
		{"line 5 (org/model-four)", Consistent, 5},
		{"line 7 (org/model-one)", Hallucinated, 7},
	}, brief(exs))
	assert.Equal(t, "The popular Larkspur ferry carried 412 passengers on Sunday.\nIt left at nine.", exs[2].Summary)
	n, why := l.Dropped()
	assert.Equal(t, 1, n)
	assert.Contains(t, why, "Questionable")
}

func TestFaithBenchBatchJSON(t *testing.T) {
	l, exs := readAll(t, "testdata/formats/batch_1.json", "")
	assert.Equal(t, FormatFaithBench, l.Format)
	// The worst label over every annotator's spans: no spans → consistent;
	// Benign and Unwanted → hallucinated; Questionable and Benign →
	// dropped; Benign alone → consistent.
	assert.Equal(t, []got{
		{"sample_id 0", Consistent, 1},
		{"sample_id 1", Hallucinated, 2},
		{"sample_id 3", Consistent, 4},
	}, brief(exs))
	n, _ := l.Dropped()
	assert.Equal(t, 1, n)
}

func TestRAGTruth(t *testing.T) {
	l, exs := readAll(t, "testdata/formats/ragtruth/response.jsonl", "")
	assert.Equal(t, FormatRAGTruth, l.Format)
	assert.Equal(t, filepath.Join("testdata/formats/ragtruth", "source_info.jsonl"), l.Sources)
	assert.Equal(t, []got{
		{"id 11", Consistent, 1},
		{"id 12", Hallucinated, 2},
		{"id 13", Consistent, 3},
		{"id 14", Hallucinated, 5},
	}, brief(exs))
	assert.Equal(t, "The harbour authority said on Tuesday that the east quay will close for repairs in March. Work is expected to last six weeks.", exs[0].Source)
	assert.Equal(t, "Question: how long do the repairs last\n\npassage 1:Repairs to the east quay are expected to last six weeks.\n\n", exs[2].Source)
	assert.Equal(t, `{"name":"Quay Cafe","city":"Port Alder","stars":4.5}`, exs[3].Source)
	assert.Equal(t, "The east quay will close for repairs in April.", exs[1].Summary)
	n, _ := l.Dropped()
	assert.Zero(t, n)
}

func TestAggreFactCSV(t *testing.T) {
	l, exs := readAll(t, "testdata/formats/aggrefact.csv", "")
	assert.Equal(t, FormatAggreFact, l.Format)
	assert.Equal(t, []got{
		{"AggreFact-CNN line 2", Consistent, 2},
		{"AggreFact-CNN line 3", Hallucinated, 3},
		{"ExpertQA line 4", Consistent, 4},
	}, brief(exs))
	assert.Equal(t, "The west quay closes in March.", exs[1].Summary)
	assert.Equal(t, "The harbour authority said the east quay will close in March.", exs[1].Source)
}

// hallu's own files are still detected as such, and read as before.
func TestDetectHallu(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "l.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte("id,source,summary,label\na,The sky is blue today.,The sky is blue.,1\n"), 0o644))
	l, exs := readAll(t, csvPath, "auto")
	assert.Equal(t, FormatHallu, l.Format)
	assert.Equal(t, []got{{"a", Consistent, 2}}, brief(exs))

	jsonl := filepath.Join(dir, "l.jsonl")
	require.NoError(t, os.WriteFile(jsonl, []byte(`{"doc":"The sky is blue today.","claim":"The sky is green.","label":0}`+"\n"), 0o644))
	l, exs = readAll(t, jsonl, "")
	assert.Equal(t, FormatHallu, l.Format)
	assert.Equal(t, []got{{"line 1", Hallucinated, 1}}, brief(exs))
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func firstErr(t *testing.T, path, format string) error {
	t.Helper()
	l, err := OpenLabels(path, format)
	if err != nil {
		return err
	}
	defer l.Close()
	for {
		if _, err := l.Next(); err != nil {
			require.NotErrorIs(t, err, io.EOF, "want an error")
			return err
		}
	}
}

// Bad input names the file and line (or sample), and what is wrong.
func TestFormatErrors(t *testing.T) {
	dir := t.TempDir()
	fb := writeFile(t, dir, "FaithBench.csv", "source,summary,LLM,worst-label,best-label\n\"A long enough source text.\",\"A summary of it.\",m,Consistent,Consistent\n\"A long enough source text.\",\"A summary.\",m,Maybe,Benign\n")
	assert.EqualError(t, firstErr(t, fb, ""), fb+` line 3: worst-label "Maybe": want Unwanted, Questionable, Benign or Consistent`)

	// Asking for FaithBench on another file says what is missing.
	plain := writeFile(t, dir, "plain.csv", "source,summary,label\nx,y,1\n")
	assert.ErrorContains(t, firstErr(t, plain, FormatFaithBench), plain+` line 1: header "source,summary,label" is not FaithBench.csv's`)

	batch := writeFile(t, dir, "batch_2.json", `{"samples": [{"sample_id": 7, "source": "S is a source.", "summary": "A summary.", "annotations": [{"label": ["Wrong"]}]}]}`)
	assert.EqualError(t, firstErr(t, batch, ""), batch+` sample 1 (sample_id 7): label "Wrong": want Unwanted, Questionable or Benign`)

	rt := filepath.Join(dir, "rt")
	require.NoError(t, os.Mkdir(rt, 0o755))
	resp := writeFile(t, rt, "response.jsonl", `{"id": "1", "source_id": "5", "labels": [], "response": "A response."}`+"\n")
	assert.ErrorContains(t, firstErr(t, resp, ""), "RAGTruth responses need their sources")
	writeFile(t, rt, "source_info.jsonl", `{"source_id": "6", "task_type": "Summary", "source_info": "A source text."}`+"\n")
	assert.EqualError(t, firstErr(t, resp, ""), resp+` line 1: source_id "5" is not in source_info.jsonl`)
	writeFile(t, rt, "source_info.jsonl", `{"source_id": "5", "task_type": "Summary", "source_info": "A source text."}`+"\nnot json\n")
	assert.ErrorContains(t, firstErr(t, resp, ""), filepath.Join(rt, "source_info.jsonl")+" line 2: not a JSON object")

	ag := writeFile(t, dir, "agg.csv", "dataset,doc,claim,label\nLFQA,A doc text.,A claim.,1\nLFQA,A doc text.,A claim.,yes\n")
	assert.EqualError(t, firstErr(t, ag, ""), ag+` line 3: label "yes": LLM-AggreFact labels are 1 (supported) or 0 (unsupported)`)

	_, err := OpenLabels(ag, "faithbenchh")
	assert.ErrorContains(t, err, `labels format "faithbenchh": want hallu, faithbench, ragtruth, aggrefact or auto`)
}
