// Package compare sets two result sets of the same documents side by side:
// a baseline model and a candidate to replace it. It pairs their records by
// document, measures the change in hallucination and answer rate with paired
// intervals and McNemar's exact test, and decides the regression gates that
// `hallu compare` turns into an exit status for CI.
//
// A comparison holds one small struct per document and side (O(documents)),
// since pairing needs both sides' outcome for each document.
package compare

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/stats"
)

// DefaultMinDocs is the fewest shared documents a comparison accepts unless
// told otherwise. McNemar's exact test cannot reach p < 0.05 on five or
// fewer discordant documents whichever way they flip, and on a few dozen
// documents only a regression of tens of points can; below 30 a passing gate
// says little, and a comparison that small is more often a mistake (a smoke
// run against a full run, a wrong directory) than an intent.
const DefaultMinDocs = 30

// Errors for inputs that cannot be compared; `hallu compare` exits 2 on them.
var (
	ErrTooFewDocs       = errors.New("too few shared documents")
	ErrDifferentSources = errors.New("shared documents have different source texts")
	ErrModels           = errors.New("cannot tell which model to compare")
)

// Outcome is one model's result on one document.
type Outcome struct {
	Valid  bool    // the summary counts (leaderboard.Valid)
	Scored bool    // valid and judged without a scorer error
	Score  float64 // the judgment's score when Scored
	// DocHash identifies the document text (results.TextHash): the
	// record's DocHash, or the hash of its Source in records made before
	// DocHash; "" when the record carries neither.
	DocHash string
	// Words, LatencyMS and the token counts feed the sides' descriptive
	// columns (average length, latency, tokens); the paired tests ignore them.
	Words               int
	LatencyMS           float64
	HasUsage            bool
	TokensIn, TokensOut int
}

// Hallucinated reports whether a scored outcome is below the consistency
// threshold.
func (o Outcome) Hallucinated() bool { return o.Score < results.ConsistentThreshold }

// OutcomeOf reduces a record to its outcome.
func OutcomeOf(rec *results.Record) Outcome {
	ob := leaderboard.FromRecord(rec)
	o := Outcome{Valid: ob.Invalid == "", Words: ob.Words, LatencyMS: ob.LatencyMS,
		HasUsage: ob.HasUsage, TokensIn: ob.TokensIn, TokensOut: ob.TokensOut}
	o.Scored = o.Valid && ob.Scored && !ob.ScorerError
	if o.Scored {
		o.Score = ob.Score
	}
	switch {
	case rec.DocHash != "":
		o.DocHash = rec.DocHash
	case rec.Source != "":
		o.DocHash = results.TextHash(rec.Source)
	}
	return o
}

// Side is one model's outcomes by document id.
type Side struct {
	Model string
	Docs  map[string]Outcome
	// Prov is how the records were made, checked against the other side.
	Prov Provenance
}

// ReadSide reads result paths (files, "-" for stdin, run directories; see
// leaderboard.Inputs) and returns one model's outcomes. With model "", the input
// must hold exactly one model; otherwise records of other models are
// ignored, so that one run directory can serve both sides. The side's
// Provenance is filled from its records. Files found in a
// directory that are not hallu records go to skipped (which may be nil). A
// (model, document) pair read twice is an error.
func ReadSide(paths []string, stdin io.Reader, model string, skipped func(path string)) (*Side, error) {
	byModel := map[string]map[string]Outcome{}
	provs := map[string]*Provenance{}
	err := leaderboard.ReadRecords(paths, stdin, skipped, func(rec *results.Record) error {
		docs := byModel[rec.Model]
		if docs == nil {
			docs = map[string]Outcome{}
			byModel[rec.Model] = docs
			provs[rec.Model] = &Provenance{}
		}
		if model != "" && rec.Model != model {
			return nil // counted as seen, not kept
		}
		if _, dup := docs[rec.DocID]; dup {
			return fmt.Errorf("%w: model %q document %q was already read (give one stage's output: judgments supersede generations)", leaderboard.ErrDuplicate, rec.Model, rec.DocID)
		}
		docs[rec.DocID] = OutcomeOf(rec)
		provs[rec.Model].observe(rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	found := make([]string, 0, len(byModel))
	for m := range byModel {
		found = append(found, m)
	}
	slices.Sort(found)
	switch {
	case len(found) == 0:
		return nil, errors.New("no records")
	case model != "" && byModel[model] == nil:
		return nil, fmt.Errorf("%w: no records of model %q (found %s)", ErrModels, model, strings.Join(found, ", "))
	case model == "" && len(found) > 1:
		return nil, fmt.Errorf("%w: %d models found (%s)", ErrModels, len(found), strings.Join(found, ", "))
	case model == "":
		model = found[0]
	}
	return &Side{Model: model, Docs: byModel[model], Prov: *provs[model]}, nil
}

// Options tune a comparison.
type Options struct {
	// MinDocs is the fewest shared documents accepted; DefaultMinDocs when
	// 0.
	MinDocs int
	// Intervals chooses the method of each model's own rate intervals; the
	// bootstrap settings (samples, seed) also drive the paired intervals.
	Intervals leaderboard.IntervalOptions
	// AllowSettings compares sides generated with different sampling
	// settings, with a warning; otherwise they are ErrSettings. Different
	// scorers, prompts or documents are never compared.
	AllowSettings bool
}

// Result is a comparison. Rates and differences are percentages and
// percentage points.
type Result struct {
	Base, Cand leaderboard.ModelStats // each model over the shared documents

	Shared   int // documents both sides hold
	OnlyBase int // documents only the baseline holds
	OnlyCand int // documents only the candidate holds

	// Hallucination compares the hallucination rate (yes = hallucinated) on
	// the documents both models answered validly and both have scores for.
	Hallucination Paired
	// Answer compares the answer rate (yes = valid summary) on the shared
	// documents.
	Answer Paired

	// Flipped lists the documents consistent under the baseline and
	// hallucinated under the candidate, largest score drop first.
	Flipped []Flip

	// Samples and Seed are the paired bootstrap's settings.
	Samples int
	Seed    uint64

	// BaseProv and CandProv are how each side was made (scorer, prompt,
	// sampling settings), for the reports.
	BaseProv, CandProv Provenance
	// Warnings name the checks that older records could not support and
	// the differences allowed by Options.
	Warnings []string
	// Corrected holds both sides' rates corrected for the judge's measured
	// error, set by Calibrate; nil otherwise.
	Corrected *calibration.Correction
}

// Paired compares a yes/no outcome of the same documents under both models.
type Paired struct {
	N        int     // documents paired
	BaseRate float64 // % yes under the baseline
	CandRate float64 // % yes under the candidate
	Up       int     // no under the baseline, yes under the candidate
	Down     int     // yes under the baseline, no under the candidate
	// Diff is CandRate − BaseRate in points, that is (Up − Down)/N × 100;
	// DiffLow and DiffHigh its 95% paired percentile bootstrap interval.
	Diff, DiffLow, DiffHigh float64
	// P is McNemar's exact two-sided p-value on Up and Down.
	P float64
}

// Flip is a document that went from consistent to hallucinated.
type Flip struct {
	DocID     string
	BaseScore float64
	CandScore float64
}

// Compare pairs the two sides by document id. It fails with ErrScorers,
// ErrPrompts or ErrSettings when the sides (or one side's own records) were
// judged by different scorers or generated with different prompts or
// sampling settings, with ErrDifferentSources when a shared document's text
// (where both records identify it) differs: the two sides were not run on
// the same dataset; and with ErrTooFewDocs when they share fewer than
// MinDocs documents.
func Compare(base, cand *Side, o Options) (*Result, error) {
	if err := o.Intervals.Check(); err != nil {
		return nil, err
	}
	warnings, err := checkProvenance(base, cand, o.AllowSettings)
	if err != nil {
		return nil, err
	}
	minDocs := cmp.Or(o.MinDocs, DefaultMinDocs)
	r := &Result{Samples: cmp.Or(o.Intervals.Samples, leaderboard.DefaultBootstrapSamples), Seed: o.Intervals.Seed,
		BaseProv: base.Prov, CandProv: cand.Prov, Warnings: warnings}
	ids := make([]string, 0, min(len(base.Docs), len(cand.Docs)))
	var differ []string
	for id, b := range base.Docs {
		c, ok := cand.Docs[id]
		if !ok {
			r.OnlyBase++
			continue
		}
		ids = append(ids, id)
		if b.DocHash != "" && c.DocHash != "" && b.DocHash != c.DocHash {
			differ = append(differ, id)
		}
	}
	r.Shared = len(ids)
	r.OnlyCand = len(cand.Docs) - r.Shared
	if len(differ) > 0 {
		slices.Sort(differ)
		id := differ[0]
		return nil, fmt.Errorf("%w: document %q differs between base and candidate (text sha256 %s vs %s); %d of %d shared documents differ, so the two sides were not run on the same dataset",
			ErrDifferentSources, id, base.Docs[id].DocHash, cand.Docs[id].DocHash, len(differ), r.Shared)
	}
	if r.Shared < minDocs {
		return nil, fmt.Errorf("%w: the two sides share %d documents (%d only in base, %d only in candidate); at least %d are required (--min-docs)",
			ErrTooFewDocs, r.Shared, r.OnlyBase, r.OnlyCand, minDocs)
	}
	slices.Sort(ids) // a stable order for the flip list's ties

	baseAgg, candAgg := leaderboard.NewAggregator(), leaderboard.NewAggregator()
	var hr, ar counts
	for _, id := range ids {
		b, c := base.Docs[id], cand.Docs[id]
		if err := baseAgg.Observe(observation(base.Model, id, b)); err != nil {
			return nil, err
		}
		if err := candAgg.Observe(observation(cand.Model, id, c)); err != nil {
			return nil, err
		}
		ar.add(b.Valid, c.Valid)
		if b.Scored && c.Scored {
			hr.add(b.Hallucinated(), c.Hallucinated())
			if !b.Hallucinated() && c.Hallucinated() {
				r.Flipped = append(r.Flipped, Flip{DocID: id, BaseScore: b.Score, CandScore: c.Score})
			}
		}
	}
	slices.SortStableFunc(r.Flipped, func(x, y Flip) int {
		return cmp.Compare(y.BaseScore-y.CandScore, x.BaseScore-x.CandScore)
	})
	r.Base, r.Cand = baseAgg.Stats()[0], candAgg.Stats()[0]
	rows := []leaderboard.ModelStats{r.Base, r.Cand}
	// Distinct streams per side, in case both sides carry the same model
	// name (a model compared with itself after a change).
	rows[0].Model, rows[1].Model = "base\x00"+r.Base.Model, "cand\x00"+r.Cand.Model
	if err := leaderboard.SetIntervals(rows, o.Intervals); err != nil {
		return nil, err
	}
	rows[0].Model, rows[1].Model = r.Base.Model, r.Cand.Model
	r.Base, r.Cand = rows[0], rows[1]
	r.Hallucination = hr.paired(stats.NewRand(r.Seed, "compare/hallucination"), r.Samples)
	r.Answer = ar.paired(stats.NewRand(r.Seed, "compare/answer"), r.Samples)
	return r, nil
}

// observation feeds an outcome to the aggregator that computes a side's
// rates, so that they are the leaderboard's computation exactly.
func observation(model, id string, o Outcome) leaderboard.Observation {
	ob := leaderboard.Observation{Model: model, DocID: id, Scored: o.Scored, Score: o.Score,
		Words: o.Words, LatencyMS: o.LatencyMS, HasUsage: o.HasUsage, TokensIn: o.TokensIn, TokensOut: o.TokensOut}
	if !o.Valid {
		ob.Invalid = leaderboard.InvalidUnstated
	}
	return ob
}

// counts is a paired 2×2 table of yes/no outcomes.
type counts struct{ n, baseYes, candYes, up, down int }

func (t *counts) add(base, cand bool) {
	t.n++
	if base {
		t.baseYes++
	}
	if cand {
		t.candYes++
	}
	switch {
	case cand && !base:
		t.up++
	case base && !cand:
		t.down++
	}
}

func (t counts) paired(r *rand.Rand, samples int) Paired {
	p := Paired{N: t.n, Up: t.up, Down: t.down, P: stats.McNemarExact(t.up, t.down)}
	nan := math.NaN()
	p.BaseRate, p.CandRate, p.Diff, p.DiffLow, p.DiffHigh = nan, nan, nan, nan, nan
	if t.n == 0 {
		return p
	}
	n := float64(t.n)
	p.BaseRate = float64(t.baseYes) / n * 100
	p.CandRate = float64(t.candYes) / n * 100
	p.Diff = float64(t.up-t.down) / n * 100
	lo, hi := stats.PairedBootstrap(r, t.n, t.up, t.down, samples, stats.Level95)
	p.DiffLow, p.DiffHigh = lo*100, hi*100
	return p
}
