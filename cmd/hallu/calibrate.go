package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hallu-eval/hallu/calibrate"
	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/internal/atomicfile"
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
	labels := fs.String("labels", "", "labelled pairs: CSV/TSV with a header, or JSONL; or a public set in its release format, see --labels-format (required)")
	labelsFormat := fs.String("labels-format", "auto", "the labels file's format: auto (from its extension and header), "+strings.Join(calibrate.LabelFormats, ", "))
	sf := addScorerFlags(fs)
	// calibrate measures the scorer it is given: unlike score, it has no
	// implicit fallback, so the shared flag's usage would mislead here.
	fs.Lookup("fallback-scorer").Usage = "scorer to calibrate instead, with a notice, when --scorer's parts are absent from this machine (HHEM's weights not pulled); without it, that is an error"
	format := fs.String("format", "table", "output format: "+strings.Join(calibrateFormats, ", "))
	outPath := addOutFlag(fs, "write the report to `FILE` instead of standard output")
	threshold := fs.Float64("threshold", calibrate.DefaultThreshold, "decision threshold: score >= it predicts consistent")
	batch := fs.Int("batch", calibrate.DefaultBatch, "pairs per scorer call")
	concurrency := fs.Int("concurrency", calibrate.DefaultConcurrency, "scorer calls in flight")
	calOut := fs.String("calibration-out", "", "also write a calibration `FILE` (the scorer's identity, the threshold and the confusion counts) for report --calibration and compare --calibration; see docs/judge-error.md")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu calibrate --labels FILE --scorer NAME [--scorer-opt k=v ...] [--format F] [-o FILE] [--calibration-out FILE]

Scores human-labelled (source, summary, label) pairs and reports, as the
LLM-AggreFact and FaithBench benchmarks do: balanced accuracy at the
threshold, precision, recall and F1 for the hallucinated class, AUROC, and
the threshold that maximises balanced accuracy on this set.

Labels: 1 = consistent (supported), 0 = hallucinated, as in LLM-AggreFact;
also true/false and words such as consistent/hallucinated,
supported/unsupported. Columns or fields: source (or doc, premise,
context), summary (or claim, hypothesis, response), label, optional id.
Pairs the scorer fails on are counted, reported and left out.

Public labelled sets are read in their release formats, detected from the
file (or named with --labels-format): FaithBench's FaithBench.csv or a
batch_N.json (worst label over the annotators: Unwanted → hallucinated,
Benign or Consistent → consistent, Questionable → dropped), RAGTruth's
response.jsonl (any labelled span → hallucinated; sources from the
source_info.jsonl beside it), LLM-AggreFact exported to CSV (dataset, doc,
claim, label; 1 = supported). See docs/scorers.md for where to get them.

--calibration-out writes the scorer's identity, the threshold and the
confusion counts to a file that report --calibration and compare
--calibration read to correct hallucination rates for the judge's error
(docs/judge-error.md).

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
	case *labels == "":
		return usageError(fmt.Errorf("--labels is required"))
	case sf.check() != nil:
		return exitCode(2, sf.check())
	case checkFormat(*format, calibrateFormats...) != nil:
		return usageError(checkFormat(*format, calibrateFormats...))
	case *threshold <= 0 || *threshold > 1:
		return exitCode(2, fmt.Errorf("--threshold %v: want a value in (0,1]", *threshold))
	case *batch < 1:
		return exitCode(2, fmt.Errorf("--batch %d: must be at least 1", *batch))
	case *concurrency < 1:
		return exitCode(2, fmt.Errorf("--concurrency %d: must be at least 1", *concurrency))
	}
	src, err := calibrate.OpenLabels(*labels, *labelsFormat)
	if err != nil {
		return exitCode(2, err)
	}
	defer src.Close()
	if *sf.fallback == "" {
		// Calibration measures one scorer: numbers of a stand-in under the
		// name asked for would be the very mix-up it exists to catch.
		*sf.fallback = "none"
	}
	sc, fallbackFor, err := sf.open(ctx, stderr)
	if err != nil {
		return exitCode(2, err)
	}
	defer sc.Close()
	if fallbackFor != "" {
		fmt.Fprintf(stderr, "hallu calibrate: NOTICE: calibrating %s, standing in for %s\n", sc.Name(), fallbackFor)
	}

	rep, err := calibrate.Run(ctx, src, calibrate.Config{Scorer: sc, Batch: *batch, Concurrency: *concurrency, Threshold: *threshold})
	if err != nil {
		return err
	}
	if rep.Errors > 0 {
		fmt.Fprintf(stderr, "hallu calibrate: the scorer failed on %d of %d pairs; they are excluded from the figures\n", rep.Errors, rep.Errors+rep.N)
	}
	// A public set's format and what its rules dropped travel with the
	// figures, in the report's labels line.
	labelsDesc := *labels
	if src.Format != calibrate.FormatHallu {
		labelsDesc += " (" + src.Format + " format"
		if n, why := src.Dropped(); n > 0 {
			labelsDesc += fmt.Sprintf("; %d dropped: %s", n, why)
			fmt.Fprintf(stderr, "hallu calibrate: left out %d pairs of %s (%s), by the %s format's rules\n", n, *labels, why, src.Format)
		}
		labelsDesc += ")"
	}
	write := func(w io.Writer) error { return writeCalibration(w, rep, *format, labelsDesc) }
	if *outPath == "" {
		err = write(stdout)
	} else {
		err = atomicfile.Write(*outPath, write)
	}
	if err != nil || *calOut == "" {
		return err
	}
	if err := writeCalibrationFile(*calOut, rep, *labels, src); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "hallu calibrate: wrote %s\n", *calOut)
	return nil
}

// writeCalibrationFile writes the calibration file of rep, measured on the
// labels at path (read through src), to out.
func writeCalibrationFile(out string, rep *calibrate.Report, path string, src *calibrate.Labels) error {
	sum, err := calibration.HashFile(path)
	if err != nil {
		return fmt.Errorf("--calibration-out: hashing the labels: %w", err)
	}
	dropped, why := src.Dropped()
	f := rep.Calibration(calibration.Labels{Path: path, Format: src.Format, SHA256: sum, Dropped: dropped, DroppedWhy: why})
	if err := f.Validate(); err != nil {
		// One class missing from the labels: the figures above are still
		// worth printing, but no rate can be corrected with them.
		return exitCode(2, fmt.Errorf("--calibration-out %s: %w", out, err))
	}
	if err := atomicfile.Write(out, f.Write); err != nil {
		return fmt.Errorf("--calibration-out %s: %w", out, err)
	}
	return nil
}

// calibrateFormats are the formats of formatNames that fit calibrate's one
// set of figures; a one-page HTML report would add nothing to the table.
var calibrateFormats = []string{"table", "markdown", "csv", "json"}

func writeCalibration(w io.Writer, rep *calibrate.Report, format, labels string) error {
	switch format {
	case "json":
		return rep.WriteJSON(w, labels)
	case "markdown", "csv":
		return writeCalibrationRows(w, rep, format, labels)
	default:
		return rep.WriteTable(w, labels)
	}
}

// writeCalibrationRows writes the figures as name/value rows, the same names
// as the JSON report's keys, for a Markdown table or a CSV file.
func writeCalibrationRows(w io.Writer, rep *calibrate.Report, format, labels string) error {
	// The JSON report is the one place the figures are named; reuse it.
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf, labels); err != nil {
		return err
	}
	var fields []struct{ k, v string }
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return err
	}
	for _, k := range calibrationKeys {
		v, ok := obj[k]
		if !ok {
			continue
		}
		var s string
		switch v := v.(type) {
		case nil:
			s = "" // undefined on this set
		case []any:
			parts := make([]string, len(v))
			for i, e := range v {
				parts[i] = fmt.Sprint(e)
			}
			s = strings.Join(parts, "; ")
		default:
			s = fmt.Sprint(v)
		}
		fields = append(fields, struct{ k, v string }{k, s})
	}
	if format == "csv" {
		cw := csv.NewWriter(w)
		cw.Write([]string{"metric", "value"})
		for _, f := range fields {
			cw.Write([]string{f.k, f.v})
		}
		cw.Flush()
		return cw.Error()
	}
	if _, err := fmt.Fprint(w, "| metric | value |\n|---|---|\n"); err != nil {
		return err
	}
	for _, f := range fields {
		v := f.v
		if v == "" {
			v = "n/a"
		}
		if _, err := fmt.Fprintf(w, "| %s | %s |\n", f.k, mdCell(v)); err != nil {
			return err
		}
	}
	return nil
}

// calibrationKeys orders the rows as the table does.
var calibrationKeys = []string{"scorer", "scorer_version", "labels", "n", "consistent", "hallucinated",
	"errors", "threshold", "balanced_accuracy", "hallucinated_precision", "hallucinated_recall",
	"hallucinated_f1", "auroc", "best_threshold", "best_balanced_accuracy", "error_samples"}

// mdCell keeps a value inside its Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
