package eval

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// usageScorer reports token use: pairs whose summary has "FAIL" fail, but
// the tokens spent on them are still reported.
type usageScorer struct{}

func (usageScorer) Name() string    { return "usage-fake" }
func (usageScorer) Version() string { return "1" }
func (usageScorer) Close() error    { return nil }
func (usageScorer) Score(_ context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	out := make([]scorers.Result, len(pairs))
	for i, p := range pairs {
		out[i] = scorers.Result{Score: 0.8, Usage: &scorers.Usage{PromptTokens: 100 + i, CompletionTokens: 5}}
		if p.Summary == okSummary(7)+" FAIL" {
			out[i].Err = errors.New("unreadable reply")
		}
	}
	return out, nil
}

func TestScoreRecordsScorerUsage(t *testing.T) {
	var out bytes.Buffer
	in := scoreInput(t, scoreRec("a", okSummary(7)), scoreRec("b", okSummary(7)+" FAIL"))
	_, err := Score(context.Background(), in, results.NewWriter(&out).Write, ScoreConfig{Scorer: usageScorer{}})
	require.NoError(t, err)
	recs := scoreParse(t, out.Bytes())
	require.Len(t, recs, 2)
	assert.Equal(t, &results.Usage{PromptTokens: 100, CompletionTokens: 5}, recs[0].Judgment.Usage)
	assert.NotNil(t, recs[1].Judgment.Error)
	assert.Equal(t, &results.Usage{PromptTokens: 101, CompletionTokens: 5}, recs[1].Judgment.Usage, "tokens spent on a failure count")

	// Scorers that call no model leave it out.
	out.Reset()
	_, err = Score(context.Background(), scoreInput(t, scoreRec("c", okSummary(7))), results.NewWriter(&out).Write, ScoreConfig{Scorer: &scoreFake{}})
	require.NoError(t, err)
	assert.Nil(t, scoreParse(t, out.Bytes())[0].Judgment.Usage)
	assert.NotContains(t, out.String(), `"usage"`)
}
