package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/leaderboard"
)

// This file renders the hallucination rates corrected for the judge's
// measured error (report --calibration): a section after the table and
// Markdown reports, columns in CSV, a "corrected" object per model in JSON.

// correctedCell is a corrected rate with its interval, "" when there is none.
func correctedCell(r calibration.Rate) string {
	return FormatRate(leaderboard.Round1(r.Corrected), r.Corrected, r.Low, r.High)
}

func writeCorrectedTable(w io.Writer, c *calibration.Correction) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "\nCORRECTED FOR JUDGE ERROR (%s)\n%s\n\n", c.Source(), c.Judge())
	if c.Chance {
		fmt.Fprintln(bw, c.ChanceText())
		return bw.Flush()
	}
	cells := [][]string{{"MODEL", "OBSERVED %", "CORRECTED % [95% CI]"}}
	for _, r := range c.Rates {
		cells = append(cells, []string{r.Model, dash(leaderboard.Fixed1(leaderboard.Round1(r.Observed))), dash(correctedCell(r))})
	}
	writeAligned(bw, cells)
	fmt.Fprintln(bw, "\n"+c.Method())
	for _, n := range c.ClipNotes() {
		fmt.Fprintln(bw, "\nClipped: "+n)
	}
	if len(c.Pairs) > 0 {
		cells = [][]string{{"RANKING", "P(FIRST < SECOND)", "ORDERING"}}
		for _, p := range c.Pairs {
			cells = append(cells, []string{p.A + " < " + p.B, calibration.PText(p.PBelow), p.Verdict()})
		}
		fmt.Fprintln(bw)
		writeAligned(bw, cells)
		fmt.Fprintln(bw, "\n"+calibration.RankNote)
	}
	return bw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeCorrectedMarkdown(w io.Writer, c *calibration.Correction) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "\n### Corrected for judge error\n\n%s.\n%s.\n\n", markdownEscape(c.Source()), c.Judge())
	if c.Chance {
		fmt.Fprintf(bw, "**%s**\n", c.ChanceText())
		return bw.Flush()
	}
	fmt.Fprintln(bw, "| Model | Observed Hallucination Rate | Corrected Hallucination Rate | 95% CI |")
	fmt.Fprintln(bw, "|---|---:|---:|---:|")
	for _, r := range c.Rates {
		fmt.Fprintf(bw, "| %s | %s | %s | %s |\n", markdownEscape(r.Model), pct(leaderboard.Round1(r.Observed)),
			pct(leaderboard.Round1(r.Corrected)), bracket1(r.Low, r.High))
	}
	fmt.Fprintf(bw, "\n_%s_\n", c.Method())
	for _, n := range c.ClipNotes() {
		fmt.Fprintf(bw, "\n**Clipped:** %s\n", markdownEscape(n))
	}
	if len(c.Pairs) > 0 {
		fmt.Fprintln(bw, "\n| Ranking | P(first < second) | Ordering |")
		fmt.Fprintln(bw, "|---|---:|---|")
		for _, p := range c.Pairs {
			fmt.Fprintf(bw, "| %s < %s | %s | %s |\n", markdownEscape(p.A), markdownEscape(p.B), calibration.PText(p.PBelow), p.Verdict())
		}
		fmt.Fprintf(bw, "\n_%s_\n", calibration.RankNote)
	}
	return bw.Flush()
}

// csvCorrected are the CSV columns added by a calibration, after the others.
var csvCorrected = []string{"corrected_hr", "corrected_hr_low", "corrected_hr_high",
	"judge_sensitivity", "judge_specificity", "not_decisive_vs"}

// correctedCSV is a model's corrected columns.
func correctedCSV(c *calibration.Correction, model string) []string {
	r, ok := rateOf(c, model)
	if !ok {
		return make([]string, len(csvCorrected))
	}
	return []string{fixed(r.Corrected, 2), fixed(r.Low, 2), fixed(r.High, 2),
		fixed(c.Sensitivity*100, 2), fixed(c.Specificity*100, 2), strings.Join(notDecisive(c, model), " ")}
}

func rateOf(c *calibration.Correction, model string) (calibration.Rate, bool) {
	for _, r := range c.Rates {
		if r.Model == model {
			return r, true
		}
	}
	return calibration.Rate{}, false
}

// notDecisive lists the models whose ordering with model is not decisive.
func notDecisive(c *calibration.Correction, model string) []string {
	var out []string
	for _, p := range c.Pairs {
		switch {
		case p.Decisive:
		case p.A == model:
			out = append(out, p.B)
		case p.B == model:
			out = append(out, p.A)
		}
	}
	return out
}

// jsonCorrected is a model's "corrected" object in the JSON report.
type jsonCorrected struct {
	Calibration        string       `json:"calibration"`
	ScorerKey          string       `json:"scorer_key"`
	Threshold          float64      `json:"threshold"`
	LabelsPath         string       `json:"labels_path"`
	LabelsSHA256       string       `json:"labels_sha256"`
	Confusion          jsonConfuse  `json:"confusion"`
	Sensitivity        JSONFloat    `json:"sensitivity"`
	SensitivityCI      [2]JSONFloat `json:"sensitivity_ci"`
	Specificity        JSONFloat    `json:"specificity"`
	SpecificityCI      [2]JSONFloat `json:"specificity_ci"`
	Youden             JSONFloat    `json:"youden"`
	YoudenLow          JSONFloat    `json:"youden_low"`
	NoBetterThanChance bool         `json:"no_better_than_chance"`
	Draws              int          `json:"draws"`
	Seed               uint64       `json:"seed"`
	ObservedRate       JSONFloat    `json:"observed_rate"`
	HallucinationRate  JSONFloat    `json:"hallucination_rate"`
	CILow              JSONFloat    `json:"ci_low"`
	CIHigh             JSONFloat    `json:"ci_high"`
	// PBelow is, for each other model, the probability that this model's
	// true rate is below that one's; NotDecisive names those for which it
	// is between 0.05 and 0.95.
	PBelow      map[string]JSONFloat `json:"p_below"`
	NotDecisive []string             `json:"not_decisive"`
	// Clipped is "below" when the observed rate is under the judge's
	// false-positive rate (the estimate clipped to 0), "above" when it is
	// over its sensitivity (clipped to 100), absent otherwise.
	Clipped string `json:"clipped,omitempty"`
}

type jsonConfuse struct {
	TP int `json:"tp"`
	FP int `json:"fp"`
	TN int `json:"tn"`
	FN int `json:"fn"`
}

func correctedJSON(c *calibration.Correction, model string) *jsonCorrected {
	r, ok := rateOf(c, model)
	if !ok {
		return nil
	}
	f := c.File
	j := &jsonCorrected{Calibration: c.Path, ScorerKey: f.ScorerKey, Threshold: f.Threshold,
		LabelsPath: f.Labels.Path, LabelsSHA256: f.Labels.SHA256,
		Confusion:   jsonConfuse{f.Confusion.TP, f.Confusion.FP, f.Confusion.TN, f.Confusion.FN},
		Sensitivity: JSONFloat(c.Sensitivity), SensitivityCI: [2]JSONFloat{JSONFloat(c.SensLow), JSONFloat(c.SensHigh)},
		Specificity: JSONFloat(c.Specificity), SpecificityCI: [2]JSONFloat{JSONFloat(c.SpecLow), JSONFloat(c.SpecHigh)},
		Youden: JSONFloat(c.Youden), YoudenLow: JSONFloat(c.YoudenLow), NoBetterThanChance: c.Chance,
		Draws: c.Draws, Seed: c.Seed, ObservedRate: JSONFloat(r.Observed),
		HallucinationRate: JSONFloat(r.Corrected), CILow: JSONFloat(r.Low), CIHigh: JSONFloat(r.High),
		PBelow: map[string]JSONFloat{}, NotDecisive: nonNilStrings(notDecisive(c, model))}
	switch r.Clipped {
	case -1:
		j.Clipped = "below"
	case 1:
		j.Clipped = "above"
	}
	for _, o := range c.Rates {
		if p, ok := c.Pair(model, o.Model); ok {
			j.PBelow[o.Model] = JSONFloat(p.PBelow)
		}
	}
	return j
}
