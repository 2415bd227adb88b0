// Package report renders leaderboard rows: an aligned text table, Markdown,
// CSV, JSON, and (through report/html) a self-contained HTML page. Formats
// are chosen by name with a plain switch; there is no registry to fill.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/leaderboard"
	htmlreport "github.com/hallu-eval/hallu/report/html"
)

// Formats are the names Write accepts, in the order help texts list them.
var Formats = []string{"table", "markdown", "csv", "json", "html"}

// Options are settings that only some formats use.
type Options struct {
	// Title is the HTML page's title ("" for the default).
	Title string
	// AllowMixedScorers lets rows judged by different scorers share one
	// report, every format then naming each row's scorer; without it
	// Write refuses them with a *leaderboard.MixedError.
	AllowMixedScorers bool
	// Calibration, when set, adds each model's hallucination rate
	// corrected for the judge's measured error, and the ranking of models
	// under uncertainty (report --calibration).
	Calibration *calibration.Correction
}

// Write renders rows (sorted, see leaderboard.SortStats; their order is
// kept) in format. An unknown format is an error naming the known ones;
// rows judged by different scorers are a *leaderboard.MixedError unless
// opts allows them.
// The html format writes the page without its per-document drill-down;
// callers that have the records use report/html directly.
func Write(w io.Writer, format string, rows []leaderboard.ModelStats, opts Options) error {
	if err := Check(format); err != nil {
		return err
	}
	if !opts.AllowMixedScorers {
		if err := leaderboard.CheckScorers(rows); err != nil {
			return err
		}
	}
	cal := opts.Calibration
	switch format {
	case "table":
		if err := writeTable(w, rows); err != nil || cal == nil {
			return err
		}
		return writeCorrectedTable(w, cal)
	case "markdown":
		if err := writeMarkdown(w, rows); err != nil || cal == nil {
			return err
		}
		return writeCorrectedMarkdown(w, cal)
	case "csv":
		return writeCSV(w, rows, cal)
	case "json":
		return writeJSON(w, rows, cal)
	case "html":
		return htmlreport.Write(w, htmlreport.Input{Title: opts.Title, Stats: rows, Calibration: cal})
	}
	return Check(format)
}

// Check returns nil for a known format, else an error naming the known ones.
func Check(format string) error {
	for _, f := range Formats {
		if f == format {
			return nil
		}
	}
	return fmt.Errorf("unknown report format %q (known: %s)", format, strings.Join(Formats, ", "))
}

// Ext is the file extension for a format's output: "md" for markdown, the
// format's name otherwise.
func Ext(format string) string {
	if format == "markdown" {
		return "md"
	}
	return format
}
