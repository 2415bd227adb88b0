package main

import (
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
)

func TestScorerFlagShortcuts(t *testing.T) {
	parse := func(args ...string) *scorerFlags {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		sf := addScorerFlags(fs)
		require.NoError(t, fs.Parse(args))
		return sf
	}
	sf := parse("--scorer", "judge", "--judge-endpoint", "http://127.0.0.1:9/v1", "--judge-model", "qwen", "--scorer-opt", "mode=claims")
	require.NoError(t, sf.check())
	opts, err := sf.options()
	require.NoError(t, err)
	assert.Equal(t, scorers.Options{"endpoint": "http://127.0.0.1:9/v1", "model": "qwen", "mode": "claims"}, opts)

	opts, err = parse("--scorer", "hhem", "--model-dir", "/models/hhem").options()
	require.NoError(t, err)
	assert.Equal(t, scorers.Options{"model-dir": "/models/hhem"}, opts)

	_, err = parse("--judge-model", "a", "--scorer-opt", "model=b").options()
	assert.ErrorContains(t, err, "--judge-model and --scorer-opt model=b disagree")

	assert.ErrorContains(t, parse().check(), "--scorer is required")
	assert.ErrorContains(t, parse("--scorer", "nope").check(), `unknown scorer "nope"`)
}

func TestScoreFallsBackFromMissingHHEM(t *testing.T) {
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HUB_OFFLINE", "1")
	in := scoreCLIInput(t, 3)

	code, stdout, stderr := runCLI(t, in, "score", "--scorer", "hhem")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "NOTICE")
	assert.Contains(t, stderr, "hallu model pull", "the notice says how to get HHEM")
	recs := parseRecords(t, []byte(stdout))
	require.Len(t, recs, 7) // 3 documents × 2 models, and a refusal
	for _, r := range recs {
		assert.Equal(t, "overlap", r.Judgment.Scorer, "judgments name the scorer that made them")
	}

	code, _, stderr = runCLI(t, in, "score", "--scorer", "hhem", "--fallback-scorer", "none")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "hallu model pull")
	assert.NotContains(t, stderr, "NOTICE")
}
