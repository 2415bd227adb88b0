package agree

import (
	"fmt"
	"math"

	"github.com/hallu-eval/hallu/stats"
)

// DefaultSamples is the number of bootstrap resamples behind each kappa's
// interval, as for the report's bootstrap intervals.
const DefaultSamples = 2000

// Options tune Measure.
type Options struct {
	Samples int    // bootstrap resamples; DefaultSamples when 0
	Seed    uint64 // bootstrap seed: the same seed gives the same intervals
}

// Result is the agreement of two or more judges on the same documents.
type Result struct {
	Judges []Judge
	N      int // documents every judge scored
	// Partial counts documents some judges scored and others did not.
	Partial int

	// Agreed is the number of documents on which every judge gave the same
	// verdict; AgreedPct its share in percent with a 95% Wilson interval.
	Agreed   int
	AgreePct Interval

	// Kappa is Cohen's kappa for two judges, Fleiss' for more (KappaKind
	// says which), with a 95% percentile bootstrap interval over documents.
	KappaKind string // "cohen" or "fleiss"
	Kappa     Interval

	// Votes[j] is the number of documents that j judges called
	// hallucinated (j = 0 … len(Judges)).
	Votes []int

	// Pairs is every pair of judges (one pair for two judges), with its
	// confusion matrix and Cohen's kappa.
	Pairs []Pair

	// Disagreements are the documents not every judge gave the same
	// verdict, in model and document order.
	Disagreements []Doc

	Samples int
	Seed    uint64
}

// Pair is two judges' agreement.
type Pair struct {
	A, B     int // indexes into Judges
	Table    Table
	AgreePct Interval // percent, Wilson
	Kappa    Interval // Cohen's, bootstrap
}

// Measure computes the agreement of set's judges on its documents.
//
// The kappa intervals are percentile bootstrap intervals over documents
// (Samples resamples, drawn from a fixed seed, one stream per statistic
// so adding a judge does not move another pair's interval). The bootstrap
// serves Cohen's and Fleiss' kappa alike: Fleiss' published variance (1971)
// holds only when kappa is 0, for testing that, not for an interval around
// another value; for two judges the bootstrap agrees with the large-sample
// variance of Fleiss, Cohen and Everitt (1969) (see CohenSE and its test).
// An interval is left out (NaN) where kappa is undefined in over a tenth of
// the resamples: judges that almost never see a hallucination.
func Measure(set *Set, opt Options) *Result {
	if opt.Samples == 0 {
		opt.Samples = DefaultSamples
	}
	k := len(set.Judges)
	res := &Result{Judges: set.Judges, N: len(set.Docs), Partial: set.Partial, Votes: make([]int, k+1),
		Samples: opt.Samples, Seed: opt.Seed}
	for _, d := range set.Docs {
		h := 0
		for i := range k {
			if d.Hallucinated(i) {
				h++
			}
		}
		res.Votes[h]++
		if h == 0 || h == k {
			res.Agreed++
		} else {
			res.Disagreements = append(res.Disagreements, d)
		}
	}
	res.AgreePct = wilsonPct(res.Agreed, res.N)
	for a := range k {
		for b := a + 1; b < k; b++ {
			var t Table
			for _, d := range set.Docs {
				switch ha, hb := d.Hallucinated(a), d.Hallucinated(b); {
				case !ha && !hb:
					t.CC++
				case !ha && hb:
					t.CH++
				case ha && !hb:
					t.HC++
				default:
					t.HH++
				}
			}
			r := stats.NewRand(opt.Seed, fmt.Sprintf("agree/cohen/%s/%s", set.Judges[a].Identity.Key(), set.Judges[b].Identity.Key()))
			res.Pairs = append(res.Pairs, Pair{A: a, B: b, Table: t, AgreePct: wilsonPct(t.Agreed(), t.N()),
				Kappa: CohenInterval(r, t, opt.Samples)})
		}
	}
	if k == 2 {
		res.KappaKind, res.Kappa = "cohen", res.Pairs[0].Kappa
	} else {
		res.KappaKind = "fleiss"
		res.Kappa = FleissInterval(stats.NewRand(opt.Seed, "agree/fleiss"), res.Votes, opt.Samples)
	}
	return res
}

func wilsonPct(k, n int) Interval {
	if n == 0 {
		return Interval{math.NaN(), math.NaN(), math.NaN()}
	}
	lo, hi := stats.Wilson(k, n, stats.Z95)
	return Interval{Est: 100 * float64(k) / float64(n), Lo: 100 * lo, Hi: 100 * hi}
}
