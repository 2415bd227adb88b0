package leaderboard

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/results"
)

func TestVectaraBadInput(t *testing.T) {
	dir := t.TempDir()
	mdir := filepath.Join(dir, "output", "org", "model")
	require.NoError(t, os.MkdirAll(mdir, 0o755))
	good := `{"summary_uid":"a","hhem_score":0.9,"is_valid":true,"word_count":40}`
	cases := map[string]string{
		`no "is_valid"`:              `{"summary_uid":"b","hhem_score":0.9,"word_count":40}`,
		"outside [0,1]":              `{"summary_uid":"b","hhem_score":1.5,"is_valid":true,"word_count":40}`,
		"not a leaderboard judgment": `{"summary_uid":`,
		"duplicate":                  good,
	}
	for want, bad := range cases {
		require.NoError(t, os.WriteFile(filepath.Join(mdir, results.JudgmentsFile), []byte(good+"\n\n"+bad+"\n"), 0o644))
		err := NewAggregator().ReadVectara(dir)
		require.Error(t, err, want)
		assert.Contains(t, err.Error(), "judgments.jsonl line 3", want)
		assert.Contains(t, err.Error(), want)
	}
	require.NoError(t, os.WriteFile(filepath.Join(mdir, results.JudgmentsFile), []byte(good+"\n"), 0o644))
	a := NewAggregator()
	require.NoError(t, a.ReadVectara(dir))
	assert.Equal(t, "org/model", a.Stats()[0].Model)

	assert.ErrorContains(t, NewAggregator().ReadVectara(t.TempDir()), "no ORG/MODEL/judgments.jsonl")
}
