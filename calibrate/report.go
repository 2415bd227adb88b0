package calibrate

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/hallu-eval/hallu/calibration"
)

// WriteTable writes the report for people.
func (r *Report) WriteTable(w io.Writer, labels string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "scorer\t%s %s\n", r.Scorer, r.Version)
	fmt.Fprintf(tw, "labels\t%s: %d pairs scored (%d consistent, %d hallucinated)\n", labels, r.N, r.Consistent, r.Hallucinated)
	if r.Errors > 0 {
		fmt.Fprintf(tw, "scorer errors\t%d pairs, excluded from the figures\n", r.Errors)
	}
	fmt.Fprintf(tw, "balanced accuracy @ %s\t%s\n", num(r.Threshold), pct(r.BalancedAccuracy))
	fmt.Fprintf(tw, "hallucinated precision\t%s\n", pct(r.Precision))
	fmt.Fprintf(tw, "hallucinated recall\t%s\n", pct(r.Recall))
	fmt.Fprintf(tw, "hallucinated F1\t%s\n", pct(r.F1))
	fmt.Fprintf(tw, "AUROC\t%s\n", num(r.AUROC))
	fmt.Fprintf(tw, "best threshold\t%s (balanced accuracy %s; tuned on this set, so optimistic)\n", num(r.BestThreshold), pct(r.BestBalancedAccuracy))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range r.ErrorSamples {
		if _, err := fmt.Fprintf(w, "  error: %s\n", e); err != nil {
			return err
		}
	}
	if r.Errors > len(r.ErrorSamples) {
		_, err := fmt.Fprintf(w, "  ... and %d more errors\n", r.Errors-len(r.ErrorSamples))
		return err
	}
	return nil
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.4g", v)
}

// JSONReport is the --format json shape; an undefined figure is null.
type JSONReport struct {
	Scorer               string   `json:"scorer"`
	ScorerVersion        string   `json:"scorer_version"`
	Labels               string   `json:"labels"`
	N                    int      `json:"n"`
	Consistent           int      `json:"consistent"`
	Hallucinated         int      `json:"hallucinated"`
	Errors               int      `json:"errors"`
	ErrorSamples         []string `json:"error_samples,omitempty"`
	Threshold            float64  `json:"threshold"`
	BalancedAccuracy     *float64 `json:"balanced_accuracy"`
	Precision            *float64 `json:"hallucinated_precision"`
	Recall               *float64 `json:"hallucinated_recall"`
	F1                   *float64 `json:"hallucinated_f1"`
	AUROC                *float64 `json:"auroc"`
	BestThreshold        *float64 `json:"best_threshold"`
	BestBalancedAccuracy *float64 `json:"best_balanced_accuracy"`
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer, labels string) error {
	opt := func(v float64) *float64 {
		if math.IsNaN(v) {
			return nil
		}
		return &v
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(JSONReport{
		Scorer: r.Scorer, ScorerVersion: r.Version, Labels: labels,
		N: r.N, Consistent: r.Consistent, Hallucinated: r.Hallucinated,
		Errors: r.Errors, ErrorSamples: r.ErrorSamples, Threshold: r.Threshold,
		BalancedAccuracy: opt(r.BalancedAccuracy), Precision: opt(r.Precision), Recall: opt(r.Recall), F1: opt(r.F1),
		AUROC: opt(r.AUROC), BestThreshold: opt(r.BestThreshold), BestBalancedAccuracy: opt(r.BestBalancedAccuracy),
	})
}

// Calibration is the calibration file of the report's scorer: its
// identity, the threshold and the confusion counts at it, with labels
// saying where the pairs came from (their Count is filled in here).
func (r *Report) Calibration(labels calibration.Labels) *calibration.File {
	labels.Count = r.N + r.Errors
	cf := calibration.Confusion{TP: r.TP, FP: r.FP, TN: r.TN, FN: r.FN}
	return calibration.New(r.Identity, r.Threshold, cf, r.Errors, labels)
}
