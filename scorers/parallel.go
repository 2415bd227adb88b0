package scorers

import (
	"context"
	"fmt"
	"sync"
)

// ScoreEach scores pairs one at a time with fn, concurrency calls in flight,
// for scorers whose backend takes one pair per request (an LLM judge, a
// remote API). Failures stay per pair; a cancelled ctx fails the batch.
func ScoreEach(ctx context.Context, pairs []Pair, concurrency int, fn func(context.Context, Pair) Result) ([]Result, error) {
	out := make([]Result, len(pairs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(concurrency, len(pairs))) {
		wg.Go(func() {
			for i := range next {
				out[i] = fn(ctx, pairs[i])
			}
		})
	}
	for i := range pairs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// SafeScore runs one Score call, turning a panic or a wrong number of
// results into an error for the batch: a scorer bug must cost a batch, not
// the run and everything judged so far.
func SafeScore(ctx context.Context, s Scorer, pairs []Pair) (res []Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("scorer panicked: %v", p)
		}
	}()
	res, err = s.Score(ctx, pairs)
	if err == nil && len(res) != len(pairs) {
		return nil, fmt.Errorf("scorer returned %d results for %d pairs", len(res), len(pairs))
	}
	return res, err
}
