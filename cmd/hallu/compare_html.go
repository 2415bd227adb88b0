package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hallu-eval/hallu/compare"
	"github.com/hallu-eval/hallu/leaderboard"
	htmlreport "github.com/hallu-eval/hallu/report/html"
	"github.com/hallu-eval/hallu/results"
)

// writeCompareHTML writes the comparison as an HTML report: both models'
// rates on the shared documents, their drill-down, and the documents that
// flipped to hallucinated with both summaries side by side. The records are
// read a second time for the texts, which compare itself does not keep;
// standard input cannot be, so its texts are left out with a note.
func writeCompareHTML(ctx context.Context, w io.Writer, paths [2]string, res *compare.Result, maxDocs int) error {
	col := htmlreport.NewCollector(maxDocs)
	flipped := make(map[string]*htmlreport.Flip, len(res.Flipped))
	flips := make([]htmlreport.Flip, len(res.Flipped))
	for i, f := range res.Flipped {
		flips[i] = htmlreport.Flip{DocID: f.DocID, BaseScore: &f.BaseScore, CandScore: &f.CandScore}
		flipped[f.DocID] = &flips[i]
	}
	var notes []string
	sides := [2]string{res.Base.Model, res.Cand.Model}
	for i, p := range paths {
		if p == "-" {
			notes = append(notes, fmt.Sprintf("%s was read from standard input: its summaries are not shown.", sides[i]))
			continue
		}
		n := 0
		err := leaderboard.ReadRecords([]string{p}, strings.NewReader(""), nil, func(rec *results.Record) error {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if rec.Model != sides[i] {
				return nil
			}
			col.Add(rec)
			if f := flipped[rec.DocID]; f != nil {
				f.Source = rec.Source
				if i == 0 {
					f.BaseSummary = rec.Summary
				} else {
					f.CandSummary = rec.Summary
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("html report: %w", err)
		}
	}
	if sc := res.Scorer(); sc != "" {
		notes = append(notes, "Both sides judged by "+sc+".")
	}
	notes = append(notes, res.Warnings...)
	notes = append(notes, fmt.Sprintf("Rates cover the %d documents both result sets hold (%d only in %s, %d only in %s).",
		res.Shared, res.OnlyBase, sides[0], res.OnlyCand, sides[1]))
	in := htmlreport.Input{
		Title:     "hallu compare: " + sides[0] + " vs " + sides[1],
		Generated: time.Now(),
		Stats:     []leaderboard.ModelStats{res.Base, res.Cand},
		Notes:     notes,
		Docs:      col.Models(),
		MaxDocs:   maxDocs,
		Flips:     flips,
		FlipBase:  sides[0],
		FlipCand:  sides[1],
		// The corrected rates' section, with --calibration.
		Calibration: res.Corrected,
	}
	return htmlreport.Write(w, in)
}
