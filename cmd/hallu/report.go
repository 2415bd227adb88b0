package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/internal/atomicfile"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/report"
	"github.com/hallu-eval/hallu/results"
)

func init() {
	register(command{
		name:  "report",
		usage: "aggregate result files into a leaderboard (table, markdown, csv, json, html)",
		run:   runReport,
	})
}

func runReport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	format := fs.String("format", "table", "output format: "+strings.Join(formatNames, ", "))
	outPath := addOutFlag(fs, "write the report to `FILE` instead of standard output")
	from := fs.String("from", "hallu", "input layout: hallu (result JSONL files or run directories) or vectara (the leaderboard's output/ORG/MODEL/judgments.jsonl)")
	var iv leaderboard.IntervalOptions
	addIntervalFlags(fs, &iv)
	common := fs.Bool("common", false, "rate hallucination and consistency only on the documents every model answered validly (the leaderboard's old protocol); answer rates still cover all documents")
	mixed := fs.Bool("mixed-scorers", false, "allow models judged by different scorers (or versions, options, weights) in one table, with a scorer column; refused otherwise")
	html := addHTMLFlags(fs)
	calPath := fs.String("calibration", "", "add each model's hallucination rate corrected for the judge's error measured in calibration `FILE` (calibrate --calibration-out), and the models' ranking under uncertainty; see docs/judge-error.md")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu report [--format F] [-o FILE] [--from hallu|vectara] [--ci wilson|bootstrap] [--common] [--calibration FILE] [PATH...]

Each PATH is a result JSONL file, "-" for standard input, or a directory that
is searched for *.jsonl files. Where a directory holds both judgments.jsonl
and generations.jsonl, only judgments.jsonl is read: it repeats every
generation with its judgment. A (model, document) pair read twice is an error.
With no PATH, records are read from standard input.

Every rate comes with a 95%% interval: Wilson score intervals by default, or
percentile bootstrap intervals over documents with --ci bootstrap (repeatable:
the same --bootstrap-seed gives the same intervals).

--calibration FILE adds each model's rate corrected for the judge's
measured error (Rogan–Gladen, with a 95%% interval carrying the labelled
set's error too) and, for each pair of models, the probability that one's
true rate is below the other's. The file must describe the scorer that
judged the results (name, version, options, weights, threshold); another is
refused (exit 2). See docs/judge-error.md.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format, formatNames...); err != nil {
		return usageError(err)
	}
	if err := checkIntervalFlags(iv); err != nil {
		return exitCode(2, err)
	}
	paths := fs.Args()
	if len(paths) == 0 {
		// `generate | score | report`: read the pipe. On a terminal, waiting
		// for typed records would only look like a hang.
		if f, ok := stdin.(*os.File); ok && eval.IsTerminal(f) {
			return exitCode(2, errors.New("no input: give result files, directories, or - for standard input"))
		}
		paths = []string{"-"}
	}

	var err error
	agg := leaderboard.NewAggregator()
	if *common {
		agg.KeepForCommon()
	}
	switch *from {
	case "hallu":
		err = agg.Load(paths, html.stdin(*format, stdin), func(path string) {
			fmt.Fprintf(stderr, "hallu report: skipping %s: not hallu result records\n", path)
		})
		if err != nil {
			return exitCode(2, err)
		}
	case "vectara":
		for _, p := range paths {
			if err := agg.ReadVectara(p); err != nil {
				return exitCode(2, err)
			}
		}
	default:
		return exitCode(2, fmt.Errorf("--from %q: want hallu or vectara", *from))
	}
	stats := agg.Stats()
	if len(stats) == 0 {
		return exitCode(2, errors.New("no records in the input"))
	}
	if *common {
		var kept int
		stats, kept, err = agg.CommonStats()
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "hallu report: --common: kept %d documents that all %d models answered validly\n", kept, len(stats))
	}
	// One table compares models only when one scorer judged them all: a
	// rate from overlap beside a rate from HHEM ranks the scorers, not the
	// models.
	if err := leaderboard.CheckScorers(stats); err != nil && !*mixed {
		html.finishStdin()
		return exitCode(2, fmt.Errorf("%w (--mixed-scorers shows them in one table, with a scorer column)", err))
	}
	for _, w := range leaderboard.Warnings(stats) {
		fmt.Fprintf(stderr, "hallu report: WARNING: %s\n", w)
	}
	if iv.Method == leaderboard.IntervalBootstrap {
		if err := leaderboard.SetIntervals(stats, iv); err != nil {
			return exitCode(2, err)
		}
	}
	var cal *calibration.Correction
	if *calPath != "" {
		if cal, err = correctStats(*calPath, stats, iv.Seed); err != nil {
			html.finishStdin()
			return exitCode(2, err)
		}
		html.calibration = cal
	}
	if *format == "html" && *from == "hallu" {
		return html.write(ctx, paths, stats, stdout, stderr, *outPath)
	}
	opts := report.Options{AllowMixedScorers: *mixed, Calibration: cal}
	if *outPath == "" {
		return report.Write(stdout, *format, stats, opts)
	}
	return atomicfile.Write(*outPath, func(w io.Writer) error { return report.Write(w, *format, stats, opts) })
}

// correctStats reads the calibration file at path and corrects every
// judged model's rate with it, after checking that it measured the scorer
// identity, at the threshold, that judged the model.
func correctStats(path string, stats []leaderboard.ModelStats, seed uint64) (*calibration.Correction, error) {
	f, err := calibration.Read(path)
	if err != nil {
		return nil, err
	}
	models := make([]calibration.Observed, 0, len(stats))
	for _, s := range stats {
		if len(s.Provenance.Scorers) > 0 {
			if err := f.Check(path, s.Model, s.Provenance.Scorers[0].Identity, results.ConsistentThreshold); err != nil {
				return nil, err
			}
		}
		models = append(models, calibration.Observed{Model: s.Model, Hallucinated: s.Hallucinated, Judged: s.Judged})
	}
	return calibration.Correct(f, path, models, calibration.Options{Seed: seed}), nil
}

// addIntervalFlags declares the interval flags that report and compare
// share.
func addIntervalFlags(fs *flag.FlagSet, iv *leaderboard.IntervalOptions) {
	iv.Method = leaderboard.IntervalWilson
	fs.StringVar(&iv.Method, "ci", leaderboard.IntervalWilson, "95% intervals: wilson (score interval) or bootstrap (percentile bootstrap over documents)")
	fs.IntVar(&iv.Samples, "bootstrap-samples", leaderboard.DefaultBootstrapSamples, "bootstrap resamples")
	fs.Uint64Var(&iv.Seed, "bootstrap-seed", 1, "bootstrap seed; the same seed gives the same intervals")
	// --seed was this flag's name before --seed came to mean sampling only
	// (generate's); the old spelling still works, with a notice.
	deprecate(fs, "seed", "bootstrap-seed")
}

// checkIntervalFlags checks the interval flags in their own words. Samples
// 0 means "the default" to the leaderboard package, but on the command line
// it is a value out of range, not a request for 2000.
func checkIntervalFlags(iv leaderboard.IntervalOptions) error {
	if iv.Samples < 1 {
		return fmt.Errorf("--bootstrap-samples %d: must be at least 1", iv.Samples)
	}
	return iv.Check()
}
