package scorers_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
)

// eachScorer is a one-pair-per-request scorer, as a judge is: it fans out
// through ScoreEach, and its per-pair function panics on the pair "boom".
type eachScorer struct{ concurrency int }

func (eachScorer) Name() string    { return "each-test" }
func (eachScorer) Version() string { return "1" }
func (eachScorer) Close() error    { return nil }

func (s eachScorer) Score(ctx context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	return scorers.ScoreEach(ctx, pairs, s.concurrency, func(_ context.Context, p scorers.Pair) scorers.Result {
		if p.ID == "boom" {
			var m map[string]int
			m[p.ID]++ // a nil map write: a real bug, not a deliberate panic call
		}
		return scorers.Result{Score: float64(len(p.Summary)) / 10}
	})
}

func TestScoreEachPanicFailsOnlyThatPair(t *testing.T) {
	pairs := []scorers.Pair{{ID: "a", Summary: "x"}, {ID: "boom"}, {ID: "c", Summary: "xyz"}}
	res, err := scorers.SafeScore(context.Background(), eachScorer{concurrency: 3}, pairs)
	require.NoError(t, err, "a panic in one pair's goroutine must not fail the batch")
	require.Len(t, res, 3)
	assert.NoError(t, res[0].Err)
	assert.InDelta(t, 0.1, res[0].Score, 1e-9)
	assert.NoError(t, res[2].Err)
	assert.InDelta(t, 0.3, res[2].Score, 1e-9)
	require.Error(t, res[1].Err)
	assert.Contains(t, res[1].Err.Error(), "pair boom")
	assert.Contains(t, res[1].Err.Error(), "assignment to entry in nil map")
	assert.Contains(t, res[1].Err.Error(), "scorer panicked on pair boom")
	assert.Contains(t, res[1].Err.Error(), "parallel_test.go:", "the message names where it panicked")
	assert.NotContains(t, res[1].Err.Error(), "\n", "one line: it is stored in a judgment")
}

// TestScoreEachConcurrency: the barrier opens only when n calls are in
// flight at once, so a serial ScoreEach fails it.
func TestScoreEachConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 4
		var (
			mu     sync.Mutex
			inside int
		)
		open := make(chan struct{})
		pairs := make([]scorers.Pair, 2*n)
		for i := range pairs {
			pairs[i].ID = fmt.Sprint(i)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		res, err := scorers.ScoreEach(ctx, pairs, n, func(ctx context.Context, p scorers.Pair) scorers.Result {
			mu.Lock()
			if inside++; inside == n {
				close(open)
			}
			mu.Unlock()
			select {
			case <-open:
				return scorers.Result{Explanation: p.ID}
			case <-ctx.Done():
				return scorers.Result{Err: ctx.Err()}
			}
		})
		require.NoError(t, err)
		for i, r := range res {
			assert.Equal(t, fmt.Sprint(i), r.Explanation, "results in pair order")
		}
	})
}

func TestScoreEachCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	_, err := scorers.ScoreEach(ctx, []scorers.Pair{{ID: "a"}, {ID: "b"}}, 1, func(context.Context, scorers.Pair) scorers.Result {
		calls++
		return scorers.Result{}
	})
	assert.True(t, errors.Is(err, context.Canceled))
	assert.Zero(t, calls, "nothing starts once cancelled")
}
