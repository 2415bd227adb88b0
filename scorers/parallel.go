package scorers

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hallu-eval/hallu/internal/pool"
)

// ScoreEach scores pairs one at a time with fn, concurrency calls in flight,
// for scorers whose backend takes one pair per request (an LLM judge, a
// remote API). Failures stay per pair, a panic in fn included: it becomes
// that pair's error, with the stack, rather than ending the process from a
// goroutine no caller can recover. A cancelled ctx fails the batch.
func ScoreEach(ctx context.Context, pairs []Pair, concurrency int, fn func(context.Context, Pair) Result) ([]Result, error) {
	out := make([]Result, len(pairs))
	i := 0
	next := func(context.Context) (int, error) {
		if i == len(pairs) {
			return 0, io.EOF
		}
		i++
		return i - 1, nil
	}
	err := pool.Run(ctx, pool.Config{Workers: max(1, min(concurrency, len(pairs))), InFlight: pool.Cancel}, next,
		func(ctx context.Context, i int) (Result, error) { return fn(ctx, pairs[i]), nil },
		func(r pool.Result[int, Result]) error {
			out[r.In] = r.Out
			if r.Err != nil {
				out[r.In] = Result{Err: pairPanic(pairs[r.In].ID, r.Err)}
			}
			return nil
		})
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr
	}
	if err != nil {
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
			res, err = nil, fmt.Errorf("scorer panicked: %s", pool.Recovered(p).Short())
		}
	}()
	res, err = s.Score(ctx, pairs)
	if err == nil && len(res) != len(pairs) {
		return nil, fmt.Errorf("scorer returned %d results for %d pairs", len(res), len(pairs))
	}
	return res, err
}

// pairPanic is the error of a pair whose fn panicked, in one line: it is
// stored in the pair's judgment.
func pairPanic(id string, err error) error {
	var pe *pool.PanicError
	if errors.As(err, &pe) {
		return fmt.Errorf("scorer panicked on pair %s: %s", id, pe.Short())
	}
	return fmt.Errorf("pair %s: %w", id, err)
}
