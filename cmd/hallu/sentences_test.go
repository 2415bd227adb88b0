package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hallu score with granularity=sentence end to end: every judged record
// keeps its sentences' spans and scores, the document's score is the
// lowest, and the identity says how it was judged.
func TestScoreBySentence(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "g.jsonl")
	code, _, errOut := runHallu(t, "generate", "--dataset", "builtin", "--model", "builtin:corrupt", "--limit", "12", "--out", gen)
	require.Equal(t, 0, code, errOut)
	out := filepath.Join(dir, "s.jsonl")
	code, _, errOut = runHallu(t, "score", "--scorer", "overlap", "--scorer-opt", "granularity=sentence", "--in", gen, "--out", out)
	require.Equal(t, 0, code, errOut)

	recs := readRecords(t, out)
	require.Len(t, recs, 12)
	multi := 0
	for _, r := range recs {
		j := r.Judgment
		require.NotNil(t, j.Score, r.DocID)
		assert.Equal(t, "1+sentence", j.Version)
		assert.Equal(t, map[string]string{"granularity": "sentence"}, j.Options)
		require.NotEmpty(t, j.Sentences, r.DocID)
		low, at := 2.0, 0
		for _, s := range j.Sentences {
			require.True(t, at <= s.Start && s.Start < s.End && s.End <= len(r.Summary), "%s: span %+v", r.DocID, s)
			low, at = min(low, s.Score), s.End
		}
		assert.Equal(t, low, *j.Score, r.DocID)
		if len(j.Sentences) > 1 {
			multi++
		}
	}
	assert.Positive(t, multi, "lead-3 summaries have several sentences")
}
