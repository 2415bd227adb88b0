package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hallu-eval/hallu/results"
)

func init() {
	register(command{
		name:  "report",
		usage: "aggregate result files into a leaderboard (table, markdown, csv, json)",
		run:   runReport,
	})
}

func runReport(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	format := fs.String("format", "table", "output format: "+strings.Join(results.ReporterNames(), ", "))
	outPath := fs.String("o", "", "write the report to this file instead of standard output")
	from := fs.String("from", "hallu", "input layout: hallu (result JSONL files or run directories) or vectara (the leaderboard's output/ORG/MODEL/judgments.jsonl)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu report [--format F] [-o FILE] [--from hallu|vectara] PATH...

Each PATH is a result JSONL file, "-" for standard input, or a directory that
is searched for *.jsonl files. Where a directory holds both judgments.jsonl
and generations.jsonl, only judgments.jsonl is read: it repeats every
generation with its judgment. A (model, document) pair read twice is an error.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rep, err := results.LookupReporter(*format)
	if err != nil {
		return exitCode(2, err)
	}
	paths := fs.Args()
	if len(paths) == 0 {
		return exitCode(2, errors.New("no input: give result files, directories, or - for standard input"))
	}

	var stats []results.ModelStats
	switch *from {
	case "hallu":
		stats, err = results.Load(paths, stdin, func(path string) {
			fmt.Fprintf(stderr, "hallu report: skipping %s: not hallu result records\n", path)
		})
		if err != nil {
			return exitCode(2, err)
		}
	case "vectara":
		agg := results.NewAggregator()
		for _, p := range paths {
			if err := agg.ReadVectara(p); err != nil {
				return exitCode(2, err)
			}
		}
		stats = agg.Stats()
	default:
		return exitCode(2, fmt.Errorf("--from %q: want hallu or vectara", *from))
	}
	if len(stats) == 0 {
		return exitCode(2, errors.New("no records in the input"))
	}
	if *outPath == "" {
		return rep.Write(stdout, stats)
	}
	return writeFileAtomic(*outPath, func(w io.Writer) error { return rep.Write(w, stats) })
}

// writeFileAtomic writes path through a temporary file renamed into place, so
// a failed report never leaves a truncated file over a good one.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
