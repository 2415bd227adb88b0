package serve_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
	"github.com/hallu-eval/hallu/scorers/vectara"
	"github.com/hallu-eval/hallu/serve"
)

// TestVectaraClientHonoursRetryAfter: hallu's vectara scorer, sending more
// calls at once than the queue holds, gets 429s, waits as Retry-After says
// and retries until every pair has its exact score.
func TestVectaraClientHonoursRetryAfter(t *testing.T) {
	hs := &hashScorer{gate: make(chan struct{})}
	_, ts := newTestServer(t, serve.Config{MaxQueue: 2, MaxBatch: 1, APIKey: "k-1"}, hs)
	client, err := vectara.New(vectara.Config{BaseURL: ts.URL, APIKey: "k-1", Model: "hash", Concurrency: 8,
		Timeout: time.Minute, Retries: 20, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})
	require.NoError(t, err)
	pairs := testPairs(8)
	type answer struct {
		res []scorers.Result
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := client.Score(context.Background(), pairs)
		done <- answer{res, err}
	}()
	// One call is at the gate, two queued, five refused: the gate opens only
	// once the server has said 429, so the client must have waited.
	require.Eventually(t, func() bool {
		_, body := get(t, ts.URL+"/metrics")
		return parseMetrics(t, body)[`hallu_serve_requests_total{endpoint="evaluate_factual_consistency",code="429"}`] >= 1
	}, testWait, pollEvery)
	close(hs.gate)
	a := <-done
	require.NoError(t, a.err)
	for i, r := range a.res {
		require.NoError(t, r.Err, "pair %d", i)
		assert.Equal(t, hashScore(pairs[i]), r.Score, "pair %d", i)
	}
	_, body := get(t, ts.URL+"/metrics")
	m := parseMetrics(t, body)
	assert.Equal(t, 8.0, m[`hallu_serve_requests_total{endpoint="evaluate_factual_consistency",code="200"}`])
	assert.Positive(t, m[`hallu_serve_requests_total{endpoint="evaluate_factual_consistency",code="429"}`])
}
