package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// OpenScorer opens the scorer name, or fallback in its place when, and only
// when, name's parts are absent from this machine (scorers.ErrNotFound:
// HHEM's weights not pulled yet). Every other failure — an unknown option,
// a model directory that holds no model — is returned: standing in for a
// scorer the user misconfigured would report another scorer's rates under
// a typo. fallbackFor is name when the fallback was opened.
func OpenScorer(ctx context.Context, name string, opts scorers.Options, fallback string, log io.Writer) (sc scorers.Scorer, fallbackFor string, err error) {
	sc, err = scorers.Open(ctx, name, opts)
	if err == nil || fallback == "" || fallback == "none" || fallback == name || !errors.Is(err, scorers.ErrNotFound) {
		return sc, "", err
	}
	if log != nil {
		fmt.Fprintf(log, "hallu: NOTICE: %v\nhallu: NOTICE: scoring with the fallback scorer %q instead; its rates are not %s's, and every output says so\n", err, fallback, name)
	}
	sc, err = scorers.Open(ctx, fallback, scorers.Common(opts))
	if err != nil {
		return nil, "", fmt.Errorf("fallback scorer: %w", err)
	}
	return sc, name, nil
}

// ScoreJob is one scoring stage.
type ScoreJob struct {
	In     string    // records to judge; "" or "-" reads Stdin
	Stdin  io.Reader //
	Out    string    // judged records, resumed when it exists; "" writes to Stdout
	Stdout io.Writer

	Scorer      scorers.Scorer
	FallbackFor string // set when Scorer stands in for another (see OpenScorer)
	Batch       int
	Concurrency int
	// Replace discards the judgments of Out made by another scorer (or
	// another version, options or weights of it) instead of refusing.
	Replace     bool
	ReplaceFlag string

	Log io.Writer
}

// Score judges job.In into job.Out. A judgment is kept on resume only when
// it was made by the same scorer identity for the exact generation record
// now in the input; a changed generation is judged again and its old
// judgment superseded, and judgments of documents no longer in the input
// are dropped, so Out always mirrors In.
func Score(ctx context.Context, job ScoreJob) (eval.ScoreStats, error) {
	log := orDiscard(job.Log)
	job.ReplaceFlag = cmp.Or(job.ReplaceFlag, "--replace")
	in, inName := job.Stdin, "stdin"
	fromFile := job.In != "" && job.In != "-"
	if fromFile {
		f, err := os.Open(job.In)
		if err != nil {
			return eval.ScoreStats{}, inputErr(err)
		}
		defer f.Close()
		in, inName = f, job.In
		if job.Out != "" {
			if st, err := os.Stat(job.Out); err == nil {
				if ist, err := f.Stat(); err == nil && os.SameFile(st, ist) {
					return eval.ScoreStats{}, inputErrf("the input and the output are the same file %s", job.Out)
				}
			}
		}
	}
	cfg := eval.ScoreConfig{Scorer: job.Scorer, FallbackFor: job.FallbackFor, Batch: job.Batch, Concurrency: job.Concurrency, Progress: log}
	if fromFile && eval.IsTerminal(log) {
		cfg.Total = countLines(job.In)
	}
	var w *results.Writer
	seen := map[string]bool{}
	if job.Out == "" {
		w = results.NewWriter(job.Stdout)
	} else {
		release, err := lockOutput(job.Out)
		if err != nil {
			return eval.ScoreStats{}, err
		}
		defer release()
		done, fw, err := resumeJudgments(job.Out, scorers.IdentityOf(job.Scorer), job.FallbackFor, job.Replace, job.ReplaceFlag)
		if err != nil {
			return eval.ScoreStats{}, err
		}
		defer fw.Close()
		w, cfg.Done = fw, done
		if len(done) > 0 {
			fmt.Fprintf(log, "hallu: resuming %s: %d records already judged\n", job.Out, len(done))
		}
	}
	src := &recordSource{r: results.NewReader(in, inName), seen: seen}
	st, err := eval.Score(ctx, src, w.Write, cfg)
	if err != nil {
		return st, err
	}
	if job.Out == "" {
		return st, nil
	}
	if err := w.Close(); err != nil {
		return st, fmt.Errorf("close %s: %w", job.Out, err)
	}
	// The run read its whole input: judgments superseded by a newer
	// judgment of the same document, or of documents the input no longer
	// holds, must not be counted.
	gone := false
	for k := range cfg.Done {
		if !seen[k] {
			gone = true
			break
		}
	}
	if st.Superseded > 0 || gone {
		if gone {
			fmt.Fprintf(log, "hallu: %s: dropping judgments of documents that are no longer in %s\n", job.Out, inName)
		}
		if err := results.CompactKeep(job.Out, func(rec *results.Record) bool { return seen[results.Key(rec.Model, rec.DocID)] }); err != nil {
			return st, err
		}
	}
	return st, nil
}

// recordSource notes the keys of the records it hands out.
type recordSource struct {
	r    *results.Reader
	seen map[string]bool
}

func (s *recordSource) Next() (*results.Record, error) {
	rec, err := s.r.Next()
	if err == nil {
		s.seen[results.Key(rec.Model, rec.DocID)] = true
	}
	return rec, err
}

// resumeJudgments opens out for appending after checking that every
// judgment in it was made by this scorer identity (and the same fallback
// arrangement). A difference stops with a *MismatchError before anything is
// written, unless replace is set. The returned map holds, for each judged
// document, the GenHash of the generation it judged.
func resumeJudgments(out string, id scorers.Identity, fallbackFor string, replace bool, flag string) (map[string]string, *results.Writer, error) {
	key := id.Key()
	var mm mismatches
	err := eachFinished(out, func(rec *results.Record, line int) error {
		switch j := rec.Judgment; {
		case j == nil:
			// score writes a judgment on every record: this is another
			// stage's output, which replacing would destroy.
			return inputErrf("%s line %d has no judgment: not the output of hallu score; write to another output", out, line)
		case j.ScorerKey != key:
			mm.add(fmt.Sprintf("judged by %s, not %s", judgedBy(j), id))
		case j.FallbackFor != fallbackFor:
			mm.add(fmt.Sprintf("judged by %s %s, now %s", j.Scorer, fallbackWords(j.FallbackFor), fallbackWords(fallbackFor)))
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if mm.count > 0 && !replace {
		return nil, nil, &MismatchError{Path: out, What: "judgments", Count: mm.count, Reasons: mm.reasons, More: mm.more, Flag: flag}
	}
	keep := func(rec *results.Record) bool {
		j := rec.Judgment
		return j != nil && j.Error == nil && j.ScorerKey == key && j.FallbackFor == fallbackFor
	}
	done, w, err := results.Resume(out, keep, eval.JudgedHash)
	if err != nil {
		return nil, nil, inputErr(fmt.Errorf("resume %s: %w", out, err))
	}
	return done, w, nil
}

func judgedBy(j *results.Judgment) string {
	if j.ScorerKey == "" {
		return strings.TrimSpace(j.Scorer+" "+j.Version) + " (an older hallu, without scorer identities)"
	}
	return scorers.Identity{Name: j.Scorer, Version: j.Version, Options: j.Options, Weights: j.Weights}.String()
}

func fallbackWords(f string) string {
	if f == "" {
		return "as asked"
	}
	return "standing in for " + f
}

// countLines counts the records of a JSONL file for the progress display; 0
// (unknown) when it cannot be read.
func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n, buf := 0, make([]byte, 256<<10)
	for {
		k, err := f.Read(buf)
		for _, c := range buf[:k] {
			if c == '\n' {
				n++
			}
		}
		if err != nil {
			return n
		}
	}
}
