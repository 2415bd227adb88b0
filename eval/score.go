package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/internal/pool"
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
	// FallbackFor, when set, names the scorer that was asked for and that
	// Scorer stands in for; every judgment records it.
	FallbackFor string
	// Batch is how many records go to one Scorer.Score call; 0 =
	// DefaultScoreBatch. Records that are not judged ride along in their
	// batch, so a batch holds at most Batch records in all.
	Batch int
	// Concurrency is how many batches are judged at once; 0 =
	// DefaultScoreConcurrency. Memory is O(Batch × Concurrency) records.
	Concurrency int
	// Done maps results.Key(model, doc id) of records already judged to the
	// GenHash their judgment holds for (see ScoreResume). An input record
	// is skipped only when its GenerationHash is that one; a record whose
	// generation changed since is judged again (ScoreStats.Superseded).
	Done map[string]string
	// Progress receives progress as for generation (a bar on a terminal,
	// log lines otherwise; nil = none); Total is the expected record count
	// (0 = unknown).
	Progress         io.Writer
	Total            int
	ProgressInterval time.Duration
	// Now stamps judgments; nil = time.Now.
	Now func() time.Time
	// JudgeAll sends every record to the scorer, invalid summaries and
	// records without source text included: calibration asks about exactly
	// the pairs people labelled.
	JudgeAll bool
}

// ScoreStats counts what a run did with the records it read.
type ScoreStats struct {
	Judged    int // written with a score
	Failed    int // written with a scorer error
	NotJudged int // invalid summaries, written with a judgment that has no score
	Skipped   int // already judged in the output (ScoreConfig.Done)
	// Superseded counts records written (and counted above) that were in
	// ScoreConfig.Done with another generation: their old judgment no
	// longer holds and is still in the output until it is compacted.
	Superseded int
	// NotStarted counts records read but not written because the run was
	// interrupted; they are redone on resume. Records not yet read are not
	// counted: the input may be an endless pipe.
	NotStarted int
}

func (s ScoreStats) String() string {
	msg := fmt.Sprintf("%d judged, %d failed, %d not judged (invalid summary), %d already done", s.Judged, s.Failed, s.NotJudged, s.Skipped)
	if s.Superseded > 0 {
		msg += fmt.Sprintf(", %d judged again (generation changed)", s.Superseded)
	}
	if s.NotStarted > 0 {
		msg += fmt.Sprintf(", %d read but not judged", s.NotStarted)
	}
	return msg
}

// RecordSource is a stream of result records; *results.Reader is one.
// Next returns io.EOF at the end.
type RecordSource interface {
	Next() (*results.Record, error)
}

// scoreBatch is a run of consecutive input records judged by one Score
// call; superseded counts those judged again.
type scoreBatch struct {
	recs       []*results.Record
	superseded int
}

// Score reads result records from src, judges each record's (Source,
// Summary) with cfg.Scorer and passes the records, in input order, with
// their Judgment to sink. sink is called from one goroutine at a time.
//
// Every record passed on has a Judgment carrying the scorer's identity
// (scorers.IdentityOf: name, version, options, weights, ScorerKey), the
// GenHash of the record it judged, and cfg.FallbackFor:
//   - a valid summary gets a Score, or an Error of class ErrClassScorer when
//     the scorer failed (or panicked) on it or on its whole batch, returned
//     NaN or a score outside [0,1], or the record has no source text; a
//     failure is never turned into a score;
//   - an invalid summary (leaderboard.InvalidReason: generation error, empty,
//     refusal, MinWords words or fewer) is not judged, as on the
//     leaderboard: its Judgment has neither Score nor Error, and its
//     Explanation says why. Reports count it against the answer rate.
//
// When ctx is cancelled no new batch starts, batches being judged finish
// (the scorer is not interrupted) and are passed on, and Score returns an
// *InterruptedError (Stage "score", Stats a ScoreStats). A read error (a bad
// line) stops reading; the records before it are judged and passed on, then
// the error is returned. A sink error stops the run at once.
func Score(ctx context.Context, src RecordSource, sink func(*results.Record) error, cfg ScoreConfig) (ScoreStats, error) {
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
	id := scorers.IdentityOf(cfg.Scorer)
	key := id.Key()
	newJudgment := func(rec *results.Record) *results.Judgment {
		return &results.Judgment{Scorer: id.Name, Version: id.Version, Options: id.Options, Weights: id.Weights,
			ScorerKey: key, GenHash: results.GenerationHash(rec), FallbackFor: cfg.FallbackFor}
	}
	prog := newProgress(cfg.Progress, "score", cfg.Total, cfg.ProgressInterval)

	// The input may be a pipe that stays idle: reads run on their own
	// goroutine, so that an interruption is not stuck behind one.
	read, stopRead := pool.Interruptible(src.Next)
	defer stopRead()

	var (
		st       ScoreStats
		readErr  error // a read error held back until its batch is passed on
		writeErr error
	)
	// next builds a batch of records to judge. It alone touches readErr
	// and st.Skipped; Run orders its calls before its return.
	next := func(ctx context.Context) (*scoreBatch, error) {
		if readErr != nil {
			return nil, readErr
		}
		b := &scoreBatch{}
		for len(b.recs) < cfg.Batch {
			rec, err := read(ctx)
			if err != nil {
				if len(b.recs) == 0 {
					return nil, err
				}
				// Pass the records before it on first; a cancelled
				// batch reaches the sink as not started.
				readErr = err
				break
			}
			if h, ok := cfg.Done[results.Key(rec.Model, rec.DocID)]; ok {
				if h == results.GenerationHash(rec) {
					st.Skipped++
					prog.skip()
					continue
				}
				b.superseded++
			}
			b.recs = append(b.recs, rec)
		}
		return b, nil
	}
	judge := func(ctx context.Context, b *scoreBatch) (struct{}, error) {
		judgeBatch(ctx, cfg, newJudgment, b.recs)
		return struct{}{}, nil
	}
	put := func(r pool.Result[*scoreBatch, struct{}]) error {
		b := r.In
		switch {
		case errors.Is(r.Err, pool.ErrNotStarted):
			st.NotStarted += len(b.recs)
			return nil
		case r.Err != nil:
			// judgeBatch itself failed (SafeScore catches the scorer's
			// own panics): the whole batch carries the failure.
			for _, rec := range b.recs {
				rec.Judgment = newJudgment(rec)
				rec.Judgment.Error = scorerError(r.Err.Error())
				rec.Judgment.At = cfg.Now().UTC()
			}
		}
		for _, rec := range b.recs {
			if err := sink(rec); err != nil {
				writeErr = err
				return err
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
		st.Superseded += b.superseded
		return nil
	}
	err := pool.Run(ctx, pool.Config{Workers: cfg.Concurrency, Window: cfg.Concurrency + 1, Ordered: true, InFlight: pool.Finish},
		next, judge, put)
	prog.finish()

	switch {
	case writeErr != nil:
		return st, fmt.Errorf("score: %w (%s)", writeErr, st)
	case err == nil:
		return st, nil
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return st, &InterruptedError{Stage: "score", Stats: st}
	default:
		return st, fmt.Errorf("score: %w (%s)", err, st)
	}
}

// judgeBatch gives every record of recs its Judgment.
func judgeBatch(ctx context.Context, cfg ScoreConfig, newJudgment func(*results.Record) *results.Judgment, recs []*results.Record) {
	var (
		pairs  []scorers.Pair
		judged []*results.Judgment
	)
	for _, rec := range recs {
		j := newJudgment(rec)
		rec.Judgment = j
		if why := leaderboard.InvalidReason(rec); why != "" && !cfg.JudgeAll {
			j.Explanation = "not judged: invalid summary (" + why + ")"
			continue
		}
		if strings.TrimSpace(rec.Source) == "" && !cfg.JudgeAll {
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
				j.Sentences = sentenceScores(res[i].Sentences)
				if len(res[i].Repeats) > 1 {
					j.Repeats = append([]float64(nil), res[i].Repeats...)
					j.Flipped = flipped(res[i].Repeats)
				}
			}
		}
	}
	at := cfg.Now().UTC()
	for _, rec := range recs {
		rec.Judgment.At = at
	}
}

func sentenceScores(in []scorers.SentenceScore) []results.SentenceScore {
	if len(in) == 0 {
		return nil
	}
	out := make([]results.SentenceScore, len(in))
	for i, s := range in {
		out[i] = results.SentenceScore{Start: s.Start, End: s.End, Score: s.Score}
	}
	return out
}

// flipped reports whether repeated verdicts were not unanimous at the
// consistency threshold.
func flipped(scores []float64) bool {
	for _, s := range scores[1:] {
		if (s >= results.ConsistentThreshold) != (scores[0] >= results.ConsistentThreshold) {
			return true
		}
	}
	return false
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

// ScoreResume opens the score output path for resuming (results.Resume
// with ScoreKeep) and returns ScoreConfig.Done for it: the key of each
// record kept, mapped to the GenHash its judgment holds for. A judgment
// written before judgments recorded GenHash holds for the record it sits
// on, which is the record as it was judged.
func ScoreResume(path string) (map[string]string, *results.Writer, error) {
	return results.Resume(path, ScoreKeep, JudgedHash)
}

// JudgedHash is the GenHash of the generation rec's judgment holds for.
func JudgedHash(rec *results.Record) string {
	if rec.Judgment != nil && rec.Judgment.GenHash != "" {
		return rec.Judgment.GenHash
	}
	return results.GenerationHash(rec)
}
