package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/internal/atomicfile"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/pipeline"
	htmlreport "github.com/hallu-eval/hallu/report/html"
	"github.com/hallu-eval/hallu/results"
)

// htmlReport is `hallu report --format html`: its flags, and the drill-down
// it collects while report reads the results.
//
// report reads its inputs once for the statistics (results' fast reader,
// then --common and --ci as for every format); the page's statistics are
// those. The drill-down needs whole records, so the files are read a second
// time; standard input cannot be, so its records are collected as report
// reads it (see stdin).
type htmlReport struct {
	maxDocs int
	title   string
	// calibration, when set, adds the corrected rates' section.
	calibration *calibration.Correction

	col     *htmlreport.Collector
	teeOnce sync.Once
	pw      *io.PipeWriter
	done    chan error // the collector of standard input's result
}

// addHTMLFlags defines the html format's flags on report's flag set.
func addHTMLFlags(fs *flag.FlagSet) *htmlReport {
	h := &htmlReport{}
	fs.IntVar(&h.maxDocs, "html-max-docs", htmlreport.DefaultMaxDocs,
		"html: per model, show at most this many failed, invalid, hallucinated and unscored documents each, plus a sample of this many consistent ones; the page says what it left out")
	fs.StringVar(&h.title, "html-title", "", "html: page title (default \"hallu report\")")
	return h
}

func (h *htmlReport) collector() *htmlreport.Collector {
	if h.col == nil {
		h.col = htmlreport.NewCollector(h.maxDocs)
	}
	return h.col
}

// stdin returns the standard input report should read. For --format html
// every byte read from it is also decoded into the drill-down, so standard
// input is read once; other formats get stdin back untouched.
func (h *htmlReport) stdin(format string, stdin io.Reader) io.Reader {
	if format != htmlreport.Extension || stdin == nil {
		return stdin
	}
	col := h.collector()
	pr, pw := io.Pipe()
	h.pw, h.done = pw, make(chan error, 1)
	go func() {
		err := collectRecords(results.NewReader(pr, "stdin"), col.Add)
		// A bad line stops the drill-down, not the reading: drain the pipe
		// so the statistics' reader, which reports the line itself, goes on.
		io.Copy(io.Discard, pr)
		h.done <- err
	}()
	return io.TeeReader(stdin, pw)
}

// finishStdin waits for standard input's records to be collected.
func (h *htmlReport) finishStdin() error {
	if h.pw == nil {
		return nil
	}
	var err error
	h.teeOnce.Do(func() {
		h.pw.Close()
		err = <-h.done
	})
	return err
}

func collectRecords(r *results.Reader, add func(*results.Record)) error {
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		add(rec)
	}
}

// write renders the page from report's final statistics to outPath
// (atomically) or, when outPath is "", to stdout. Bad input exits with status
// 2, as for the other formats.
func (h *htmlReport) write(ctx context.Context, paths []string, stats []leaderboard.ModelStats, stdout, stderr io.Writer, outPath string) error {
	if err := h.finishStdin(); err != nil {
		return exitCode(2, err)
	}
	col := h.collector()
	notes, err := pipeline.CollectDocs(ctx, paths, col)
	if err != nil {
		return exitCode(2, err)
	}
	in := htmlreport.Input{Title: h.title, Generated: time.Now(), Stats: stats, Docs: col.Models(), MaxDocs: maxDocs(h.maxDocs), Calibration: h.calibration}
	var mnotes []string
	in.Manifest, in.Params, mnotes = pipeline.Manifests(paths)
	in.Notes = append(notes, mnotes...)
	if len(stats) > 0 && stats[0].CommonDocs > 0 {
		in.Notes = append(in.Notes, fmt.Sprintf("--common: the judged rates cover the %d documents every model answered validly; the document list below still shows every document.", stats[0].CommonDocs))
	}
	if outPath == "" {
		return htmlreport.Write(stdout, in)
	}
	return atomicfile.Write(outPath, func(w io.Writer) error { return htmlreport.Write(w, in) })
}

func maxDocs(n int) int {
	if n <= 0 {
		return htmlreport.DefaultMaxDocs
	}
	return n
}

type htmlOptions struct {
	MaxDocs int    // documents of each status per model; <= 0 for the default
	Title   string // "" for the default
	Stderr  io.Writer
}

// writeHTMLReport reads result paths (as `hallu report` takes them, "-" for
// stdin) and writes the HTML report with its drill-down to out: what `hallu
// report --format html PATH...` does without --common or --ci.
func writeHTMLReport(ctx context.Context, paths []string, stdin io.Reader, out io.Writer, opts htmlOptions) error {
	stderr := opts.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	h := &htmlReport{maxDocs: opts.MaxDocs, title: opts.Title}
	agg := leaderboard.NewAggregator()
	err := agg.Load(paths, h.stdin(htmlreport.Extension, stdin), func(path string) {
		fmt.Fprintf(stderr, "hallu report: skipping %s: not hallu result records\n", path)
	})
	if err == nil && len(agg.Stats()) == 0 {
		err = errors.New("no records in the input")
	}
	if err != nil {
		h.finishStdin()
		return exitCode(2, err)
	}
	return h.write(ctx, paths, agg.Stats(), out, stderr, "")
}
