package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hallu-eval/hallu/agree"
	"github.com/hallu-eval/hallu/internal/atomicfile"
)

func init() {
	register(command{
		name:  "agree",
		usage: "measure how far scorers agree on the same generations (kappa); write their disagreements to label",
		run:   runAgree,
	})
}

var agreeFormats = []string{"table", "markdown", "json"}

func runAgree(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("agree", stderr)
	format := fs.String("format", "table", "output format: table (text), markdown or json")
	out := addOutFlag(fs, "write the output to `FILE` instead of standard output")
	disagreements := fs.String("disagreements", "", "also write the documents the scorers disagree on to `FILE`, a CSV labelling file for calibrate --labels (label column empty, to fill in)")
	maxDocs := fs.Int("max-docs", 20, "table and markdown: disagreements listed (0: all); json lists all")
	samples := fs.Int("bootstrap-samples", agree.DefaultSamples, "bootstrap resamples behind each kappa's interval")
	seed := fs.Uint64("bootstrap-seed", 1, "bootstrap seed; the same seed gives the same intervals")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu agree [flags] FILE FILE [FILE ...]

Measures how far two or more scorers agree when they judge the same
generations. Each FILE is one scorer's judgments: a 'hallu score' output or
a run directory, read as 'hallu report' reads them. Judgments are matched
by model and document id, and must be of the same generation record: score
one generations file with each scorer, e.g.

  hallu score --scorer overlap --in gen.jsonl --out overlap.jsonl
  hallu score --scorer hhem --in gen.jsonl --out hhem.jsonl
  hallu agree overlap.jsonl hhem.jsonl --disagreements to-label.csv

Verdicts are hallu's: a score of 0.5 or more is consistent. Printed: the
documents every scorer scored; the share on which all verdicts agree, with
a 95%% Wilson interval; Cohen's kappa for two scorers, Fleiss' kappa for
more (with every pair's Cohen's kappa and confusion counts), each with a
95%% percentile bootstrap interval over documents; the confusion matrix; and
the documents the scorers disagree on.

--disagreements writes those documents as a CSV file that 'hallu calibrate
--labels' reads once a person has filled in its label column (1 or
consistent, 0 or hallucinated); the scorers' verdicts and scores ride along
in columns calibrate ignores.

Exit status 2, with the reason, when the inputs cannot be compared: files
that judge different generations of a document (regenerated, other
settings), a file holding several scorers' judgments, no document scored by
every scorer.

Flags:
`)
		fs.PrintDefaults()
	}
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(paths) < 2:
		return usageError(fmt.Errorf("want the judgments of two or more scorers, got %d input(s)", len(paths)))
	case checkFormat(*format, agreeFormats...) != nil:
		return usageError(checkFormat(*format, agreeFormats...))
	case *samples < 1:
		return usageError(fmt.Errorf("--bootstrap-samples %d: must be at least 1", *samples))
	case *maxDocs < 0:
		return usageError(fmt.Errorf("--max-docs %d: want 0 (all) or more", *maxDocs))
	}
	stdins := 0
	for _, p := range paths {
		if p == "-" {
			stdins++
		}
	}
	if stdins > 1 {
		return usageError(errors.New(`only one input can be "-" (standard input)`))
	}
	set, err := agree.Read(paths, stdin, func(path string) {
		fmt.Fprintf(stderr, "hallu agree: skipping %s: not hallu result records\n", path)
	})
	if err != nil {
		return exitCode(2, err)
	}
	if set.Partial > 0 {
		fmt.Fprintf(stderr, "hallu agree: warning: %d documents scored by only some of the scorers are left out\n", set.Partial)
	}
	res := agree.Measure(set, agree.Options{Samples: *samples, Seed: *seed})
	write := func(w io.Writer) error {
		switch *format {
		case "json":
			return res.WriteJSON(w)
		case "markdown":
			return res.WriteMarkdown(w, *maxDocs)
		default:
			return res.WriteText(w, *maxDocs)
		}
	}
	if *out != "" {
		err = atomicfile.Write(*out, write)
	} else {
		err = write(stdout)
	}
	if err != nil {
		return exitCode(2, err)
	}
	if *disagreements != "" {
		if err := atomicfile.Write(*disagreements, func(w io.Writer) error { return agree.WriteLabelling(w, res) }); err != nil {
			return exitCode(2, fmt.Errorf("writing --disagreements %s: %w", *disagreements, err))
		}
		fmt.Fprintf(stderr, "hallu agree: wrote %d documents to label to %s\n", len(res.Disagreements), *disagreements)
	}
	return nil
}
