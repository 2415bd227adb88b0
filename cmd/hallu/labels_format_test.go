package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// calibrate --labels reads the public labelled sets in their release
// formats, detected or named, and says in the report which format it read
// and what its rules left out.
func TestCalibrateReleaseFormats(t *testing.T) {
	dir := filepath.Join("..", "..", "calibrate", "testdata", "formats")
	code, out, errOut := runHallu(t, "calibrate", "--labels", filepath.Join(dir, "FaithBench.csv"), "--scorer", "overlap")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "(faithbench format; 1 dropped: worst label Questionable): 4 pairs scored (2 consistent, 2 hallucinated)")
	assert.Contains(t, errOut, "left out 1 pairs")

	code, out, errOut = runHallu(t, "calibrate", "--labels", filepath.Join(dir, "ragtruth", "response.jsonl"), "--scorer", "overlap", "--format", "json")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "(ragtruth format)")

	code, out, errOut = runHallu(t, "calibrate", "--labels", filepath.Join(dir, "aggrefact.csv"), "--labels-format", "aggrefact", "--scorer", "overlap")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "3 pairs scored")

	// A format that does not fit the file: exit 2, naming file and line.
	code, _, errOut = runHallu(t, "calibrate", "--labels", filepath.Join(dir, "aggrefact.csv"), "--labels-format", "faithbench", "--scorer", "overlap")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "aggrefact.csv line 1")
	code, _, errOut = runHallu(t, "calibrate", "--labels", filepath.Join(dir, "aggrefact.csv"), "--labels-format", "csv", "--scorer", "overlap")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `labels format "csv"`)

	code, out, errOut = runHallu(t, "help", "calibrate")
	require.Equal(t, 0, code)
	assert.Contains(t, out+errOut, "-labels-format")
}
