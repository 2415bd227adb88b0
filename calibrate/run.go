package calibrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/results"
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
	// per-pair dump), in input order, from one goroutine at a time.
	OnScored func(Example, scorers.Result)
}

// Report is a calibration's outcome.
type Report struct {
	Scorer, Version string
	// Identity is the scorer's full identity, as its judgments carry it.
	Identity scorers.Identity
	Metrics
	// Errors counts pairs the scorer failed on; they are excluded from
	// the metrics. ErrorSamples holds the first few, naming the pair.
	Errors       int
	ErrorSamples []string
}

// Run scores every example of src with the score engine (eval.Score, every
// pair judged, invalid-looking summaries included) and computes the
// metrics. OnScored and the error samples see the examples in input order,
// whatever the concurrency. A read error (a bad line) stops the run and is
// returned; so is cancellation, after the batches being scored finish.
// Memory is O(Batch × Concurrency) examples plus one score per example.
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
	rep := &Report{Scorer: cfg.Scorer.Name(), Version: cfg.Scorer.Version(), Identity: scorers.IdentityOf(cfg.Scorer)}
	var points []Point
	record := func(ex Example, r scorers.Result) {
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
			return
		}
		points = append(points, Point{Score: r.Score, Label: ex.Label})
	}

	// The score engine passes records on in input order, so the examples
	// read wait in a queue for their judgment; it holds O(Batch ×
	// Concurrency) of them.
	var (
		mu      sync.Mutex
		queue   []Example
		readErr error
	)
	recs := recordSource(func() (*results.Record, error) {
		ex, err := src.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			return nil, err
		}
		mu.Lock()
		queue = append(queue, ex)
		mu.Unlock()
		return &results.Record{Schema: results.SchemaVersion, DocID: ex.ID, Source: ex.Source, Summary: ex.Summary}, nil
	})
	sink := func(rec *results.Record) error {
		mu.Lock()
		ex := queue[0]
		queue = queue[1:]
		mu.Unlock()
		record(ex, resultOf(rec.Judgment))
		return nil
	}
	_, err := eval.Score(ctx, recs, sink, eval.ScoreConfig{Scorer: cfg.Scorer, Batch: cfg.Batch, Concurrency: cfg.Concurrency, JudgeAll: true})
	if readErr != nil {
		return nil, readErr
	}
	if err != nil {
		var ie *eval.InterruptedError
		if errors.As(err, &ie) {
			return nil, ctx.Err()
		}
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

type recordSource func() (*results.Record, error)

func (f recordSource) Next() (*results.Record, error) { return f() }

// resultOf turns a judgment back into the scorer's result for the pair.
func resultOf(j *results.Judgment) scorers.Result {
	var r scorers.Result
	switch {
	case j.Error != nil:
		r.Err = errors.New(j.Error.Message)
	case j.Score != nil:
		r.Score = *j.Score
	}
	r.Explanation = j.Explanation
	if j.Usage != nil {
		r.Usage = &scorers.Usage{PromptTokens: j.Usage.PromptTokens, CompletionTokens: j.Usage.CompletionTokens}
	}
	return r
}
