package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"

	// Scorers available to `hallu score`.
	_ "github.com/hallu-eval/hallu/scorers/exec"
	_ "github.com/hallu-eval/hallu/scorers/judge"
	_ "github.com/hallu-eval/hallu/scorers/overlap"
	_ "github.com/hallu-eval/hallu/scorers/vectara"
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
	inPath := fs.String("in", "", "result records to judge (JSONL from generate); default standard input")
	outPath := fs.String("out", "", "where to write judged records; resumes a partial file; default standard output")
	batch := fs.Int("batch", eval.DefaultScoreBatch, "records per scorer call")
	concurrency := fs.Int("concurrency", eval.DefaultScoreConcurrency, "scorer calls in flight")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu score --scorer NAME [--scorer-opt k=v ...] [--in FILE] [--out FILE] [--batch N] [--concurrency N]

Reads result records, judges each (source, summary) pair with the scorer and
writes the records with a judgment, in input order. Invalid summaries (failed,
empty, refusals, 5 words or fewer) are passed through unjudged, as on the
leaderboard; scorer failures are recorded per record, never turned into a
score. With --out, a rerun skips records already judged there and redoes
failed ones.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return exitCode(2, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case sf.check() != nil:
		return exitCode(2, sf.check())
	case *batch < 1:
		return exitCode(2, fmt.Errorf("--batch %d: must be at least 1", *batch))
	case *concurrency < 1:
		return exitCode(2, fmt.Errorf("--concurrency %d: must be at least 1", *concurrency))
	}

	in, inName := stdin, "stdin"
	if *inPath != "" && *inPath != "-" {
		f, err := os.Open(*inPath)
		if err != nil {
			return exitCode(2, err)
		}
		defer f.Close()
		in, inName = f, *inPath
		if *outPath != "" {
			if st, err := os.Stat(*outPath); err == nil {
				if ist, err := f.Stat(); err == nil && os.SameFile(st, ist) {
					return exitCode(2, fmt.Errorf("--in and --out are the same file %s", *outPath))
				}
			}
		}
	}

	sc, err := sf.open(ctx, stderr, "score")
	if err != nil {
		return exitCode(2, err)
	}
	defer sc.Close()

	// Check before Resume rewrites anything: a file judged by another
	// scorer is somebody's finished work, not a partial run of this one.
	if *outPath != "" {
		if err := checkScorerOfOutput(*outPath, sc.Name()); err != nil {
			return exitCode(2, err)
		}
	}

	cfg := eval.ScoreConfig{Scorer: sc, Batch: *batch, Concurrency: *concurrency, Progress: stderr}
	if *inPath != "" && *inPath != "-" && eval.IsTerminal(stderr) {
		cfg.Total = countLines(*inPath)
	}
	out := results.NewWriter(stdout)
	if *outPath != "" {
		done, w, err := eval.ScoreResume(*outPath)
		if err != nil {
			return err
		}
		cfg.Done, out = done, w
		if len(done) > 0 {
			fmt.Fprintf(stderr, "hallu score: resuming %s: %d records already judged\n", *outPath, len(done))
		}
	}

	start := time.Now()
	st, err := eval.Score(ctx, results.NewReader(in, inName), out.Write, cfg)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", *outPath, cerr)
	}
	fmt.Fprintf(stderr, "hallu score: %s: %s in %s\n", sc.Name(), st, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return err
	}
	if st.Failed > 0 {
		hint := ""
		if *outPath != "" {
			hint = "; rerun the same command to retry them"
		}
		return fmt.Errorf("the scorer failed on %d records (see their judgment.error)%s", st.Failed, hint)
	}
	return nil
}

// checkScorerOfOutput fails when path holds records that this scorer did not
// judge: unjudged records or judgments by another scorer. It reads only up to the first line it cannot decode: Resume reports
// damage properly.
func checkScorerOfOutput(path, name string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	r := results.NewReader(f, path)
	for {
		rec, err := r.Next()
		if err != nil {
			return nil
		}
		switch j := rec.Judgment; {
		case j == nil:
			// score writes a judgment on every record: this is another
			// stage's output (generate's?), which Resume would discard.
			return fmt.Errorf("%s line %d has no judgment: not the output of hallu score; write to another --out file", path, r.Line())
		case j.Scorer != name:
			return fmt.Errorf("%s line %d was judged by scorer %q, not %q: write to another --out file", path, r.Line(), j.Scorer, name)
		}
	}
}
