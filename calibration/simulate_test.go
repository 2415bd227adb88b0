package calibration

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hallu-eval/hallu/scorers"
	"github.com/hallu-eval/hallu/stats"
)

// scenario is a simulated evaluation: documents whose summaries are truly
// hallucinated at rate p, judged by a scorer with known sensitivity and
// specificity, which a labelled set of pos hallucinated and neg consistent
// pairs measures.
type scenario struct {
	p, sens, spec float64
	docs          int
	pos, neg      int
}

// simulate runs the scenario runs times and returns how often the corrected
// 95% interval and the uncorrected Wilson interval cover p.
func simulate(sc scenario, runs, draws int, seed uint64) (corrected, wilson float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	var hitC, hitW int
	for run := range runs {
		// The labelled set: each pair judged once by the synthetic scorer.
		var cf Confusion
		for range sc.pos {
			if r.Float64() < sc.sens {
				cf.TP++
			} else {
				cf.FN++
			}
		}
		for range sc.neg {
			if r.Float64() < sc.spec {
				cf.TN++
			} else {
				cf.FP++
			}
		}
		// The documents: each truly hallucinated with probability p, then
		// judged by the same scorer.
		flagged := 0
		for range sc.docs {
			truth := r.Float64() < sc.p
			if truth && r.Float64() < sc.sens || !truth && r.Float64() >= sc.spec {
				flagged++
			}
		}
		f := New(scorers.Identity{Name: "synthetic"}, 0.5, cf, 0, Labels{Path: "synthetic", Count: sc.pos + sc.neg})
		c := Correct(f, "synthetic", []Observed{{Model: "m", Hallucinated: flagged, Judged: sc.docs}}, Options{Draws: draws, Seed: uint64(run)})
		if c.Chance {
			continue // counts as a miss: no interval given
		}
		truth := sc.p * 100
		if rt := c.Rates[0]; rt.Low <= truth && truth <= rt.High {
			hitC++
		}
		lo, hi := stats.Wilson(flagged, sc.docs, stats.Z95)
		if lo <= sc.p && sc.p <= hi {
			hitW++
		}
	}
	return float64(hitC) / float64(runs), float64(hitW) / float64(runs)
}

// TestCoverage checks by simulation that the corrected interval has its
// nominal 95% coverage of the true rate, where the uncorrected Wilson
// interval, which ignores the judge's error, does not.
func TestCoverage(t *testing.T) {
	const runs = 1000
	scenarios := []scenario{
		{p: 0.20, sens: 0.80, spec: 0.90, docs: 500, pos: 150, neg: 150},
		{p: 0.10, sens: 0.70, spec: 0.95, docs: 800, pos: 100, neg: 200},
	}
	if raceEnabled || testing.Short() {
		scenarios = scenarios[:1]
	}
	for _, sc := range scenarios {
		t.Run(fmt.Sprintf("p=%v sens=%v spec=%v", sc.p, sc.sens, sc.spec), func(t *testing.T) {
			corrected, wilson := simulate(sc, runs, 1000, 42)
			t.Logf("%d runs: corrected 95%% interval covers the true rate %.1f%% of the time, uncorrected Wilson %.1f%%", runs, corrected*100, wilson*100)
			if corrected < 0.93 || corrected > 0.97 {
				t.Errorf("corrected coverage %.3f, want 0.93–0.97", corrected)
			}
			if wilson >= 0.80 {
				t.Errorf("Wilson coverage %.3f, want clearly below nominal (< 0.80)", wilson)
			}
		})
	}
}
