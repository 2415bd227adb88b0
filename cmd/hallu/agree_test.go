package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hallu agree end to end: one generations file judged by two scorer
// identities, the agreement in every format, the disagreements written as
// a labelling file, and the refusals (exit 2).
func TestAgreeCommand(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "g.jsonl")
	code, _, errOut := runHallu(t, "generate", "--dataset", "builtin", "--model", "builtin:corrupt", "--limit", "30", "--out", gen)
	require.Equal(t, 0, code, errOut)
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	code, _, errOut = runHallu(t, "score", "--scorer", "overlap", "--in", gen, "--out", a)
	require.Equal(t, 0, code, errOut)
	code, _, errOut = runHallu(t, "score", "--scorer", "overlap", "--scorer-opt", "chunk-words=60", "--in", gen, "--out", b)
	require.Equal(t, 0, code, errOut)

	labels := filepath.Join(dir, "to-label.csv")
	code, out, errOut := runHallu(t, "agree", a, b, "--disagreements", labels)
	require.Equal(t, 0, code, errOut)
	for _, want := range []string{"Agreement of 2 scorers on 30 documents", "overlap 1+chunk60", "Percent agreement", "Cohen's kappa",
		"Confusion matrix", "Disagreements:"} {
		assert.Contains(t, out, want)
	}
	assert.Contains(t, errOut, "documents to label to "+labels)
	_, err := os.Stat(labels)
	require.NoError(t, err)

	code, out, errOut = runHallu(t, "agree", "--format", "json", a, b, a)
	require.Equal(t, 0, code, errOut)
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	assert.Equal(t, "fleiss", res["kappa_kind"])
	assert.Len(t, res["pairs"], 3)

	// Judgments of other generations: exit 2, saying why.
	gen2 := filepath.Join(dir, "g2.jsonl")
	code, _, errOut = runHallu(t, "generate", "--dataset", "builtin", "--model", "builtin:corrupt", "--limit", "30", "--temperature", "0.5", "--out", gen2)
	require.Equal(t, 0, code, errOut)
	c := filepath.Join(dir, "c.jsonl")
	code, _, errOut = runHallu(t, "score", "--scorer", "overlap", "--in", gen2, "--out", c)
	require.Equal(t, 0, code, errOut)
	code, _, errOut = runHallu(t, "agree", a, c)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "judge different generations of 30 documents")
	assert.Contains(t, errOut, "temperature 0.5 in "+c+", 0 in "+a)

	code, _, errOut = runHallu(t, "agree", a)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "two or more scorers")
	code, _, _ = runHallu(t, "agree", "--format", "csv", a, b)
	assert.Equal(t, 2, code)

	code, out, errOut = runHallu(t, "help", "agree")
	require.Equal(t, 0, code)
	for _, flag := range []string{"-disagreements", "-format", "-max-docs", "-bootstrap-samples", "-bootstrap-seed", "-out"} {
		assert.Contains(t, out+errOut, flag)
	}
}
