package agree

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hallu-eval/hallu/results"
)

// letter names judge i in tables: A, B, C, ...
func letter(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return "J" + strconv.Itoa(i+1)
}

func kappaName(kind string) string {
	if kind == "fleiss" {
		return "Fleiss' kappa"
	}
	return "Cohen's kappa"
}

func fmtPct(iv Interval) string {
	if math.IsNaN(iv.Est) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%% [%.1f, %.1f]", iv.Est, iv.Lo, iv.Hi)
}

func fmtKappa(iv Interval) string {
	switch {
	case math.IsNaN(iv.Est):
		return "n/a (a judge gave one verdict to every document)"
	case math.IsNaN(iv.Lo):
		return fmt.Sprintf("%.3f [no interval: undefined in many resamples]", iv.Est)
	}
	return fmt.Sprintf("%.3f [%.3f, %.3f]", iv.Est, iv.Lo, iv.Hi)
}

func verdict(score float64) string {
	if score < results.ConsistentThreshold {
		return "hallucinated"
	}
	return "consistent"
}

// WriteText writes the agreement as plain text; maxDocs bounds the
// disagreements listed (0: all).
func (r *Result) WriteText(w io.Writer, maxDocs int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Agreement of %d scorers on %d documents every one of them scored\n\n", len(r.Judges), r.N)
	r.writeJudges(&b, false)
	if r.Partial > 0 {
		fmt.Fprintf(&b, "\n%d documents scored by only some of the scorers are left out.\n", r.Partial)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\n", agreeLabel(len(r.Judges)), fmtPct(r.AgreePct)+" (Wilson)")
	fmt.Fprintf(tw, "%s\t%s\n", kappaName(r.KappaKind), fmtKappa(r.Kappa)+r.bootNote())
	tw.Flush()
	if len(r.Judges) == 2 {
		b.WriteString("\nConfusion matrix (rows A, columns B):\n\n")
		t := r.Pairs[0].Table
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "\tB consistent\tB hallucinated\t\n")
		fmt.Fprintf(tw, "A consistent\t%d\t%d\t\n", t.CC, t.CH)
		fmt.Fprintf(tw, "A hallucinated\t%d\t%d\t\n", t.HC, t.HH)
		tw.Flush()
	} else {
		b.WriteString("\nDocuments by number of scorers calling them hallucinated:\n\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		for j, c := range r.Votes {
			fmt.Fprintf(tw, "%d of %d\t%d\t\n", j, len(r.Judges), c)
		}
		tw.Flush()
		b.WriteString("\nPairs (CC: both consistent, CH: first consistent, second hallucinated, ...):\n\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "PAIR\tCC\tCH\tHC\tHH\tAGREEMENT [95%% CI]\tCOHEN'S KAPPA [95%% CI]\n")
		for _, p := range r.Pairs {
			fmt.Fprintf(tw, "%s-%s\t%d\t%d\t%d\t%d\t%s\t%s\n", letter(p.A), letter(p.B), p.Table.CC, p.Table.CH, p.Table.HC, p.Table.HH,
				fmtPct(p.AgreePct), fmtKappa(p.Kappa))
		}
		tw.Flush()
	}
	fmt.Fprintf(&b, "\nDisagreements: %d documents", len(r.Disagreements))
	if len(r.Disagreements) > 0 {
		b.WriteString("\n\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "MODEL\tDOCUMENT")
		for i := range r.Judges {
			fmt.Fprintf(tw, "\t%s", letter(i))
		}
		fmt.Fprintln(tw)
		for i, d := range r.Disagreements {
			if maxDocs > 0 && i == maxDocs {
				break
			}
			fmt.Fprintf(tw, "%s\t%s", d.Model, d.DocID)
			for _, s := range d.Scores {
				fmt.Fprintf(tw, "\t%.3f %s", s, verdict(s))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		if maxDocs > 0 && len(r.Disagreements) > maxDocs {
			fmt.Fprintf(&b, "… and %d more (--max-docs, --format json, or --disagreements FILE for all)\n", len(r.Disagreements)-maxDocs)
		}
	} else {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func agreeLabel(k int) string {
	if k == 2 {
		return "Percent agreement"
	}
	return "All agree"
}

func (r *Result) bootNote() string {
	return fmt.Sprintf(" (bootstrap over documents, %d resamples, seed %d)", r.Samples, r.Seed)
}

func (r *Result) writeJudges(b *strings.Builder, md bool) {
	for i, j := range r.Judges {
		if md {
			fmt.Fprintf(b, "- **%s**: %s — `%s` (%d scored, %d failed, %d not judged)\n", letter(i), mdEscape(j.Label()), j.Path, j.Judged, j.Failed, j.Unjudged)
		} else {
			fmt.Fprintf(b, "  %s  %s  %s  (%d scored, %d failed, %d not judged)\n", letter(i), j.Label(), j.Path, j.Judged, j.Failed, j.Unjudged)
		}
	}
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// WriteMarkdown writes the agreement as Markdown; maxDocs as for WriteText.
func (r *Result) WriteMarkdown(w io.Writer, maxDocs int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Agreement of %d scorers on %d documents\n\n", len(r.Judges), r.N)
	r.writeJudges(&b, true)
	if r.Partial > 0 {
		fmt.Fprintf(&b, "\n%d documents scored by only some of the scorers are left out.\n", r.Partial)
	}
	fmt.Fprintf(&b, "\n| statistic | value [95%% CI] |\n|---|---|\n| %s | %s (Wilson) |\n| %s | %s |\n",
		strings.ToLower(agreeLabel(len(r.Judges))), fmtPct(r.AgreePct), kappaName(r.KappaKind), fmtKappa(r.Kappa)+r.bootNote())
	if len(r.Judges) == 2 {
		t := r.Pairs[0].Table
		fmt.Fprintf(&b, "\n| | B consistent | B hallucinated |\n|---|---:|---:|\n| **A consistent** | %d | %d |\n| **A hallucinated** | %d | %d |\n",
			t.CC, t.CH, t.HC, t.HH)
	} else {
		b.WriteString("\n| scorers calling it hallucinated | documents |\n|---|---:|\n")
		for j, c := range r.Votes {
			fmt.Fprintf(&b, "| %d of %d | %d |\n", j, len(r.Judges), c)
		}
		b.WriteString("\n| pair | CC | CH | HC | HH | agreement [95% CI] | Cohen's kappa [95% CI] |\n|---|---:|---:|---:|---:|---|---|\n")
		for _, p := range r.Pairs {
			fmt.Fprintf(&b, "| %s–%s | %d | %d | %d | %d | %s | %s |\n", letter(p.A), letter(p.B), p.Table.CC, p.Table.CH, p.Table.HC, p.Table.HH,
				fmtPct(p.AgreePct), fmtKappa(p.Kappa))
		}
	}
	fmt.Fprintf(&b, "\n**Disagreements: %d documents**\n", len(r.Disagreements))
	if len(r.Disagreements) > 0 {
		b.WriteString("\n| model | document |")
		for i := range r.Judges {
			b.WriteString(" " + letter(i) + " |")
		}
		b.WriteString("\n|---|---|" + strings.Repeat("---|", len(r.Judges)) + "\n")
		for i, d := range r.Disagreements {
			if maxDocs > 0 && i == maxDocs {
				fmt.Fprintf(&b, "\n… and %d more.\n", len(r.Disagreements)-maxDocs)
				break
			}
			fmt.Fprintf(&b, "| %s | %s |", mdEscape(d.Model), mdEscape(d.DocID))
			for _, s := range d.Scores {
				fmt.Fprintf(&b, " %.3f %s |", s, verdict(s))
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonNum is a float that is null when undefined.
type jsonNum float64

func (f jsonNum) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(math.Round(float64(f)*1e4)/1e4, 'f', -1, 64)), nil
}

type jsonInterval struct {
	Est jsonNum `json:"estimate"`
	Lo  jsonNum `json:"low"`
	Hi  jsonNum `json:"high"`
}

func toJSON(iv Interval) jsonInterval {
	return jsonInterval{jsonNum(iv.Est), jsonNum(iv.Lo), jsonNum(iv.Hi)}
}

// WriteJSON writes the agreement as one JSON object, every disagreement
// included.
func (r *Result) WriteJSON(w io.Writer) error {
	type judge struct {
		Label       string            `json:"label"`
		Input       string            `json:"input"`
		Scorer      string            `json:"scorer"`
		Version     string            `json:"scorer_version,omitempty"`
		Options     map[string]string `json:"scorer_options,omitempty"`
		Weights     string            `json:"scorer_weights,omitempty"`
		ScorerKey   string            `json:"scorer_key"`
		FallbackFor string            `json:"fallback_for,omitempty"`
		Scored      int               `json:"scored"`
		Failed      int               `json:"failed"`
		Unjudged    int               `json:"not_judged"`
	}
	type pair struct {
		Pair      [2]string    `json:"pair"`
		Confusion [2][2]int    `json:"confusion"`
		Agreement jsonInterval `json:"agreement_pct"`
		Kappa     jsonInterval `json:"cohen_kappa"`
	}
	type doc struct {
		Model    string    `json:"model"`
		DocID    string    `json:"doc_id"`
		Scores   []float64 `json:"scores"`
		Verdicts []string  `json:"verdicts"`
	}
	out := struct {
		Judges        []judge      `json:"scorers"`
		N             int          `json:"documents"`
		Partial       int          `json:"partial"`
		Agreed        int          `json:"all_agree"`
		AgreePct      jsonInterval `json:"agreement_pct"`
		KappaKind     string       `json:"kappa_kind"`
		Kappa         jsonInterval `json:"kappa"`
		Interval      string       `json:"kappa_interval"`
		Samples       int          `json:"bootstrap_samples"`
		Seed          uint64       `json:"bootstrap_seed"`
		Votes         []int        `json:"hallucinated_votes"`
		Pairs         []pair       `json:"pairs"`
		Disagreements []doc        `json:"disagreements"`
	}{N: r.N, Partial: r.Partial, Agreed: r.Agreed, AgreePct: toJSON(r.AgreePct), KappaKind: r.KappaKind,
		Kappa: toJSON(r.Kappa), Interval: "percentile bootstrap over documents, 95%", Samples: r.Samples, Seed: r.Seed,
		Votes: r.Votes, Judges: []judge{}, Pairs: []pair{}, Disagreements: []doc{}}
	for i, j := range r.Judges {
		out.Judges = append(out.Judges, judge{Label: letter(i), Input: j.Path, Scorer: j.Identity.Name, Version: j.Identity.Version,
			Options: j.Identity.Options, Weights: j.Identity.Weights, ScorerKey: j.Identity.Key(), FallbackFor: j.FallbackFor,
			Scored: j.Judged, Failed: j.Failed, Unjudged: j.Unjudged})
	}
	for _, p := range r.Pairs {
		out.Pairs = append(out.Pairs, pair{Pair: [2]string{letter(p.A), letter(p.B)},
			Confusion: [2][2]int{{p.Table.CC, p.Table.CH}, {p.Table.HC, p.Table.HH}},
			Agreement: toJSON(p.AgreePct), Kappa: toJSON(p.Kappa)})
	}
	for _, d := range r.Disagreements {
		jd := doc{Model: d.Model, DocID: d.DocID, Scores: d.Scores}
		for _, s := range d.Scores {
			jd.Verdicts = append(jd.Verdicts, verdict(s))
		}
		out.Disagreements = append(out.Disagreements, jd)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
