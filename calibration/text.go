package calibration

import (
	"fmt"
	"strconv"
)

// The sentences every format (report's table, Markdown and HTML, compare's)
// uses to present a correction, so that they say the same thing.

// Source names the calibration and what it measured: "calibration cal.json:
// hhem 2.1-open at threshold 0.5, measured on 120 labelled pairs of
// labels.csv (hallu format)".
func (c *Correction) Source() string {
	f := c.File
	return fmt.Sprintf("calibration %s: %s at threshold %v, measured on %d labelled pairs of %s (%s format)",
		c.Path, f.Scorer, f.Threshold, f.Confusion.Positives()+f.Confusion.Negatives(), f.Labels.Path, f.Labels.Format)
}

// Judge gives the judge's sensitivity and specificity, their 95% intervals
// and the counts behind them.
func (c *Correction) Judge() string {
	cf := c.File.Confusion
	return fmt.Sprintf("sensitivity %s %% [%s, %s] (%d of %d hallucinated pairs caught), specificity %s %% [%s, %s] (%d of %d consistent pairs passed)",
		Pct(c.Sensitivity), Pct(c.SensLow), Pct(c.SensHigh), cf.TP, cf.Positives(),
		Pct(c.Specificity), Pct(c.SpecLow), Pct(c.SpecHigh), cf.TN, cf.Negatives())
}

// ChanceText is what a report says instead of corrected rates when the
// judge is no better than chance on its labelled set.
func (c *Correction) ChanceText() string {
	return fmt.Sprintf("The judge is no better than chance on this labelled set: sensitivity + specificity − 1 is %s, its lower 95%% bound %s, not above %v. No corrected rate is given; label more pairs or use a better judge.",
		strconv.FormatFloat(c.Youden, 'f', 3, 64), strconv.FormatFloat(c.YoudenLow, 'f', 3, 64), MinYouden)
}

// Method explains the corrected figures in one paragraph.
func (c *Correction) Method() string {
	return fmt.Sprintf("Corrected: the Rogan–Gladen estimate (observed + specificity − 1) / (sensitivity + specificity − 1), clipped to [0, 100]; its 95%% interval carries both the documents' and the labelled set's sampling error (%d posterior draws, seed %d; see docs/judge-error.md). It assumes the judge errs on these summaries as it did on the labelled pairs.",
		c.Draws, c.Seed)
}

// ClipNote says, for a model whose estimate was clipped, why; "" for one
// that was not.
func (c *Correction) ClipNote(r Rate) string {
	switch r.Clipped {
	case -1:
		return fmt.Sprintf("%s: the observed %s %% is below the judge's false-positive rate on the labelled set (%s %%), beyond sampling error, so the corrected rate and its interval are pinned at 0; the judge flags these summaries less often than the labelled pairs say it would, so they may be unlike them.",
			r.Model, strconv.FormatFloat(r.Observed, 'f', 1, 64), Pct(1-c.Specificity))
	case 1:
		return fmt.Sprintf("%s: the observed %s %% is above the judge's sensitivity on the labelled set (%s %%), beyond sampling error, so the corrected rate and its interval are pinned at 100; the judge flags these summaries more often than the labelled pairs say it would, so they may be unlike them.",
			r.Model, strconv.FormatFloat(r.Observed, 'f', 1, 64), Pct(c.Sensitivity))
	}
	return ""
}

// ClipNotes are the ClipNote of every clipped model.
func (c *Correction) ClipNotes() []string {
	var out []string
	for _, r := range c.Rates {
		if n := c.ClipNote(r); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// RankNote explains the ranking's probabilities.
const RankNote = "P is the probability that the first model's true hallucination rate is below the second's, from the same draws; an ordering is not decisive when P is between 0.05 and 0.95."

// Pct is a proportion as a percentage with one decimal, "" for NaN.
func Pct(p float64) string {
	if p != p {
		return ""
	}
	return strconv.FormatFloat(p*100, 'f', 1, 64)
}

// PText is a ranking probability with two decimals; one that rounds to 0
// or 1 is written "<0.01" or ">0.99", as 0.00 would claim a certainty
// the draws cannot give.
func PText(p float64) string {
	switch {
	case p < 0.005:
		return "<0.01"
	case p > 0.995:
		return ">0.99"
	}
	return strconv.FormatFloat(p, 'f', 2, 64)
}

// Verdict is "decisive" or "not decisive".
func (p Pair) Verdict() string {
	if p.Decisive {
		return "decisive"
	}
	return "not decisive"
}
