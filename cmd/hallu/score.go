package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/pipeline"
	"github.com/hallu-eval/hallu/scorers"
)

func init() {
	register(command{
		name:  "score",
		usage: "judge each summary of a result file with a consistency scorer",
		run:   runScore,
	})
}

// optionsFlag collects repeated --scorer-opt key=value flags.
type optionsFlag scorers.Options

func (o optionsFlag) String() string {
	parts := make([]string, 0, len(o))
	for k, v := range o {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (o optionsFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", s)
	}
	o[k] = v
	return nil
}

func runScore(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("score", stderr)
	sf := addScorerFlags(fs)
	job := pipeline.ScoreJob{Stdin: stdin, Stdout: stdout, Log: stderr, ReplaceFlag: "--replace"}
	fs.StringVar(&job.In, "in", "", "result records to judge (JSONL from generate); default standard input")
	outFlagVar(fs, &job.Out, "write judged records to `FILE`; resumes it when rerun; default standard output")
	fs.BoolVar(&job.Replace, "replace", false, "when --out holds judgments by another scorer (or another version, options or weights), discard and redo them instead of refusing")
	fs.IntVar(&job.Batch, "batch", eval.DefaultScoreBatch, "records per scorer call")
	fs.IntVar(&job.Concurrency, "concurrency", eval.DefaultScoreConcurrency, "scorer calls in flight")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu score --scorer NAME [--scorer-opt k=v ...] [--in FILE] [--out FILE] [--batch N] [--concurrency N]

Reads result records, judges each (source, summary) pair with the scorer and
writes the records with a judgment, in input order. Invalid summaries (failed,
empty, refusals, 5 words or fewer) are passed through unjudged, as on the
leaderboard; scorer failures are recorded per record, never turned into a
score. With --out, a rerun keeps a judgment only when the same scorer
(name, version, options, weights) judged the exact generation record now in
the input: changed generations are judged again, judgments by another
scorer stop the run (exit 2) unless --replace is given.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case sf.check() != nil:
		return usageError(sf.check())
	case job.Batch < 1:
		return usageError(fmt.Errorf("--batch %d: must be at least 1", job.Batch))
	case job.Concurrency < 1:
		return usageError(fmt.Errorf("--concurrency %d: must be at least 1", job.Concurrency))
	}
	sc, fallbackFor, err := sf.open(ctx, stderr)
	if err != nil {
		return exitCode(2, err)
	}
	defer sc.Close()
	job.Scorer, job.FallbackFor = sc, fallbackFor

	start := time.Now()
	st, err := pipeline.Score(ctx, job)
	var ie *pipeline.InputError
	if errors.As(err, &ie) {
		return err // refused before judging anything: no statistics to show
	}
	fmt.Fprintf(stderr, "hallu score: %s: %s in %s\n", scorers.IdentityOf(sc), st, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return err
	}
	if st.Failed > 0 {
		hint := ""
		if job.Out != "" {
			hint = "; rerun the same command to retry them"
		}
		return fmt.Errorf("the scorer failed on %d records (see their judgment.error)%s", st.Failed, hint)
	}
	return nil
}
