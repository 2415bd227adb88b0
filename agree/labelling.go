package agree

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// WriteLabelling writes the disagreements as a labelling file in the CSV
// form `hallu calibrate --labels` reads (calibrate.NewReader): columns id,
// label, source, summary, which calibrate reads, with label left empty for
// a person to fill in (1 or consistent, 0 or hallucinated), then model,
// doc_id and each scorer's identity, verdict and score, which calibrate
// ignores. id comes before doc_id, so calibrate takes it as the id (it
// reads the first id-like column); no other extra column has a name
// calibrate reads as source, summary or label.
// A document without its source or summary text (records written without
// them) is an error naming it: calibrate could not score it.
func WriteLabelling(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	header := []string{"id", "label", "source", "summary", "model", "doc_id"}
	for i := range r.Judges {
		l := "judge_" + letter(i)
		header = append(header, l, l+"_verdict", l+"_score")
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, d := range r.Disagreements {
		if d.Source == "" || d.Summary == "" {
			return fmt.Errorf("model %s document %s: the records carry no source or summary text to label", d.Model, d.DocID)
		}
		row := []string{d.Model + "/" + d.DocID, "", d.Source, d.Summary, d.Model, d.DocID}
		for i, s := range d.Scores {
			row = append(row, r.Judges[i].Label(), verdict(s), strconv.FormatFloat(s, 'g', -1, 64))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
