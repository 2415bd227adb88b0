package compare

import (
	"bufio"
	"fmt"
	"io"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/report"
	"github.com/hallu-eval/hallu/results"
)

// Calibrate corrects both sides' hallucination rates for the judge's error
// that f (read from path) measured, and gives the probability that the
// candidate's true rate is below the baseline's. It fails with a
// *calibration.MismatchError when f measured another scorer identity, or
// another threshold, than the one that judged either side.
func (r *Result) Calibrate(f *calibration.File, path string, seed uint64) error {
	names := r.correctedNames()
	for i, side := range []*Provenance{&r.BaseProv, &r.CandProv} {
		// Every identity of the side, as a side may hold older records
		// beside keyed ones.
		for _, s := range side.scorers {
			if err := f.Check(path, names[i], s.id, results.ConsistentThreshold); err != nil {
				return err
			}
		}
	}
	r.Corrected = calibration.Correct(f, path, []calibration.Observed{
		{Model: names[0], Hallucinated: r.Base.Hallucinated, Judged: r.Base.Judged},
		{Model: names[1], Hallucinated: r.Cand.Hallucinated, Judged: r.Cand.Judged},
	}, calibration.Options{Seed: seed})
	return nil
}

// correctedNames are the two sides' names in the correction: the models',
// told apart when a model is compared with itself.
func (r *Result) correctedNames() [2]string {
	if r.Base.Model == r.Cand.Model {
		return [2]string{r.Base.Model + " (base)", r.Cand.Model + " (candidate)"}
	}
	return [2]string{r.Base.Model, r.Cand.Model}
}

// candidateBelow is the ranking of the candidate against the baseline:
// PBelow is the probability that the candidate's true rate is below the
// baseline's. False when there is none (no correction, a judge no better
// than chance, a side without judged summaries).
func (r *Result) candidateBelow() (calibration.Pair, bool) {
	if r.Corrected == nil {
		return calibration.Pair{}, false
	}
	n := r.correctedNames()
	return r.Corrected.Pair(n[1], n[0])
}

// correctedCells are the base and candidate corrected rates.
func (r *Result) correctedCells() [2]string {
	var out [2]string
	for i := range out {
		c := r.Corrected.Rates[i]
		out[i] = rate(c.Corrected, c.Low, c.High)
	}
	return out
}

// rankText says how likely the candidate is to hallucinate less than the
// baseline.
func (r *Result) rankText() string {
	p, ok := r.candidateBelow()
	if !ok {
		return ""
	}
	return fmt.Sprintf("P(candidate's true hallucination rate < base's) is %s: %s.", calibration.PText(p.PBelow), p.Verdict())
}

func (r *Result) writeCorrectedText(w io.Writer) error {
	c := r.Corrected
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "\ncorrected for judge error (%s)\n%s\n", c.Source(), c.Judge())
	if c.Chance {
		fmt.Fprintln(bw, c.ChanceText())
		return bw.Flush()
	}
	cells := r.correctedCells()
	fmt.Fprintf(bw, "  hallucination %%  base %s  candidate %s\n", cells[0], cells[1])
	if t := r.rankText(); t != "" {
		fmt.Fprintf(bw, "  %s\n", t)
	}
	fmt.Fprintln(bw, c.Method())
	for _, n := range c.ClipNotes() {
		fmt.Fprintln(bw, "Clipped: "+n)
	}
	return bw.Flush()
}

func (r *Result) writeCorrectedMarkdown(w io.Writer) error {
	c := r.Corrected
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "\n**Corrected for judge error** (%s; %s).\n\n", mdEscape(c.Source()), c.Judge())
	if c.Chance {
		fmt.Fprintf(bw, "%s\n", c.ChanceText())
		return bw.Flush()
	}
	cells := r.correctedCells()
	fmt.Fprintln(bw, "| | Base | Candidate |\n|---|---:|---:|")
	fmt.Fprintf(bw, "| Corrected hallucination rate (%%) | %s | %s |\n", cells[0], cells[1])
	if t := r.rankText(); t != "" {
		fmt.Fprintf(bw, "\n%s\n", t)
	}
	fmt.Fprintf(bw, "\n_%s_\n", c.Method())
	for _, n := range c.ClipNotes() {
		fmt.Fprintf(bw, "\n> Clipped: %s\n", mdEscape(n))
	}
	return bw.Flush()
}

type jsonCorrectedRate struct {
	Observed          report.JSONFloat `json:"observed_rate"`
	HallucinationRate report.JSONFloat `json:"hallucination_rate"`
	CILow             report.JSONFloat `json:"ci_low"`
	CIHigh            report.JSONFloat `json:"ci_high"`
}

// jsonCorrected is the comparison's "corrected" object.
type jsonCorrected struct {
	Calibration        string            `json:"calibration"`
	ScorerKey          string            `json:"scorer_key"`
	LabelsPath         string            `json:"labels_path"`
	LabelsSHA256       string            `json:"labels_sha256"`
	Sensitivity        report.JSONFloat  `json:"sensitivity"`
	Specificity        report.JSONFloat  `json:"specificity"`
	YoudenLow          report.JSONFloat  `json:"youden_low"`
	NoBetterThanChance bool              `json:"no_better_than_chance"`
	Draws              int               `json:"draws"`
	Seed               uint64            `json:"seed"`
	Base               jsonCorrectedRate `json:"base"`
	Candidate          jsonCorrectedRate `json:"candidate"`
	// PCandidateBelow is the probability that the candidate's true rate is
	// below the baseline's; null when the rates are not corrected.
	PCandidateBelow *report.JSONFloat `json:"p_candidate_below_base"`
	Decisive        bool              `json:"decisive"`
}

func (r *Result) correctedJSON() *jsonCorrected {
	c := r.Corrected
	if c == nil {
		return nil
	}
	f := c.File
	j := &jsonCorrected{Calibration: c.Path, ScorerKey: f.ScorerKey, LabelsPath: f.Labels.Path, LabelsSHA256: f.Labels.SHA256,
		Sensitivity: report.JSONFloat(c.Sensitivity), Specificity: report.JSONFloat(c.Specificity),
		YoudenLow: report.JSONFloat(c.YoudenLow), NoBetterThanChance: c.Chance, Draws: c.Draws, Seed: c.Seed}
	rate := func(x calibration.Rate) jsonCorrectedRate {
		return jsonCorrectedRate{report.JSONFloat(x.Observed), report.JSONFloat(x.Corrected), report.JSONFloat(x.Low), report.JSONFloat(x.High)}
	}
	j.Base, j.Candidate = rate(c.Rates[0]), rate(c.Rates[1])
	if p, ok := r.candidateBelow(); ok {
		v := report.JSONFloat(p.PBelow)
		j.PCandidateBelow, j.Decisive = &v, p.Decisive
	}
	return j
}
