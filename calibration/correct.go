package calibration

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/hallu-eval/hallu/stats"
)

// DefaultDraws is the number of posterior draws behind every corrected
// rate, interval and ranking probability. At 10,000 a 95% bound's Monte
// Carlo error is about a tenth of a percentage point for the rates a report
// shows, and a ranking probability's at most half a point.
const DefaultDraws = 10000

// MinYouden is the smallest lower 95% bound of sensitivity + specificity − 1
// (Youden's J) at which rates are corrected. The correction divides by J:
// near 0 the judge's verdicts carry almost no information about the true
// rate, the corrected interval spans nearly [0, 100], and a point estimate
// would only mislead. Below it the report says the judge is no better than
// chance on the labelled set.
const MinYouden = 0.05

// DecisiveP bounds an ordering's probability: a pair of models is ranked
// decisively when the probability that one's true rate is below the
// other's is at most DecisiveP or at least 1 − DecisiveP.
const DecisiveP = 0.05

// pinned is how close, in points, an interval's far bound must come to 0
// or 100 for the interval to count as pinned there (Rate.Clipped).
const pinned = 0.5

// Options tune Correct. Zero values take the defaults.
type Options struct {
	Draws int    // DefaultDraws when 0
	Seed  uint64 // the same seed gives the same draws, hence the same report
}

// Observed is one model's judged summaries: Hallucinated of Judged had a
// score below the threshold.
type Observed struct {
	Model        string
	Hallucinated int
	Judged       int
}

// Correction is a report's rates corrected for the judge's measured error.
// Rates are percentages.
type Correction struct {
	File *File
	Path string // where File was read from, for the report

	// Sensitivity and Specificity are the labelled set's point estimates;
	// their Low/High bounds are the 95% Jeffreys intervals. Youden is
	// sensitivity + specificity − 1, YoudenLow its lower 95% bound.
	Sensitivity, SensLow, SensHigh float64
	Specificity, SpecLow, SpecHigh float64
	Youden, YoudenLow              float64
	// Chance is set when YoudenLow <= MinYouden: the judge is no better
	// than chance on the labelled set, and no rate is corrected (Rates
	// then hold only the observed figures, Pairs is empty).
	Chance bool

	Draws int
	Seed  uint64

	Rates []Rate // in the order given
	Pairs []Pair // every pair of Rates with judged summaries, in that order
}

// Rate is one model's corrected hallucination rate.
type Rate struct {
	Model                string
	Hallucinated, Judged int
	Observed             float64 // Hallucinated / Judged × 100
	// Corrected is the Rogan–Gladen estimate from the point estimates of
	// the observed rate, sensitivity and specificity, clipped to [0, 100];
	// Low and High bound its 95% interval. NaN when the judge is no better
	// than chance or the model has no judged summary.
	Corrected, Low, High float64
	// Clipped is −1 when the whole interval is pinned at 0: the observed
	// rate is below the judge's false-positive rate on the labelled set
	// (1 − specificity) beyond sampling error; +1 when it is pinned at 100,
	// the observed rate above the judge's sensitivity. Either way the judge
	// behaved on these summaries unlike on the labelled pairs, which the
	// correction assumes it does not. 0 otherwise.
	Clipped int
}

// Pair is the ranking of two models under uncertainty.
type Pair struct {
	A, B string
	// PBelow is the posterior probability that A's true rate is below
	// B's (ties, as when both are clipped to 0, count one half).
	PBelow float64
	// Decisive is PBelow <= DecisiveP or >= 1 − DecisiveP.
	Decisive bool
}

// Correct corrects each model's observed rate for the judge's error that f
// measured.
//
// Each draw takes a sensitivity and a specificity from their posteriors
// given the labelled set's counts, and for each model an observed rate from
// its posterior given its judged summaries (Jeffreys priors throughout),
// and computes the Rogan–Gladen rate from the three; the 2.5th and 97.5th
// percentiles of a model's draws bound its interval. One draw of the judge
// is shared by every model, as the one judge's error is: the models'
// rates move together with it, so a ranking is not blurred by judge error
// that affects both sides alike. The draws are restricted to a judge better
// than chance (J > 0), the correction's premise, which the Chance check
// makes hold for all but a few per cent of unrestricted draws.
func Correct(f *File, path string, models []Observed, o Options) *Correction {
	draws := cmp.Or(o.Draws, DefaultDraws)
	c := &Correction{File: f, Path: path, Draws: draws, Seed: o.Seed}
	cf := f.Confusion
	c.Sensitivity, c.Specificity = cf.Sensitivity(), cf.Specificity()
	c.Youden = c.Sensitivity + c.Specificity - 1

	judge := stats.NewRand(o.Seed, "calibration/judge")
	sens, spec := make([]float64, draws), make([]float64, draws)
	youden := make([]float64, draws)
	for i := range draws {
		sens[i] = stats.JeffreysDraw(judge, cf.TP, cf.Positives())
		spec[i] = stats.JeffreysDraw(judge, cf.TN, cf.Negatives())
		youden[i] = sens[i] + spec[i] - 1
	}
	c.SensLow, c.SensHigh = stats.PercentileInterval(sortedCopy(sens), stats.Level95)
	c.SpecLow, c.SpecHigh = stats.PercentileInterval(sortedCopy(spec), stats.Level95)
	c.YoudenLow, _ = stats.PercentileInterval(sortedCopy(youden), stats.Level95)
	c.Chance = !(c.YoudenLow > MinYouden)

	if !c.Chance {
		for i := range draws {
			for youden[i] <= 0 {
				sens[i] = stats.JeffreysDraw(judge, cf.TP, cf.Positives())
				spec[i] = stats.JeffreysDraw(judge, cf.TN, cf.Negatives())
				youden[i] = sens[i] + spec[i] - 1
			}
		}
	}

	rates := make([][]float64, len(models)) // each model's draws, in draw order
	for i, m := range models {
		r := Rate{Model: m.Model, Hallucinated: m.Hallucinated, Judged: m.Judged,
			Observed: math.NaN(), Corrected: math.NaN(), Low: math.NaN(), High: math.NaN()}
		if m.Judged > 0 {
			r.Observed = float64(m.Hallucinated) / float64(m.Judged) * 100
		}
		if m.Judged > 0 && !c.Chance {
			r.Corrected = stats.RoganGladen(r.Observed/100, c.Sensitivity, c.Specificity) * 100
			rates[i] = modelDraws(stats.NewRand(o.Seed, "calibration/rate/"+m.Model), m, sens, spec)
			r.Low, r.High = stats.PercentileInterval(sortedCopy(rates[i]), stats.Level95)
			r.Low, r.High = r.Low*100, r.High*100
			switch {
			case r.High < pinned:
				r.Clipped = -1
			case r.Low > 100-pinned:
				r.Clipped = 1
			}
		}
		c.Rates = append(c.Rates, r)
	}
	for i := range models {
		for j := i + 1; j < len(models); j++ {
			if rates[i] == nil || rates[j] == nil {
				continue
			}
			p := pBelow(rates[i], rates[j])
			c.Pairs = append(c.Pairs, Pair{A: models[i].Model, B: models[j].Model, PBelow: p,
				Decisive: p <= DecisiveP || p >= 1-DecisiveP})
		}
	}
	return c
}

// modelDraws is a model's corrected rate in each of the judge's draws.
func modelDraws(r *rand.Rand, m Observed, sens, spec []float64) []float64 {
	out := make([]float64, len(sens))
	for i := range out {
		obs := stats.JeffreysDraw(r, m.Hallucinated, m.Judged)
		out[i] = stats.RoganGladen(obs, sens[i], spec[i])
	}
	return out
}

// pBelow is the share of draws in which a is below b, ties counting half.
func pBelow(a, b []float64) float64 {
	var n float64
	for i := range a {
		switch {
		case a[i] < b[i]:
			n++
		case a[i] == b[i]:
			n += 0.5
		}
	}
	return n / float64(len(a))
}

func sortedCopy(s []float64) []float64 {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Pair returns the ranking of models a and b, with PBelow the probability
// that a's rate is below b's whichever order Pairs holds them in; false
// when either has no corrected rate.
func (c *Correction) Pair(a, b string) (Pair, bool) {
	for _, p := range c.Pairs {
		switch {
		case p.A == a && p.B == b:
			return p, true
		case p.A == b && p.B == a:
			return Pair{A: a, B: b, PBelow: 1 - p.PBelow, Decisive: p.Decisive}, true
		}
	}
	return Pair{}, false
}
