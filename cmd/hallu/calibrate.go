package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/hallu-eval/hallu/calibrate"
)

func init() {
	register(command{
		name:  "calibrate",
		usage: "measure a scorer against human-labelled pairs (balanced accuracy, AUROC, best threshold)",
		run:   runCalibrate,
	})
}

func runCalibrate(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("calibrate", stderr)
	labels := fs.String("labels", "", "labelled pairs: CSV/TSV with a header, or JSONL (required)")
	sf := addScorerFlags(fs)
	format := fs.String("format", "table", "output: table or json")
	threshold := fs.Float64("threshold", calibrate.DefaultThreshold, "decision threshold: score >= it predicts consistent")
	batch := fs.Int("batch", calibrate.DefaultBatch, "pairs per scorer call")
	concurrency := fs.Int("concurrency", calibrate.DefaultConcurrency, "scorer calls in flight")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu calibrate --labels FILE --scorer NAME [--scorer-opt k=v ...] [--format table|json]

Scores human-labelled (source, summary, label) pairs and reports, as the
LLM-AggreFact and FaithBench benchmarks do: balanced accuracy at the
threshold, precision, recall and F1 for the hallucinated class, AUROC, and
the threshold that maximises balanced accuracy on this set.

Labels: 1 = consistent (supported), 0 = hallucinated, as in LLM-AggreFact;
also true/false and words such as consistent/hallucinated,
supported/unsupported. Columns or fields: source (or doc, premise,
context), summary (or claim, hypothesis, response), label, optional id.
Pairs the scorer fails on are counted, reported and left out.

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
	case *labels == "":
		return exitCode(2, fmt.Errorf("--labels is required"))
	case sf.check() != nil:
		return exitCode(2, sf.check())
	case *format != "table" && *format != "json":
		return exitCode(2, fmt.Errorf("--format %q: want table or json", *format))
	case *threshold <= 0 || *threshold > 1:
		return exitCode(2, fmt.Errorf("--threshold %v: want a value in (0,1]", *threshold))
	case *batch < 1 || *concurrency < 1:
		return exitCode(2, fmt.Errorf("--batch and --concurrency must be at least 1"))
	}
	f, err := os.Open(*labels)
	if err != nil {
		return exitCode(2, err)
	}
	defer f.Close()
	src, err := calibrate.NewReader(f, *labels)
	if err != nil {
		return exitCode(2, err)
	}
	sc, err := sf.open(ctx, stderr, "calibrate")
	if err != nil {
		return exitCode(2, err)
	}
	defer sc.Close()

	rep, err := calibrate.Run(ctx, src, calibrate.Config{Scorer: sc, Batch: *batch, Concurrency: *concurrency, Threshold: *threshold})
	if err != nil {
		return err
	}
	if rep.Errors > 0 {
		fmt.Fprintf(stderr, "hallu calibrate: the scorer failed on %d of %d pairs; they are excluded from the figures\n", rep.Errors, rep.Errors+rep.N)
	}
	if *format == "json" {
		return rep.WriteJSON(stdout, *labels)
	}
	return rep.WriteTable(stdout, *labels)
}
