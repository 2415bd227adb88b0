package calibrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/hallu-eval/hallu/scorers"
)

// Defaults for zero Config fields.
const (
	DefaultBatch       = 16
	DefaultConcurrency = 1
	DefaultThreshold   = 0.5
	maxErrorSamples    = 5
)

// Config describes one calibration run.
type Config struct {
	Scorer      scorers.Scorer
	Batch       int     // pairs per Score call; 0 = DefaultBatch
	Concurrency int     // Score calls in flight; 0 = DefaultConcurrency
	Threshold   float64 // decision threshold; 0 = DefaultThreshold
	// OnScored, when set, sees every example with its result (for a
	// per-pair dump); it is called from one goroutine at a time.
	OnScored func(Example, scorers.Result)
}

// Report is a calibration's outcome.
type Report struct {
	Scorer, Version string
	Metrics
	// Errors counts pairs the scorer failed on; they are excluded from
	// the metrics. ErrorSamples holds the first few, naming the pair.
	Errors       int
	ErrorSamples []string
}

// Run scores every example of src and computes the metrics. A read error
// (a bad line) stops the run and is returned; so is cancellation. Memory
// is O(Batch × Concurrency) examples plus one score per example.
func Run(ctx context.Context, src Reader, cfg Config) (*Report, error) {
	if cfg.Scorer == nil {
		return nil, errors.New("calibrate: no scorer")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = DefaultThreshold
	}
	rep := &Report{Scorer: cfg.Scorer.Name(), Version: cfg.Scorer.Version()}
	var (
		mu     sync.Mutex
		points []Point
	)
	record := func(batch []Example, res []scorers.Result, batchErr error) {
		mu.Lock()
		defer mu.Unlock()
		for i, ex := range batch {
			var r scorers.Result
			if batchErr != nil {
				r.Err = batchErr
			} else {
				r = res[i]
				if r.Err == nil && (math.IsNaN(r.Score) || r.Score < 0 || r.Score > 1) {
					r.Err = fmt.Errorf("scorer returned score %v, outside [0,1]", r.Score)
				}
			}
			if cfg.OnScored != nil {
				cfg.OnScored(ex, r)
			}
			if r.Err != nil {
				rep.Errors++
				if len(rep.ErrorSamples) < maxErrorSamples {
					where := ex.ID
					if where != fmt.Sprintf("line %d", ex.Line) {
						where += fmt.Sprintf(" (line %d)", ex.Line)
					}
					rep.ErrorSamples = append(rep.ErrorSamples, fmt.Sprintf("%s: %v", where, r.Err))
				}
				continue
			}
			points = append(points, Point{Score: r.Score, Label: ex.Label})
		}
	}

	work := make(chan []Example)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for batch := range work {
				pairs := make([]scorers.Pair, len(batch))
				for i, ex := range batch {
					pairs[i] = scorers.Pair{ID: ex.ID, Source: ex.Source, Summary: ex.Summary}
				}
				res, err := scorers.SafeScore(ctx, cfg.Scorer, pairs)
				record(batch, res, err)
			}
		})
	}
	readErr := feed(ctx, src, cfg.Batch, work)
	close(work)
	wg.Wait()
	if readErr != nil {
		return nil, readErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(points) == 0 {
		if rep.Errors > 0 {
			return rep, fmt.Errorf("calibrate: the scorer failed on all %d pairs; first: %s", rep.Errors, rep.ErrorSamples[0])
		}
		return rep, errors.New("calibrate: the labels file has no examples")
	}
	rep.Metrics = Compute(points, cfg.Threshold)
	return rep, nil
}

// feed reads src into batches until EOF, a read error or cancellation.
func feed(ctx context.Context, src Reader, size int, work chan<- []Example) error {
	var batch []Example
	send := func() bool {
		if len(batch) == 0 {
			return true
		}
		select {
		case work <- batch:
			batch = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		ex, err := src.Next()
		if errors.Is(err, io.EOF) {
			send()
			return nil
		}
		if err != nil {
			return err
		}
		if batch = append(batch, ex); len(batch) == size && !send() {
			return nil
		}
	}
}
