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
