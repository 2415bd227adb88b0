package compare

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

const testPrompt = "0123456789abcdef"

var (
	overlapID = scorers.Identity{Name: "overlap", Version: "1"}
	execID    = scorers.Identity{Name: "exec", Version: "1", Options: map[string]string{"cmd": "./minicheck.py"}}
)

// keyedRecord is a judged record as this hallu writes it, every key set:
// document i of n, text "Document text i.", hallucinated when i < bad.
func keyedRecord(model string, i, bad int, id scorers.Identity) *results.Record {
	doc := fmt.Sprintf("doc-%02d", i)
	text := fmt.Sprintf("Document text %d.", i)
	seed := 7
	rec := &results.Record{Schema: results.SchemaVersion, DocID: doc, Source: text, DocHash: results.TextHash(text),
		Model: model, Endpoint: "http://127.0.0.1:8080/v1", PromptHash: testPrompt,
		Params:  &results.Params{Temperature: 0, Seed: &seed, MaxTokens: 256},
		Summary: summary}
	rec.GenKey = results.GenerationKey(rec)
	score := 0.9
	if i < bad {
		score = 0.1
	}
	rec.Judgment = &results.Judgment{Scorer: id.Name, Version: id.Version, Options: id.Options, Weights: id.Weights,
		ScorerKey: id.Key(), GenHash: results.GenerationHash(rec), Score: &score}
	return rec
}

// legacyRecord is the same record as an older hallu wrote it: no keys.
func legacyRecord(model string, i, bad int, scorer, version string) *results.Record {
	rec := keyedRecord(model, i, bad, scorers.Identity{Name: scorer, Version: version})
	rec.DocHash, rec.PromptHash, rec.Params, rec.GenKey = "", "", nil, ""
	rec.Judgment.ScorerKey, rec.Judgment.GenHash = "", ""
	return rec
}

// sideOf writes records to a file and reads them back as ReadSide does, so
// that the provenance is the one the command line sees.
func sideOf(t *testing.T, n int, mk func(i int) *results.Record) *Side {
	t.Helper()
	var buf bytes.Buffer
	w := results.NewWriter(&buf)
	for i := range n {
		require.NoError(t, w.Write(mk(i)))
	}
	path := filepath.Join(t.TempDir(), "side.jsonl")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return readSide(t, path, "")
}

func keyedSide(t *testing.T, model string, bad int, id scorers.Identity, edit func(*results.Record)) *Side {
	return sideOf(t, 40, func(i int) *results.Record {
		r := keyedRecord(model, i, bad, id)
		if edit != nil {
			edit(r)
		}
		return r
	})
}

func TestSameProvenanceCompares(t *testing.T) {
	base := keyedSide(t, "model-a", 4, execID, nil)
	// Another model on another endpoint: what compare is for.
	cand := keyedSide(t, "model-b", 6, execID, func(r *results.Record) { r.Endpoint = "https://example.invalid/v1" })
	r, err := Compare(base, cand, Options{})
	require.NoError(t, err)
	assert.Empty(t, r.Warnings)
	assert.Equal(t, "exec 1 cmd=./minicheck.py", r.Scorer())
}

func TestDifferentScorersRefused(t *testing.T) {
	base := keyedSide(t, "a", 4, overlapID, nil)
	cand := keyedSide(t, "b", 4, execID, nil)
	_, err := Compare(base, cand, Options{})
	require.ErrorIs(t, err, ErrScorers)
	assert.EqualError(t, err, "the two sides were not made the same way: scorer differs: overlap 1 (base) vs exec 1 cmd=./minicheck.py (candidate)")

	// The same scorer with another option, version or weights is another
	// scorer.
	for _, other := range []scorers.Identity{
		{Name: "exec", Version: "1", Options: map[string]string{"cmd": "./other.py"}},
		{Name: "exec", Version: "2", Options: execID.Options},
		{Name: "exec", Version: "1", Options: execID.Options, Weights: "9f86d081884c7d65"},
	} {
		_, err := Compare(base, keyedSide(t, "b", 4, other, nil), Options{})
		assert.ErrorIs(t, err, ErrScorers, other.String())
		_, err = Compare(keyedSide(t, "b", 4, other, nil), cand, Options{})
		assert.ErrorContains(t, err, "scorer differs: "+other.String()+" (base) vs exec 1 cmd=./minicheck.py (candidate)")
	}
	// Never allowed, whatever the settings flag.
	_, err = Compare(base, cand, Options{AllowSettings: true})
	assert.ErrorIs(t, err, ErrScorers)
}

func TestFallbackScorerNamed(t *testing.T) {
	base := keyedSide(t, "a", 4, overlapID, func(r *results.Record) { r.Judgment.FallbackFor = "hhem" })
	cand := keyedSide(t, "b", 4, scorers.Identity{Name: "hhem", Version: "2.1-open", Weights: "0123456789abcdef0123"}, nil)
	_, err := Compare(base, cand, Options{})
	assert.ErrorContains(t, err, "scorer differs: overlap 1 (fallback for hhem) (base) vs hhem 2.1-open (weights 0123456789ab) (candidate)")
}

func TestMixedScorersWithinOneSide(t *testing.T) {
	mixed := sideOf(t, 40, func(i int) *results.Record {
		if i%2 == 0 {
			return keyedRecord("a", i, 4, overlapID)
		}
		return keyedRecord("a", i, 4, execID)
	})
	clean := keyedSide(t, "b", 4, overlapID, nil)
	_, err := Compare(mixed, clean, Options{})
	require.ErrorIs(t, err, ErrScorers)
	assert.EqualError(t, err, "base holds judgments of more than one scorer (overlap 1; exec 1 cmd=./minicheck.py): judge it again with one scorer")
	_, err = Compare(clean, mixed, Options{})
	assert.ErrorContains(t, err, "candidate holds judgments of more than one scorer")
}

func TestDifferentPromptsRefused(t *testing.T) {
	base := keyedSide(t, "a", 4, overlapID, nil)
	cand := keyedSide(t, "b", 4, overlapID, func(r *results.Record) { r.PromptHash = "fedcba9876543210" })
	_, err := Compare(base, cand, Options{AllowSettings: true})
	require.ErrorIs(t, err, ErrPrompts)
	assert.EqualError(t, err, "the two sides were not made the same way: prompt differs: 0123456789abcdef (base) vs fedcba9876543210 (candidate)")
}

func TestDifferentSettings(t *testing.T) {
	base := keyedSide(t, "a", 4, overlapID, nil)
	cand := keyedSide(t, "b", 4, overlapID, func(r *results.Record) {
		r.Params.Temperature = 0.7
		r.Params.Seed = nil
		r.Params.Extra = map[string]any{"top_k": 40}
	})
	_, err := Compare(base, cand, Options{})
	require.ErrorIs(t, err, ErrSettings)
	assert.EqualError(t, err, "the two sides were not made the same way: sampling settings differ: temperature 0 (base) vs 0.7 (candidate); seed 7 (base) vs unset (candidate); extra body {} (base) vs {\"top_k\":40} (candidate) (--allow-settings-change compares them anyway)")

	r, err := Compare(base, cand, Options{AllowSettings: true})
	require.NoError(t, err)
	require.Len(t, r.Warnings, 1)
	assert.Contains(t, r.Warnings[0], "sampling settings differ (allowed by --allow-settings-change): temperature 0 (base) vs 0.7 (candidate)")

	// Every difference is named on one line, each kind found by errors.Is.
	cand = keyedSide(t, "b", 4, execID, func(r *results.Record) { r.PromptHash = "fedcba9876543210"; r.Params.MaxTokens = 0 })
	_, err = Compare(base, cand, Options{})
	assert.ErrorIs(t, err, ErrScorers)
	assert.ErrorIs(t, err, ErrPrompts)
	assert.ErrorIs(t, err, ErrSettings)
	assert.ErrorContains(t, err, "max tokens 256 (base) vs unlimited (candidate)")
	assert.NotContains(t, err.Error(), "\n")
}

func TestDifferentDocumentHashesRefused(t *testing.T) {
	base := keyedSide(t, "a", 4, overlapID, nil)
	// Records that identify their text by hash alone (no source) are still
	// checked.
	cand := keyedSide(t, "b", 4, overlapID, func(r *results.Record) {
		r.Source = ""
		if r.DocID == "doc-17" {
			r.DocHash = results.TextHash("Another text.")
		}
	})
	_, err := Compare(base, cand, Options{})
	require.ErrorIs(t, err, ErrDifferentSources)
	assert.ErrorContains(t, err, `document "doc-17" differs between base and candidate (text sha256 `+
		results.TextHash("Document text 17.")+" vs "+results.TextHash("Another text.")+"); 1 of 40 shared documents differ")

	// An older record's text is hashed the same way as a newer one's
	// DocHash, so old and new sides are compared document by document.
	old := sideOf(t, 40, func(i int) *results.Record {
		r := legacyRecord("b", i, 4, "overlap", "1")
		if i == 3 {
			r.Source = "Edited text."
		}
		return r
	})
	_, err = Compare(base, old, Options{})
	assert.ErrorContains(t, err, `document "doc-03" differs`)
}

func TestOlderRecordsCompareOnWhatTheyHave(t *testing.T) {
	old := sideOf(t, 40, func(i int) *results.Record { return legacyRecord("a", i, 4, "overlap", "1") })
	oldExec := sideOf(t, 40, func(i int) *results.Record { return legacyRecord("b", i, 4, "exec", "1") })
	_, err := Compare(old, oldExec, Options{})
	require.ErrorIs(t, err, ErrScorers, "name and version still tell these apart")
	assert.ErrorContains(t, err, "scorer differs: overlap 1 (base) vs exec 1 (candidate)")

	// Both older: one warning naming what could not be checked.
	r, err := Compare(old, sideOf(t, 40, func(i int) *results.Record { return legacyRecord("b", i, 6, "overlap", "1") }), Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"base and candidate hold records made by an older hallu, checked on what they carry: " +
		"scorers matched on name and version only (no scorer options or weights); prompts unchecked (no prompt hash); " +
		"sampling settings unchecked (none recorded); documents matched by source text (no document hash)"}, r.Warnings)

	// An older base against a newer candidate of the same scorer name and
	// version: compared, with a warning about the base only.
	newer := keyedSide(t, "b", 4, scorers.Identity{Name: "overlap", Version: "1", Options: map[string]string{"n": "2"}}, nil)
	r, err = Compare(old, newer, Options{})
	require.NoError(t, err)
	require.Len(t, r.Warnings, 1)
	assert.Contains(t, r.Warnings[0], "base holds records made by an older hallu")
	assert.Equal(t, "overlap 1 n=2", r.Scorer(), "the identity that says more")
}
