package leaderboard

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
	"github.com/hallu-eval/hallu/stats"
)

// Observation is what the aggregator needs from one record: a few numbers
// instead of the source and summary text, so a million records fit in memory
// as they stream past. FromRecord derives it from a results.Record, FromBrief
// from a results.Brief; the Vectara reader fills it from the leaderboard's
// own files. Its strings may alias a decoder's buffer: Observe copies what
// it keeps.
type Observation struct {
	Model string
	DocID string

	// Invalid is "" for a summary that counts, otherwise why not
	// (InvalidError, InvalidEmpty, ...); Words is its word count.
	Invalid string
	Words   int
	// GenErrorClass is the generation error's class when Invalid is
	// InvalidError.
	GenErrorClass string

	// Scored is true when Score holds a scorer's verdict; ScorerError when the
	// scorer failed on this record.
	Scored      bool
	Score       float64
	ScorerError bool
	// Repeated is true when the score is the majority of repeated
	// verdicts (a judge's repeat=k); Flipped when those disagreed.
	Repeated, Flipped bool

	LatencyMS, TTFTMS float64 // 0 when not measured
	HasUsage          bool
	TokensIn          int
	TokensOut         int

	// Origin is what the record says about how it was made (scorer,
	// prompt, settings, truncation), collected into Provenance.
	Origin Origin
}

// FromRecord reduces a record to what the report needs.
func FromRecord(rec *results.Record) Observation {
	b := results.BriefOf(rec)
	return FromBrief(&b)
}

// FromBrief reduces a record's brief to what the report needs. The
// observation's strings are the brief's.
func FromBrief(rec *results.Brief) Observation {
	o := Observation{
		// The server's own name when known: Ollama's "tiny" and
		// "tiny:latest" are one model and one row.
		Model:     cmp.Or(rec.ModelCanonical, rec.Model),
		DocID:     rec.DocID,
		Invalid:   invalidReason(rec.Error, rec.Summary),
		LatencyMS: rec.LatencyMS,
		TTFTMS:    rec.TTFTMS,
	}
	if o.Invalid == InvalidError {
		o.GenErrorClass = rec.Error.Class
	} else {
		o.Words = WordCount(rec.Summary)
	}
	if rec.Error != nil && rec.Error.Class == errclass.Scorer {
		o.ScorerError = true
	}
	if j := rec.Judgment; j != nil {
		if j.Error != nil {
			o.ScorerError = true
		} else if j.Score != nil {
			o.Scored, o.Score = true, *j.Score
			o.Repeated, o.Flipped = j.Repeats > 1, j.Flipped
		}
	}
	if rec.Usage != nil {
		o.HasUsage = true
		o.TokensIn, o.TokensOut = rec.Usage.PromptTokens, rec.Usage.CompletionTokens
	}
	o.Origin = Origin{PromptHash: rec.PromptHash, Endpoint: rec.Endpoint, Params: rec.Params,
		ServedModel: rec.ServedModel, SystemFingerprint: rec.SystemFingerprint,
		DocDigest:       docDigest(rec.DocID, rec.DocHash),
		OutputTruncated: rec.OutputTruncated, InputTruncated: rec.InputTruncated, LatencyQueued: rec.LatencyQueued}
	if j := rec.Judgment; j != nil {
		o.Origin.Scorer = scorers.Identity{Name: j.Scorer, Version: j.Version, Options: j.Options, Weights: j.Weights}
		o.Origin.ScorerKey, o.Origin.FallbackFor = j.ScorerKey, j.FallbackFor
	}
	return o
}

// Aggregator turns a stream of records into per-model statistics. Each model
// is rated over all its own documents; models are not intersected on a
// common document set, as on the leaderboard.
//
// A (model, document) pair may appear once: a second record for it is an
// error (ErrDuplicate), not a silent replacement, because the usual cause is
// reporting the same stage twice or two stages of one run together, and
// either choice of winner would quietly change the rates. Only a 128-bit hash
// of each key is kept, not the key itself.
type Aggregator struct {
	models map[string]*accum
	seen   map[[2]uint64]struct{}
	seeds  [2]maphash.Seed
	// keep and kept serve CommonStats (see KeepForCommon).
	keep bool
	kept []keptObs
}

// ErrDuplicate is returned by Add and Observe for a second record of the same
// model and document.
var ErrDuplicate = fmt.Errorf("duplicate record")

type accum struct {
	name                                        string
	docs, valid, judged, consistent, scorerErrs int
	genErrs                                     map[string]int
	invalid                                     map[string]int
	words                                       int64
	usageDocs                                   int
	repeated, flipped                           int
	tokIn, tokOut                               int64
	// float32 keeps a million latencies in 4 MB; a millisecond figure needs
	// no more precision.
	latency, ttft []float32
	prov          *provAccum
}

// NewAggregator returns an empty aggregator.
func NewAggregator() *Aggregator {
	return &Aggregator{
		models: map[string]*accum{},
		seen:   map[[2]uint64]struct{}{},
		seeds:  [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
	}
}

// Add counts one record.
func (a *Aggregator) Add(rec *results.Record) error { return a.Observe(FromRecord(rec)) }

// Observe counts one observation. It keeps copies of the strings it needs,
// never o's own.
func (a *Aggregator) Observe(o Observation) error {
	k := results.Key(o.Model, o.DocID)
	h := [2]uint64{maphash.String(a.seeds[0], k), maphash.String(a.seeds[1], k)}
	if _, dup := a.seen[h]; dup {
		return fmt.Errorf("%w: model %q document %q was already read (report one stage's output per run: judgments supersede generations)", ErrDuplicate, o.Model, o.DocID)
	}
	a.seen[h] = struct{}{}

	m := a.models[o.Model]
	if m == nil {
		// o's strings may alias a decoder's buffer: keep copies.
		name := strings.Clone(o.Model)
		m = &accum{name: name, genErrs: map[string]int{}, invalid: map[string]int{}, prov: newProvAccum()}
		a.models[name] = m
	}
	if err := m.prov.add(m.name, &o.Origin); err != nil {
		return err
	}
	if a.keep {
		a.keepObservation(m.name, o)
	}
	m.docs++
	if o.ScorerError {
		m.scorerErrs++
	}
	if o.HasUsage {
		m.usageDocs++
		m.tokIn += int64(o.TokensIn)
		m.tokOut += int64(o.TokensOut)
	}
	if o.Invalid == InvalidError {
		cls := cmp.Or(o.GenErrorClass, errclass.Other)
		if _, ok := m.genErrs[cls]; !ok {
			cls = strings.Clone(cls)
		}
		m.genErrs[cls]++
		m.invalid[o.Invalid]++
		return nil
	}
	// Latency of failed requests (timeouts, retries) says nothing about the
	// model's speed, so only answered requests are timed.
	if o.LatencyMS > 0 {
		m.latency = append(m.latency, float32(o.LatencyMS))
	}
	if o.TTFTMS > 0 {
		m.ttft = append(m.ttft, float32(o.TTFTMS))
	}
	if o.Invalid != "" {
		m.invalid[o.Invalid]++
		return nil
	}
	m.valid++
	m.words += int64(o.Words)
	if o.Scored && !o.ScorerError {
		m.judged++
		if o.Score >= results.ConsistentThreshold {
			m.consistent++
		}
		if o.Repeated {
			m.repeated++
			if o.Flipped {
				m.flipped++
			}
		}
	}
	return nil
}

// ModelStats is one model's row of the report. Rates are percentages, not
// rounded (see Leaderboard); a rate without a denominator is NaN.
type ModelStats struct {
	Model string

	Documents int // every record of the model
	Valid     int // summaries that count (see Valid)
	// Invalid counts the rest by reason (InvalidError, InvalidEmpty, ...).
	Invalid map[string]int
	// GenerationErrors counts failed generations by error class.
	GenerationErrors map[string]int

	Judged       int // valid summaries with a score
	Unjudged     int // valid summaries without one (not scored yet, or the scorer failed)
	ScorerErrors int // records on which the scorer failed
	Consistent   int // judged with score >= results.ConsistentThreshold
	Hallucinated int // judged with score < results.ConsistentThreshold
	// Repeated counts judged summaries whose verdict is the majority of
	// repeated verdicts (a judge's repeat=k), Flipped those of them whose
	// verdicts disagreed: Flipped/Repeated is the judge's flip rate.
	Repeated, Flipped int

	AnswerRate             float64 // Valid / Documents × 100
	FactualConsistencyRate float64 // Consistent / Judged × 100
	HallucinationRate      float64 // 100 − FactualConsistencyRate, computed as the leaderboard does
	// HRLow and HRHigh bound HallucinationRate: by default the 95% Wilson
	// score interval over the judged summaries (see SetIntervals for the
	// bootstrap). FCRLow and FCRHigh bound FactualConsistencyRate (the same
	// interval mirrored), ARLow and ARHigh AnswerRate (over all documents).
	// All are percentages; NaN where the rate is.
	HRLow, HRHigh   float64
	FCRLow, FCRHigh float64
	ARLow, ARHigh   float64
	// CI names the intervals' method: IntervalWilson or IntervalBootstrap.
	CI              string
	AvgSummaryWords float64 // mean words of valid summaries

	// Common is true in rows from CommonStats, where CommonDocs is the
	// number of documents every model answered validly, over which the
	// judged rates were computed.
	Common     bool
	CommonDocs int

	LatencyN     int // answered requests with a latency
	LatencyP50MS float64
	LatencyP95MS float64
	TTFTP50MS    float64 // streaming only

	UsageDocs     int // records that reported token usage
	TokensIn      int64
	TokensOut     int64
	TokensInMean  float64 // per record that reported usage
	TokensOutMean float64

	// OutputTruncated counts summaries cut at the token limit,
	// InputTruncated documents the server cut to its context (see
	// results.Record).
	OutputTruncated int
	InputTruncated  int
	// LatencyQueued counts records whose latency includes time queued for
	// a server slot (the run's concurrency exceeded the server's slots).
	LatencyQueued int
	// Provenance is what the records say about how they were made.
	Provenance Provenance
}

// Stats returns every model's statistics, best (lowest hallucination rate)
// first; see SortStats.
func (a *Aggregator) Stats() []ModelStats {
	out := make([]ModelStats, 0, len(a.models))
	for name, m := range a.models {
		out = append(out, m.stats(name))
	}
	SortStats(out)
	return out
}

func (m *accum) stats(name string) ModelStats {
	s := ModelStats{
		Model:            name,
		Documents:        m.docs,
		Valid:            m.valid,
		Invalid:          m.invalid,
		GenerationErrors: m.genErrs,
		Judged:           m.judged,
		Unjudged:         m.valid - m.judged,
		ScorerErrors:     m.scorerErrs,
		Consistent:       m.consistent,
		Hallucinated:     m.judged - m.consistent,
		Repeated:         m.repeated,
		Flipped:          m.flipped,
		UsageDocs:        m.usageDocs,
		TokensIn:         m.tokIn,
		TokensOut:        m.tokOut,
		LatencyN:         len(m.latency),
	}
	if m.prov != nil {
		s.Provenance = m.prov.provenance()
		s.OutputTruncated, s.InputTruncated = m.prov.outputTruncated, m.prov.inputTruncated
		s.LatencyQueued = m.prov.latencyQueued
	}
	nan := math.NaN()
	// The operations mirror the leaderboard's Python (src/analytics.py) step
	// by step, so that rounding the results gives the same digits:
	//   fcr = consistent/valid; hr = 1.0 - fcr; round(hr*100.0, 1)
	//   answer_rate = is_valid.mean(); round(ar*100.0, 1)
	//   avg_word_count = word_count[valid].mean(); round(awc, 1)
	// float64() conversions keep the compiler from fusing operations.
	s.AnswerRate = ratio(m.valid, m.docs) * 100.0
	s.AvgSummaryWords = nan
	if m.valid > 0 {
		s.AvgSummaryWords = float64(m.words) / float64(m.valid)
	}
	s.FactualConsistencyRate, s.HallucinationRate = nan, nan
	if m.judged > 0 {
		fcr := float64(m.consistent) / float64(m.judged)
		s.FactualConsistencyRate = float64(fcr * 100.0)
		s.HallucinationRate = float64(1.0-fcr) * 100.0
	}
	s.CI = IntervalWilson
	hrLo, hrHi := stats.Wilson(s.Hallucinated, m.judged, stats.Z95)
	arLo, arHi := stats.Wilson(m.valid, m.docs, stats.Z95)
	s.setIntervals(hrLo, hrHi, arLo, arHi)
	s.LatencyP50MS, s.LatencyP95MS = quantiles(m.latency, 0.50, 0.95)
	s.TTFTP50MS, _ = quantiles(m.ttft, 0.50, 0.50)
	s.TokensInMean, s.TokensOutMean = nan, nan
	if m.usageDocs > 0 {
		s.TokensInMean = float64(m.tokIn) / float64(m.usageDocs)
		s.TokensOutMean = float64(m.tokOut) / float64(m.usageDocs)
	}
	return s
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// quantiles sorts xs in place and returns two quantiles, interpolating
// linearly between the closest ranks (numpy's default), or NaN for none.
func quantiles(xs []float32, p, q float64) (float64, float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(xs)
	at := func(p float64) float64 {
		pos := p * float64(len(xs)-1)
		i := int(pos)
		if i >= len(xs)-1 {
			return float64(xs[len(xs)-1])
		}
		f := pos - float64(i)
		return float64(xs[i]) + f*(float64(xs[i+1])-float64(xs[i]))
	}
	return at(p), at(q)
}

// Leaderboard returns the four published figures rounded as the leaderboard
// rounds them: the hallucination rate rounded to one decimal, the factual
// consistency rate as 100 minus that rounded rate (so the two always add up
// to 100, which rounding each separately would not guarantee), and answer
// rate and average length rounded to one decimal. NaN stays NaN.
func (s ModelStats) Leaderboard() (hr, fcr, ar, words float64) {
	hr = Round1(s.HallucinationRate)
	return hr, Round1(100 - hr), Round1(s.AnswerRate), Round1(s.AvgSummaryWords)
}

// SortStats orders rows by leaderboard-rounded hallucination rate, lowest
// first, ties by model name; models with no judged summary go last.
func SortStats(rows []ModelStats) {
	slices.SortFunc(rows, func(a, b ModelStats) int {
		ha, hb := Round1(a.HallucinationRate), Round1(b.HallucinationRate)
		an, bn := math.IsNaN(ha), math.IsNaN(hb)
		switch {
		case an && !bn:
			return 1
		case bn && !an:
			return -1
		case !an && ha != hb:
			return cmp.Compare(ha, hb)
		}
		return cmp.Compare(a.Model, b.Model)
	})
}
