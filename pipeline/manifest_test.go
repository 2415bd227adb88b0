package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

func row(model, dataset, prompt string, sc scorers.Identity, key string) leaderboard.ModelStats {
	return leaderboard.ModelStats{
		Model: model, Documents: 10, Judged: 8, ScorerErrors: 1,
		GenerationErrors: map[string]int{"timeout": 1, "http_5xx": 1},
		Provenance: leaderboard.Provenance{
			Scorers:            []leaderboard.ScorerSeen{{Identity: sc, Key: key}},
			PromptHashes:       []string{prompt},
			Endpoints:          []string{"http://127.0.0.1:1/v1"},
			DatasetFingerprint: dataset, DatasetDocuments: 10,
		},
	}
}

func TestDescribeFromRecords(t *testing.T) {
	hhem := scorers.Identity{Name: "hhem", Version: "2.1"}
	a := row("a", "ds1", "p1", hhem, "k1")
	b := row("b", "ds1", "p1", hhem, "k1")
	b.Provenance.FallbackFor = []string{"hhem"}

	var m results.Manifest
	describe(&m, []leaderboard.ModelStats{a, b}, map[string]string{"a": "a-dir", "b": "b-dir"})
	assert.Equal(t, "ds1", m.DatasetSHA256)
	assert.Equal(t, 10, m.Documents)
	assert.Equal(t, "hhem 2.1", m.Scorer)
	assert.Equal(t, "k1", m.ScorerKey)
	assert.Equal(t, "p1", m.PromptHash)
	assert.Equal(t, []string{"hhem"}, m.FallbackFor)
	ca := m.Models["a"]
	assert.Equal(t, "a-dir", ca.Dir)
	assert.Equal(t, 10, ca.Documents)
	assert.Equal(t, 8, ca.Generated, "documents less generation errors")
	assert.Equal(t, 2, ca.GenerationErrors)
	assert.Equal(t, 8, ca.Judged)
	assert.Equal(t, 1, ca.ScorerErrors)
	assert.Equal(t, "k1", ca.ScorerKey)
	assert.Equal(t, []string{"http://127.0.0.1:1/v1"}, ca.Endpoints)

	// Where the models disagree, the shared fields stay empty and the
	// per-model values say what each holds.
	c := row("c", "ds2", "p2", scorers.Identity{Name: "overlap", Version: "1"}, "k2")
	m = results.Manifest{}
	describe(&m, []leaderboard.ModelStats{a, c}, nil)
	assert.Empty(t, m.DatasetSHA256)
	assert.Zero(t, m.Documents)
	assert.Empty(t, m.Scorer)
	assert.Empty(t, m.ScorerKey)
	assert.Empty(t, m.PromptHash)
	assert.Empty(t, m.FallbackFor)
	assert.Equal(t, "ds2", m.Models["c"].DatasetSHA256)
	assert.Equal(t, "overlap 1", m.Models["c"].Scorer)

	// A model whose records used two prompts has no one prompt.
	a.Provenance.PromptHashes = []string{"p1", "p3"}
	m = results.Manifest{}
	describe(&m, []leaderboard.ModelStats{a}, nil)
	assert.Empty(t, m.PromptHash)
	assert.Equal(t, "ds1", m.DatasetSHA256)
}
