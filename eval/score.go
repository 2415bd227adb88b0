package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// Defaults for zero ScoreConfig fields.
const (
	DefaultScoreBatch       = 16
	DefaultScoreConcurrency = 1
)

// ScoreNoSource is the scorer error of a record that carries no source text.
const ScoreNoSource = "record has no source text"

// ScoreConfig describes one scoring run.
type ScoreConfig struct {
	Scorer scorers.Scorer
	// Batch is how many records go to one Scorer.Score call; 0 =
	// DefaultScoreBatch. Records that are not judged ride along in their
	// batch, so a batch holds at most Batch records in all.
	Batch int
	// Concurrency is how many batches are judged at once; 0 =
	// DefaultScoreConcurrency. Memory is O(Batch × Concurrency) records.
	Concurrency int
	// Done holds results.Key(model, doc id) of records already judged (from
	// results.Resume); input records with these keys are skipped.
	Done map[string]bool
	// Progress receives progress as for generation (a bar on a terminal,
	// log lines otherwise; nil = none); Total is the expected record count
	// (0 = unknown).
	Progress         io.Writer
	Total            int
	ProgressInterval time.Duration
	// Now stamps judgments; nil = time.Now.
	Now func() time.Time
}

// ScoreStats counts what a run did with the records it read.
type ScoreStats struct {
	Judged    int // written with a score
	Failed    int // written with a scorer error
	NotJudged int // invalid summaries, written with a judgment that has no score
	Skipped   int // already judged in the output (ScoreConfig.Done)
	// NotStarted counts records read but not written because the run was
	// interrupted; they are redone on resume. Records not yet read are not
	// counted: the input may be an endless pipe.
	NotStarted int
}

func (s ScoreStats) String() string {
	msg := fmt.Sprintf("%d judged, %d failed, %d not judged (invalid summary), %d already done", s.Judged, s.Failed, s.NotJudged, s.Skipped)
	if s.NotStarted > 0 {
		msg += fmt.Sprintf(", %d read but not judged", s.NotStarted)
	}
	return msg
}

// ScoreInterruptedError is returned when the run's context was cancelled
// before the input was exhausted. Everything written is complete.
type ScoreInterruptedError struct{ Stats ScoreStats }

func (e *ScoreInterruptedError) Error() string {
	return fmt.Sprintf("interrupted: %s; with --out, rerun the same command to resume", e.Stats)
}

// scoreBatch is a run of consecutive input records; done is closed when
// every record in it carries its judgment.
type scoreBatch struct {
	recs []*results.Record
	done chan struct{}
}

// ScoreStream reads result records from in, judges each record's (Source,
// Summary) with cfg.Scorer and writes the records, in input order, with
// their Judgment to out.
//
// Every written record has a Judgment naming the scorer:
//   - a valid summary gets a Score, or an Error of class errclass.Scorer when
//     the scorer failed on it, failed on its whole batch, returned NaN or a
//     score outside [0,1], or the record has no source text; a failure is
//     never turned into a score;
//   - an invalid summary (leaderboard.InvalidReason: generation error, empty,
//     refusal, MinWords words or fewer) is not judged, as on the
//     leaderboard: its Judgment has neither Score nor Error, and its
//     Explanation says why. Reports count it against the answer rate.
//
// When ctx is cancelled no new batch starts, batches being judged finish
// (the scorer is not interrupted) and are written, and ScoreStream returns a
// *ScoreInterruptedError. A read error (a bad line) stops reading; the
// records before it are judged and written, then the error is returned. A
// write error stops the run at once.
func ScoreStream(ctx context.Context, in *results.Reader, out *results.Writer, cfg ScoreConfig) (ScoreStats, error) {
	if cfg.Scorer == nil {
		return ScoreStats{}, errors.New("score: no scorer")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultScoreBatch
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultScoreConcurrency
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	prog := newProgress(cfg.Progress, "score", cfg.Total, cfg.ProgressInterval)

	// Scoring runs on a context that Ctrl-C does not cancel, so batches in
	// flight finish; abort (on a write failure) does cancel it.
	scoreCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	stopRead, stopReading := context.WithCancel(ctx)
	defer stopReading()

	var (
		st      ScoreStats
		readErr error
	)
	// order carries batches in input order to the writer; its capacity
	// bounds the batches read ahead. work carries the same batches to the
	// scoring goroutines.
	order := make(chan *scoreBatch, cfg.Concurrency)
	work := make(chan *scoreBatch)
	// The pump alone calls in.Next, so that an interruption is not stuck
	// behind a read from an idle pipe; after one it may stay blocked in
	// Next until the input ends.
	type read struct {
		rec *results.Record
		err error
	}
	reads := make(chan read)
	go func() {
		for {
			rec, err := in.Next()
			select {
			case reads <- read{rec, err}:
			case <-stopRead.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer close(order)
		defer close(work)
		var cur []*results.Record
		send := func() bool {
			if len(cur) == 0 {
				return true
			}
			b := &scoreBatch{recs: cur, done: make(chan struct{})}
			cur = nil
			if stopRead.Err() != nil {
				st.NotStarted += len(b.recs)
				return false
			}
			select {
			case order <- b:
			case <-stopRead.Done():
				st.NotStarted += len(b.recs)
				return false
			}
			work <- b // a worker is free: order's capacity equals theirs
			return true
		}
		for {
			var r read
			select {
			case r = <-reads:
			case <-stopRead.Done():
				st.NotStarted += len(cur) // read, but the run was interrupted
				return
			}
			if r.err != nil {
				if !errors.Is(r.err, io.EOF) {
					readErr = r.err
				}
				send()
				return
			}
			if cfg.Done[results.Key(r.rec.Model, r.rec.DocID)] {
				st.Skipped++
				prog.skip()
				continue
			}
			if cur = append(cur, r.rec); len(cur) == cfg.Batch && !send() {
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for b := range work {
				judgeBatch(scoreCtx, cfg, b.recs)
				close(b.done)
			}
		})
	}

	var writeErr error
	for b := range order {
		<-b.done
		if writeErr != nil {
			continue // drain so the reader and workers can finish
		}
		for _, rec := range b.recs {
			if err := out.Write(rec); err != nil {
				writeErr = err
				stopReading()
				abort()
				break
			}
			prog.record(rec.Judgment.Error != nil)
			switch j := rec.Judgment; {
			case j.Error != nil:
				st.Failed++
			case j.Score != nil:
				st.Judged++
			default:
				st.NotJudged++
			}
		}
	}
	wg.Wait()
	prog.finish()

	switch {
	case writeErr != nil:
		return st, fmt.Errorf("score: %w (%s)", writeErr, st)
	case readErr != nil:
		return st, fmt.Errorf("score: %w (%s)", readErr, st)
	case ctx.Err() != nil:
		return st, &ScoreInterruptedError{Stats: st}
	}
	return st, nil
}

// judgeBatch gives every record of recs its Judgment.
func judgeBatch(ctx context.Context, cfg ScoreConfig, recs []*results.Record) {
	name, version := cfg.Scorer.Name(), cfg.Scorer.Version()
	var (
		pairs  []scorers.Pair
		judged []*results.Judgment
	)
	for _, rec := range recs {
		j := &results.Judgment{Scorer: name, Version: version}
		rec.Judgment = j
		if why := leaderboard.InvalidReason(rec); why != "" {
			j.Explanation = "not judged: invalid summary (" + why + ")"
			continue
		}
		if strings.TrimSpace(rec.Source) == "" {
			j.Error = scorerError(ScoreNoSource)
			continue
		}
		pairs = append(pairs, scorers.Pair{ID: rec.DocID, Source: rec.Source, Summary: rec.Summary})
		judged = append(judged, j)
	}
	if len(pairs) > 0 {
		res, err := scorers.SafeScore(ctx, cfg.Scorer, pairs)
		for i, j := range judged {
			if err == nil && res[i].Usage != nil {
				// Tokens spent count even when the reply was unusable.
				j.Usage = &results.Usage{PromptTokens: res[i].Usage.PromptTokens, CompletionTokens: res[i].Usage.CompletionTokens}
			}
			switch {
			case err != nil:
				j.Error = scorerError(err.Error())
			case res[i].Err != nil:
				j.Error = scorerError(res[i].Err.Error())
			case math.IsNaN(res[i].Score) || res[i].Score < 0 || res[i].Score > 1:
				j.Error = scorerError(fmt.Sprintf("scorer returned score %v, outside [0,1]", res[i].Score))
			default:
				s := res[i].Score
				j.Score, j.Explanation = &s, res[i].Explanation
			}
		}
	}
	at := cfg.Now().UTC()
	for _, rec := range recs {
		rec.Judgment.At = at
	}
}

func scorerError(msg string) *results.Error {
	return &results.Error{Class: errclass.Scorer, Message: msg}
}

// ScoreKeep is the results.Resume filter for a score output: a record is
// finished when it has a judgment without error. Records the scorer failed
// on are dropped and judged again.
func ScoreKeep(rec *results.Record) bool {
	return rec.Judgment != nil && rec.Judgment.Error == nil
}
