package leaderboard

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/results"
)

// judged builds a record judged by scorer name/version with key.
func judged(model, doc, name, version, key string) *results.Record {
	r := rec(model, doc, sixWords, ptr(0.9))
	r.Judgment.Scorer, r.Judgment.Version, r.Judgment.ScorerKey = name, version, key
	return r
}

func TestTwoScorersInOneModelRefused(t *testing.T) {
	a := NewAggregator()
	require.NoError(t, a.Add(judged("m", "1", "hhem", "2.1", "k1")))
	require.NoError(t, a.Add(judged("m", "2", "hhem", "2.1", "k1")))
	err := a.Add(judged("m", "3", "overlap", "1", "k2"))
	var mixed *MixedError
	require.ErrorAs(t, err, &mixed)
	assert.Equal(t, "m", mixed.Model)
	assert.ErrorContains(t, err, `model "m"`)
	assert.ErrorContains(t, err, "hhem 2.1")
	assert.ErrorContains(t, err, "overlap 1")

	// Records made before scorer keys are told apart by name and version.
	old := NewAggregator()
	require.NoError(t, old.Add(judged("m", "1", "hhem", "2.1", "")))
	require.NoError(t, old.Add(judged("m", "2", "hhem", "2.1", "")))
	assert.ErrorAs(t, old.Add(judged("m", "3", "hhem", "2.2", "")), &mixed)

	// The fast reader refuses it too, naming the line.
	data := encode(t, judged("m", "1", "hhem", "2.1", "k1"), judged("m", "2", "overlap", "1", "k2"))
	err = NewAggregator().ReadJSONL(bytes.NewReader(data), "j.jsonl")
	require.ErrorAs(t, err, &mixed)
	assert.ErrorContains(t, err, "j.jsonl line 2")
}

func TestMixedScorersAcrossModels(t *testing.T) {
	dir := t.TempDir()
	writeRecords(t, filepath.Join(dir, "a", results.JudgmentsFile), judged("a", "1", "hhem", "2.1", "k1"))
	writeRecords(t, filepath.Join(dir, "b", results.JudgmentsFile), judged("b", "1", "overlap", "1", "k2"))
	writeRecords(t, filepath.Join(dir, "c", results.JudgmentsFile), rec("c", "1", sixWords, nil)) // unjudged: no scorer

	_, err := Load([]string{dir}, nil, nil, Options{})
	var mixed *MixedError
	require.ErrorAs(t, err, &mixed)
	assert.Equal(t, "", mixed.Model)
	assert.Equal(t, []ModelValue{{"a", "hhem 2.1"}, {"b", "overlap 1"}}, mixed.Values)
	assert.ErrorContains(t, err, "a: hhem 2.1; b: overlap 1")

	rows, err := Load([]string{dir}, nil, nil, Options{AllowMixedScorers: true})
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.True(t, MixedScorers(rows))

	// One scorer, and a model without judgments, mix with nothing.
	same := t.TempDir()
	writeRecords(t, filepath.Join(same, "a.jsonl"), judged("a", "1", "hhem", "2.1", "k1"), judged("b", "1", "hhem", "2.1", "k1"), rec("c", "1", sixWords, nil))
	rows, err = Load([]string{same}, nil, nil, Options{})
	require.NoError(t, err)
	assert.NoError(t, CheckScorers(rows))
}

func TestProvenance(t *testing.T) {
	seed := 1
	var recs []*results.Record
	for i := range 6 {
		r := judged("m", fmt.Sprint("d", i), "overlap", "1", "k")
		r.Judgment.Options = map[string]string{"mode": "content"}
		r.DocHash = results.TextHash(fmt.Sprint("text ", i))
		r.PromptHash, r.Endpoint = "p1", "http://127.0.0.1:1/v1"
		r.Params = &results.Params{Temperature: 0.5, Seed: &seed, Extra: map[string]any{"top_k": 3}}
		r.ServedModel, r.SystemFingerprint = "m-served", "fp1"
		r.OutputTruncated = i < 2
		r.InputTruncated = i == 5
		if i == 3 {
			r.Judgment.FallbackFor = "hhem"
			r.SystemFingerprint = "fp2"
		}
		recs = append(recs, r)
	}
	add := NewAggregator()
	for _, r := range recs {
		require.NoError(t, add.Add(r))
	}
	got := add.Stats()[0]
	assert.Equal(t, 2, got.OutputTruncated)
	assert.Equal(t, 1, got.InputTruncated)
	p := got.Provenance
	assert.Equal(t, "overlap 1 mode=content", p.Scorer())
	assert.Equal(t, "k", p.ScorerKey())
	assert.Equal(t, []string{"hhem"}, p.FallbackFor)
	assert.Equal(t, []string{"p1"}, p.PromptHashes)
	assert.Equal(t, []string{`{"temperature":0.5,"seed":1,"extra":{"top_k":3}}`}, p.Params)
	assert.Equal(t, []string{"http://127.0.0.1:1/v1"}, p.Endpoints)
	assert.Equal(t, []string{"m-served"}, p.ServedModels)
	assert.Equal(t, []string{"fp1", "fp2"}, p.SystemFingerprints)
	assert.Equal(t, 6, p.DatasetDocuments)
	assert.Len(t, p.DatasetFingerprint, 16)

	// The fast reader collects the same.
	fast := NewAggregator()
	require.NoError(t, fast.ReadJSONL(bytes.NewReader(encode(t, recs...)), "x"))
	assert.Equal(t, dump(add.Stats()), dump(fast.Stats()))

	// The dataset fingerprint does not depend on the order of records but
	// on every (document, text) pair.
	rev := NewAggregator()
	for _, r := range slices.Backward(recs) {
		require.NoError(t, rev.Add(r))
	}
	assert.Equal(t, p.DatasetFingerprint, rev.Stats()[0].Provenance.DatasetFingerprint)
	other := NewAggregator()
	recs[2].DocHash = results.TextHash("another text")
	for _, r := range recs {
		require.NoError(t, other.Add(r))
	}
	assert.NotEqual(t, p.DatasetFingerprint, other.Stats()[0].Provenance.DatasetFingerprint)

	fb := Fallbacks(add.Stats())
	require.Len(t, fb, 1)
	assert.Equal(t, "scored with overlap standing in for hhem: m", fb[0].String())
}

func TestWarningsOnDifferingPromptOrDataset(t *testing.T) {
	a := NewAggregator()
	for _, model := range []string{"a", "b"} {
		for i := range 3 {
			r := judged(model, fmt.Sprint(i), "overlap", "1", "k")
			r.PromptHash, r.DocHash = "p", "h"
			require.NoError(t, a.Add(r))
		}
	}
	assert.Empty(t, Warnings(a.Stats()))

	r := judged("c", "0", "overlap", "1", "k")
	r.PromptHash, r.DocHash = "q", "h"
	require.NoError(t, a.Add(r))
	w := Warnings(a.Stats())
	require.Len(t, w, 2)
	assert.Contains(t, w[0], "models differ in prompt")
	assert.Contains(t, w[0], "c: q")
	assert.Contains(t, w[1], "models differ in dataset")
	assert.NoError(t, CheckScorers(a.Stats()), "a warning, not an error")
	assert.False(t, errors.Is(CheckScorers(a.Stats()), ErrDuplicate))
}
