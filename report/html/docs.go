package htmlreport

import (
	"cmp"
	"math/rand/v2"
	"slices"

	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
)

// Statuses of a document in the drill-down, in the order the page lists them.
const (
	StatusFailed       = "failed"       // generation or scorer error
	StatusInvalid      = "invalid"      // empty, refusal, too short
	StatusHallucinated = "hallucinated" // judged below the threshold
	StatusUnjudged     = "unjudged"     // valid, not scored yet
	StatusConsistent   = "consistent"   // judged at or above the threshold
)

var statusOrder = []string{StatusFailed, StatusInvalid, StatusHallucinated, StatusUnjudged, StatusConsistent}

// Status classifies a record for the drill-down. An invalid summary is never
// judged, so invalid wins over a scorer error on it.
func Status(rec *results.Record) string {
	switch reason := leaderboard.InvalidReason(rec); {
	case reason == leaderboard.InvalidError:
		return StatusFailed
	case reason != "":
		return StatusInvalid
	}
	j := rec.Judgment
	switch {
	case rec.Error != nil || j != nil && j.Error != nil:
		return StatusFailed
	case j == nil || j.Score == nil:
		return StatusUnjudged
	case *j.Score < results.ConsistentThreshold:
		return StatusHallucinated
	}
	return StatusConsistent
}

// DefaultMaxDocs is how many documents of each status the drill-down keeps
// per model unless told otherwise.
const DefaultMaxDocs = 50

// Collector keeps, per model, the documents the drill-down shows: the first
// max of each problem status (failed, invalid, hallucinated, unjudged) in
// stream order and a uniform sample of max consistent ones. It holds at most
// 5×max records per model whatever the size of the run, and counts what it
// leaves out so the page can say so.
type Collector struct {
	max    int
	models map[string]*modelDocs
	order  []string // models in order of first appearance
	rng    *rand.Rand
}

type modelDocs struct {
	kept  map[string][]*results.Record
	total map[string]int
}

// NewCollector keeps up to max documents of each status per model; max <= 0
// means DefaultMaxDocs.
func NewCollector(max int) *Collector {
	if max <= 0 {
		max = DefaultMaxDocs
	}
	// A fixed seed: the same results give the same page.
	return &Collector{max: max, models: map[string]*modelDocs{}, rng: rand.New(rand.NewPCG(1, 2))}
}

// Add offers one record. The collector keeps the record itself, so the caller
// must not reuse it.
func (c *Collector) Add(rec *results.Record) {
	m := c.models[rec.Model]
	if m == nil {
		m = &modelDocs{kept: map[string][]*results.Record{}, total: map[string]int{}}
		c.models[rec.Model] = m
		c.order = append(c.order, rec.Model)
	}
	st := Status(rec)
	m.total[st]++
	slim := *rec
	slim.Raw = "" // the page shows the summary; the raw output only doubles the size
	kept := m.kept[st]
	switch {
	case len(kept) < c.max:
		m.kept[st] = append(kept, &slim)
	case st == StatusConsistent:
		// Reservoir sampling: every consistent record ends up kept with the
		// same probability.
		if i := c.rng.IntN(m.total[st]); i < c.max {
			kept[i] = &slim
		}
	}
}

// Models returns the drill-down of every model seen, in the order of first
// appearance; Write reorders them to follow the leaderboard.
func (c *Collector) Models() []ModelDocs {
	out := make([]ModelDocs, 0, len(c.order))
	for _, name := range c.order {
		m := c.models[name]
		md := ModelDocs{Model: name}
		for _, st := range statusOrder {
			recs := m.kept[st]
			md.Counts = append(md.Counts, StatusCount{Status: st, Total: m.total[st], Shown: len(recs)})
			sorted := slices.Clone(recs)
			slices.SortStableFunc(sorted, func(a, b *results.Record) int {
				if st == StatusHallucinated {
					// Worst first.
					if c := cmp.Compare(*a.Judgment.Score, *b.Judgment.Score); c != 0 {
						return c
					}
				}
				return cmp.Compare(a.DocID, b.DocID)
			})
			for _, r := range sorted {
				md.Docs = append(md.Docs, r)
			}
		}
		out = append(out, md)
	}
	return out
}

// ModelDocs is one model's drill-down.
type ModelDocs struct {
	Model  string
	Counts []StatusCount
	Docs   []*results.Record
}

// StatusCount says how many records of a status the model has and how many
// of them the page shows.
type StatusCount struct {
	Status       string
	Total, Shown int
}
