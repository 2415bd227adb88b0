package leaderboard

import (
	"errors"
	"math"
	"strings"
)

// keptObs is what CommonStats needs of one record: whether the summary
// counts, and its words and score. The model name is shared with the
// aggregator's, not copied per record.
type keptObs struct {
	model, doc        string
	valid             bool
	scored, scorerErr bool
	words             int32
	score             float64
}

// KeepForCommon makes the aggregator remember a few fields of every record
// it reads (48 bytes each, plus the document id it keeps alive), so that
// CommonStats can rate the models on the documents they all answered. Call
// it before reading.
func (a *Aggregator) KeepForCommon() { a.keep = true }

func (a *Aggregator) keepObservation(model string, o Observation) {
	a.kept = append(a.kept, keptObs{model: model, doc: strings.Clone(o.DocID), valid: o.Invalid == "",
		scored: o.Scored, scorerErr: o.ScorerError, words: int32(min(o.Words, math.MaxInt32)), score: o.Score})
}

// ErrNotKept is returned by CommonStats on an aggregator that was not told
// to KeepForCommon before reading.
var ErrNotKept = errors.New("results: CommonStats needs KeepForCommon before reading")

// CommonStats returns every model's statistics under the leaderboard's old
// protocol: the judged rates (hallucination and factual consistency rate,
// their intervals, the judged counts and the average summary length) cover
// only the documents that every model answered validly, so that each model
// is judged on the same documents. The answer rate and the document, error,
// latency and token figures still cover every document, since on the common
// documents every answer rate would be 100%. Each row's CommonDocs holds the
// number of common documents, which is also returned.
func (a *Aggregator) CommonStats() ([]ModelStats, int, error) {
	if !a.keep {
		return nil, 0, ErrNotKept
	}
	validBy := map[string]int{}
	for i := range a.kept {
		if a.kept[i].valid {
			validBy[a.kept[i].doc]++
		}
	}
	// Observe refuses a second record of a (model, document) pair, so a
	// count equal to the number of models means every model.
	sub := NewAggregator()
	common := 0
	for _, n := range validBy {
		if n == len(a.models) {
			common++
		}
	}
	for i := range a.kept {
		k := &a.kept[i]
		if validBy[k.doc] != len(a.models) {
			continue
		}
		if err := sub.Observe(Observation{Model: k.model, DocID: k.doc, Words: int(k.words),
			Scored: k.scored, Score: k.score, ScorerError: k.scorerErr}); err != nil {
			return nil, 0, err
		}
	}
	onCommon := map[string]ModelStats{}
	for _, s := range sub.Stats() {
		onCommon[s.Model] = s
	}
	rows := a.Stats()
	for i := range rows {
		r := &rows[i]
		c, ok := onCommon[r.Model]
		if !ok {
			c = (&accum{}).stats(r.Model) // no common document: NaN rates, zero counts
		}
		r.Judged, r.Unjudged, r.Consistent, r.Hallucinated = c.Judged, c.Unjudged, c.Consistent, c.Hallucinated
		r.FactualConsistencyRate, r.HallucinationRate = c.FactualConsistencyRate, c.HallucinationRate
		r.HRLow, r.HRHigh, r.FCRLow, r.FCRHigh = c.HRLow, c.HRHigh, c.FCRLow, c.FCRHigh
		r.AvgSummaryWords = c.AvgSummaryWords
		r.Common, r.CommonDocs = true, common
	}
	SortStats(rows)
	return rows, common, nil
}
