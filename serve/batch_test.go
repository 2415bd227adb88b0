package serve

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
)

// recordingScorer scores a pair by its text's length and records each
// batch it was called with.
type recordingScorer struct {
	mu      sync.Mutex
	batches [][]scorers.Pair
}

func (r *recordingScorer) score(_ context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	r.mu.Lock()
	r.batches = append(r.batches, append([]scorers.Pair(nil), pairs...))
	r.mu.Unlock()
	res := make([]scorers.Result, len(pairs))
	for i, p := range pairs {
		res[i].Score = float64(len(p.Summary)) / 1000
	}
	return res, nil
}

func (r *recordingScorer) sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []int
	for _, b := range r.batches {
		s = append(s, len(b))
	}
	return s
}

func pairOfLen(id string, n int) scorers.Pair {
	return scorers.Pair{ID: id, Source: "s", Summary: strings.Repeat("x", n)}
}

// startBatcher runs one worker in the test's bubble until the test ends.
func startBatcher(t *testing.T, maxQueue, maxBatch int, wait time.Duration) (*batcher, *recordingScorer) {
	rs := &recordingScorer{}
	b := newBatcher(maxQueue, maxBatch, wait, newMetrics(maxBatch))
	b.score = rs.score
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return b, rs
}

func TestBatchWaitsForCompanyThenLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const wait = 5 * time.Millisecond
		b, rs := startBatcher(t, 100, 8, wait)
		j1, err := b.submit([]scorers.Pair{pairOfLen("a", 10)})
		require.NoError(t, err)
		time.Sleep(wait / 2)
		synctest.Wait()
		assert.Empty(t, rs.sizes(), "a lone pair waits for company up to the batch wait")
		j2, err := b.submit([]scorers.Pair{pairOfLen("b", 20), pairOfLen("c", 30)})
		require.NoError(t, err)
		synctest.Wait()
		assert.Empty(t, rs.sizes())
		time.Sleep(wait / 2) // the oldest pair's wait is over
		synctest.Wait()
		assert.Equal(t, []int{3}, rs.sizes(), "the three pairs leave as one batch")
		r1, err := j1.wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 0.01, r1[0].Score)
		r2, err := j2.wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, []float64{0.02, 0.03}, []float64{r2[0].Score, r2[1].Score})
	})
}

func TestFullBatchLeavesWithoutWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, rs := startBatcher(t, 100, 4, time.Hour)
		var jobs []*job
		for i := range 9 {
			j, err := b.submit([]scorers.Pair{pairOfLen(fmt.Sprint(i), i+1)})
			require.NoError(t, err)
			jobs = append(jobs, j)
		}
		synctest.Wait()
		assert.Equal(t, []int{4, 4}, rs.sizes(), "two full batches go at once, the ninth pair waits")
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, []int{4, 4, 1}, rs.sizes())
		for i, j := range jobs {
			res, err := j.wait(context.Background())
			require.NoError(t, err)
			assert.Equal(t, float64(i+1)/1000, res[0].Score, "pair %d gets its own score", i)
		}
	})
}

func TestBatchGroupsSimilarLengthsAroundTheOldest(t *testing.T) {
	b := newBatcher(100, 3, time.Millisecond, newMetrics(3))
	// The oldest is 50 long; the nearest two in size are 45 and 60.
	for i, n := range []int{50, 5, 900, 45, 6, 60, 1000} {
		_, err := b.submit([]scorers.Pair{pairOfLen(fmt.Sprint(i), n)})
		require.NoError(t, err)
	}
	b.mu.Lock()
	batch := b.pick()
	var rest []string
	for _, it := range b.pending {
		rest = append(rest, it.pair.ID)
	}
	b.mu.Unlock()
	var ids []string
	for _, it := range batch {
		ids = append(ids, it.pair.ID)
	}
	assert.Equal(t, []string{"0", "3", "5"}, ids)
	assert.Equal(t, []string{"1", "2", "4", "6"}, rest, "the others keep their order")
}

func TestQueueBoundIsPerPair(t *testing.T) {
	b := newBatcher(5, 2, time.Millisecond, newMetrics(2))
	_, err := b.submit(make([]scorers.Pair, 3))
	require.NoError(t, err)
	_, err = b.submit(make([]scorers.Pair, 3))
	assert.ErrorIs(t, err, errQueueFull, "3 + 3 pairs is past the bound of 5")
	_, err = b.submit(make([]scorers.Pair, 2))
	require.NoError(t, err, "3 + 2 fits")
	assert.Equal(t, 5, b.queued())
	assert.Equal(t, 1, b.retryAfter(1), "no rate measured yet")
}

func TestGoneClientsPairsAreDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, rs := startBatcher(t, 100, 8, time.Millisecond)
		ctx, cancel := context.WithCancel(context.Background())
		j, err := b.submit([]scorers.Pair{pairOfLen("gone", 1), pairOfLen("gone2", 2)})
		require.NoError(t, err)
		cancel()
		_, err = j.wait(ctx)
		require.ErrorIs(t, err, context.Canceled)
		kept, err := b.submit([]scorers.Pair{pairOfLen("kept", 3)})
		require.NoError(t, err)
		res, err := kept.wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 0.003, res[0].Score)
		assert.Equal(t, []int{1}, rs.sizes(), "the departed client's pairs were not scored")
		assert.Equal(t, 0, b.queued())
	})
}

func TestFailedBatchFailsEachPair(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBatcher(10, 4, time.Millisecond, newMetrics(4))
		b.score = func(context.Context, []scorers.Pair) ([]scorers.Result, error) {
			return nil, fmt.Errorf("out of memory")
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go b.run(ctx)
		j, err := b.submit([]scorers.Pair{pairOfLen("a", 1), pairOfLen("b", 1)})
		require.NoError(t, err)
		res, err := j.wait(context.Background())
		require.NoError(t, err)
		for _, r := range res {
			assert.ErrorContains(t, r.Err, "scoring a batch of 2 pairs: out of memory")
		}
		assert.Equal(t, uint64(2), b.m.pairErrors.Load())
		cancel()
		synctest.Wait()
	})
}

func TestScorerPanicFailsOnlyItsBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBatcher(10, 1, time.Millisecond, newMetrics(1))
		b.score = func(_ context.Context, p []scorers.Pair) ([]scorers.Result, error) {
			if p[0].ID == "bad" {
				panic("index out of range")
			}
			return []scorers.Result{{Score: 0.5}}, nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go b.run(ctx)
		bad, err := b.submit([]scorers.Pair{{ID: "bad"}})
		require.NoError(t, err)
		good, err := b.submit([]scorers.Pair{{ID: "good"}})
		require.NoError(t, err)
		res, _ := bad.wait(context.Background())
		assert.ErrorContains(t, res[0].Err, "scorer panicked: index out of range")
		res, _ = good.wait(context.Background())
		require.NoError(t, res[0].Err)
		assert.Equal(t, 0.5, res[0].Score, "the worker went on")
		cancel()
		synctest.Wait()
	})
}
