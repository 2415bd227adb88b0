package agree_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/agree"
	"github.com/hallu-eval/hallu/calibrate"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// -update rewrites the golden files from the current output:
// go test ./agree -update, then review the diff.
var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./agree -update to create it")
	assert.Equal(t, string(want), string(got), "%s differs; if the change is intended, go test ./agree -update", path)
}

// generations are n documents of two models, made the way generate makes
// them (keys filled in).
func generations(n int) []*results.Record {
	var out []*results.Record
	for _, m := range []string{"model-a", "model-b"} {
		for i := range n {
			src := fmt.Sprintf("Document %d says the river rose %d centimetres on Tuesday.", i, 10+i)
			r := &results.Record{Schema: results.SchemaVersion, DocID: fmt.Sprintf("doc-%02d", i), Source: src,
				DocHash: results.TextHash(src), Model: m, PromptHash: "p1", Endpoint: "builtin",
				Params: &results.Params{Temperature: 0}, Summary: fmt.Sprintf("The river rose %d centimetres.", 10+i)}
			r.GenKey = results.GenerationKey(r)
			out = append(out, r)
		}
	}
	return out
}

// judge copies gens with a judgment by id, scoring record i with score(i).
func judge(gens []*results.Record, id scorers.Identity, score func(i int) float64) []*results.Record {
	out := make([]*results.Record, len(gens))
	for i, g := range gens {
		c := *g
		s := score(i)
		c.Judgment = &results.Judgment{Scorer: id.Name, Version: id.Version, Options: id.Options, Weights: id.Weights,
			ScorerKey: id.Key(), GenHash: results.GenerationHash(g), Score: &s}
		out[i] = &c
	}
	return out
}

func write(t *testing.T, name string, recs []*results.Record) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	require.NoError(t, err)
	w := results.NewWriter(f)
	for _, r := range recs {
		require.NoError(t, w.Write(r))
	}
	require.NoError(t, f.Close())
	return path
}

var (
	overlap = scorers.Identity{Name: "overlap", Version: "1"}
	hhem    = scorers.Identity{Name: "hhem", Version: "HHEM-2.1-Open", Weights: "2f1d3c4b5a69788796a5b4c3d2e1f0a9"}
	judgeID = scorers.Identity{Name: "judge", Version: "1", Options: map[string]string{"model": "qwen2.5:7b", "mode": "verdict"}}
)

// Scores with a fixed pattern: judge A calls every third document
// hallucinated, B every third but shifted on some, C every fourth.
func scoreA(i int) float64 {
	if i%3 == 0 {
		return 0.1
	}
	return 0.9
}

func scoreB(i int) float64 {
	if i%3 == 0 && i%5 != 0 || i%7 == 1 {
		return 0.2 + float64(i%4)/100
	}
	return 0.8
}

func scoreC(i int) float64 {
	if i%4 == 0 {
		return 0.3
	}
	return 0.7
}

func measure(t *testing.T, paths ...string) *agree.Result {
	t.Helper()
	set, err := agree.Read(paths, nil, nil)
	require.NoError(t, err)
	return agree.Measure(set, agree.Options{Samples: 500, Seed: 1})
}

// normalize replaces the temporary directories in an output.
func normalize(b []byte, paths ...string) []byte {
	s := string(b)
	for _, p := range paths {
		s = strings.ReplaceAll(s, filepath.Dir(p)+string(filepath.Separator), "")
		s = strings.ReplaceAll(s, filepath.Dir(p)+`/`, "")
	}
	return []byte(s)
}

func TestGolden(t *testing.T) {
	gens := generations(20)
	a := write(t, "a.jsonl", judge(gens, overlap, scoreA))
	b := write(t, "b.jsonl", judge(gens, hhem, scoreB))
	c := write(t, "c.jsonl", judge(gens, judgeID, scoreC))
	for name, paths := range map[string][]string{"two": {a, b}, "three": {a, b, c}} {
		res := measure(t, paths...)
		var txt, md, js bytes.Buffer
		require.NoError(t, res.WriteText(&txt, 5))
		require.NoError(t, res.WriteMarkdown(&md, 5))
		require.NoError(t, res.WriteJSON(&js))
		golden(t, name+".txt", normalize(txt.Bytes(), paths...))
		golden(t, name+".md", normalize(md.Bytes(), paths...))
		golden(t, name+".json", normalize(js.Bytes(), paths...))
	}
}

// The counts behind the golden files, checked against the scores directly.
func TestTwoJudgesCounts(t *testing.T) {
	gens := generations(20)
	res := measure(t, write(t, "a.jsonl", judge(gens, overlap, scoreA)), write(t, "b.jsonl", judge(gens, hhem, scoreB)))
	var want agree.Table
	for i := range gens {
		ha, hb := scoreA(i) < 0.5, scoreB(i) < 0.5
		switch {
		case !ha && !hb:
			want.CC++
		case !ha && hb:
			want.CH++
		case ha && !hb:
			want.HC++
		default:
			want.HH++
		}
	}
	assert.Equal(t, 40, res.N)
	assert.Equal(t, want, res.Pairs[0].Table)
	assert.Equal(t, want.CH+want.HC, len(res.Disagreements))
	assert.Equal(t, "cohen", res.KappaKind)
	assert.InDelta(t, want.Kappa(), res.Kappa.Est, 1e-12)
	assert.InDelta(t, 100*float64(want.Agreed())/40, res.AgreePct.Est, 1e-9)
}

// The disagreements file is a labelling file calibrate reads: once a
// person fills in the labels, every disagreement comes back with its
// source, summary and label, and the scorers' columns are ignored.
func TestDisagreementsRoundTripThroughCalibrate(t *testing.T) {
	gens := generations(20)
	res := measure(t, write(t, "a.jsonl", judge(gens, overlap, scoreA)), write(t, "b.jsonl", judge(gens, hhem, scoreB)))
	require.NotEmpty(t, res.Disagreements)
	var buf bytes.Buffer
	require.NoError(t, agree.WriteLabelling(&buf, res))

	// Unfilled, calibrate refuses it, naming the line.
	src, err := calibrate.NewReader(bytes.NewReader(buf.Bytes()), "to-label.csv")
	require.NoError(t, err)
	_, err = src.Next()
	require.ErrorContains(t, err, "to-label.csv line 2")

	// A person fills in the label column: alternately 1 and hallucinated.
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, []string{"id", "label", "source", "summary", "model", "doc_id",
		"judge_A", "judge_A_verdict", "judge_A_score", "judge_B", "judge_B_verdict", "judge_B_score"}, rows[0])
	for i := range rows[1:] {
		rows[i+1][1] = []string{"1", "hallucinated"}[i%2]
	}
	var filled bytes.Buffer
	cw := csv.NewWriter(&filled)
	require.NoError(t, cw.WriteAll(rows))

	src, err = calibrate.NewReader(&filled, "labelled.csv")
	require.NoError(t, err)
	var got []calibrate.Example
	for {
		ex, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		got = append(got, ex)
	}
	require.Len(t, got, len(res.Disagreements))
	for i, ex := range got {
		d := res.Disagreements[i]
		assert.Equal(t, d.Model+"/"+d.DocID, ex.ID)
		assert.Equal(t, d.Source, ex.Source)
		assert.Equal(t, d.Summary, ex.Summary)
		assert.Equal(t, []int{calibrate.Consistent, calibrate.Hallucinated}[i%2], ex.Label)
	}
}

func mismatchErr(t *testing.T, err error) string {
	t.Helper()
	var me *agree.MismatchError
	require.ErrorAs(t, err, &me)
	return err.Error()
}

// Files that judged different generations of a document are refused,
// naming the documents and what differs.
func TestRefusesDifferentGenerations(t *testing.T) {
	gens := generations(5)
	a := write(t, "a.jsonl", judge(gens, overlap, scoreA))

	hot := generations(5)
	for _, r := range hot {
		r.Params.Temperature = 0.7
		r.GenKey = results.GenerationKey(r)
	}
	b := write(t, "b.jsonl", judge(hot, hhem, scoreB))
	_, err := agree.Read([]string{a, b}, nil, nil)
	msg := mismatchErr(t, err)
	assert.Contains(t, msg, a+" and "+b+" judge different generations of 10 documents")
	assert.Contains(t, msg, "model-a doc-00: temperature 0.7 in "+b+", 0 in "+a)

	again := generations(5)
	again[3].Summary = "The river fell."
	_, err = agree.Read([]string{a, write(t, "c.jsonl", judge(again, hhem, scoreB))}, nil, nil)
	msg = mismatchErr(t, err)
	assert.Contains(t, msg, "of 1 documents (model-a doc-03: the summary differs (generated again))")

	other := generations(5)
	for _, r := range other {
		r.Source += " More text."
		r.DocHash = results.TextHash(r.Source)
		r.GenKey = results.GenerationKey(r)
	}
	_, err = agree.Read([]string{a, write(t, "d.jsonl", judge(other, hhem, scoreB))}, nil, nil)
	assert.Contains(t, mismatchErr(t, err), "the document text differs")
}

// Inputs with no generation in common are refused.
func TestRefusesDisjointInputs(t *testing.T) {
	gens := generations(6)
	a := write(t, "a.jsonl", judge(gens[:6], overlap, scoreA)) // model-a
	b := write(t, "b.jsonl", judge(gens[6:], hhem, scoreB))    // model-b
	_, err := agree.Read([]string{a, b}, nil, nil)
	msg := mismatchErr(t, err)
	assert.Contains(t, msg, "no generation was scored by all 2 scorers")
	assert.Contains(t, msg, "(models model-a)")
	assert.Contains(t, msg, "(models model-b)")
}

// A file holding two scorers' judgments is refused, naming the line and
// both identities.
func TestRefusesMixedScorers(t *testing.T) {
	gens := generations(3)
	recs := judge(gens, overlap, scoreA)
	recs[4] = judge(gens[4:5], hhem, scoreB)[0]
	mixed := write(t, "mixed.jsonl", recs)
	_, err := agree.Read([]string{mixed, write(t, "b.jsonl", judge(gens, hhem, scoreB))}, nil, nil)
	msg := mismatchErr(t, err)
	assert.Contains(t, msg, "mixed.jsonl line 5")
	assert.Contains(t, msg, "judged by hhem HHEM-2.1-Open (weights 2f1d3c4b5a69), earlier records by overlap 1")

	// Another option set is another identity, too.
	chunked := overlap
	chunked.Options = map[string]string{"chunk-words": "60"}
	recs = judge(gens, overlap, scoreA)
	recs[1] = judge(gens[1:2], chunked, scoreA)[0]
	_, err = agree.Read([]string{write(t, "m2.jsonl", recs), mixed}, nil, nil)
	assert.Contains(t, mismatchErr(t, err), "option chunk-words=60 here, unset there")
}

// A generations file is not a judge; documents a scorer failed on are left
// out of the shared set and counted.
func TestUnjudgedAndFailed(t *testing.T) {
	gens := generations(4)
	_, err := agree.Read([]string{write(t, "g.jsonl", gens), write(t, "b.jsonl", judge(gens, hhem, scoreB))}, nil, nil)
	assert.Contains(t, mismatchErr(t, err), "holds no judgments (8 generation records)")

	b := judge(gens, hhem, scoreB)
	b[2].Judgment.Score = nil
	b[2].Judgment.Error = &results.Error{Class: "scorer", Message: "boom"}
	set, err := agree.Read([]string{write(t, "a.jsonl", judge(gens, overlap, scoreA)), write(t, "b.jsonl", b)}, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 7, len(set.Docs))
	assert.Equal(t, 1, set.Partial)
	assert.Equal(t, 1, set.Judges[1].Failed)
	assert.Equal(t, 7, set.Judges[1].Judged)
}
