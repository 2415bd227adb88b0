// Package stats holds the few statistics hallu's reports need: McNemar's
// exact test, a binomial sampler and percentile bootstrap intervals for a
// proportion and for a paired difference of proportions.
//
// Everything works on counts. Resampling n documents with replacement and
// counting how many of them fall in each outcome class draws the counts from
// a multinomial distribution, so a bootstrap draw is a few binomial draws
// instead of n document draws: the same distribution, at a cost that grows
// with √n rather than n, and nothing per document has to be kept.
package stats

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
)

// Level95 is the confidence level of every interval hallu prints.
const Level95 = 0.95

// NewRand returns a generator whose draws depend only on seed and stream. A
// stream per quantity (say, "hr/model-a") keeps each interval's draws
// independent of the order in which intervals are computed and of how many
// other models a report holds, so one model's interval does not move when
// another model is added.
func NewRand(seed uint64, stream string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(stream))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// McNemarExact is the two-sided p-value of McNemar's exact test for a paired
// 2×2 table with b and c discordant pairs: the binomial test of b successes
// in b+c trials at p = ½, doubling the smaller tail and capping at 1 (for
// p = ½ this equals summing every outcome no likelier than the observed one,
// as scipy.stats.binomtest does). No discordant pair gives 1.
func McNemarExact(b, c int) float64 {
	n := b + c
	k := min(b, c)
	if n == 0 || 2*k == n {
		return 1
	}
	// P(X <= k) summed from its largest term, k, down: the terms shrink, so
	// the sum can stop once they no longer change it.
	t := math.Exp(logChoose(n, k) - float64(n)*math.Ln2)
	sum := t
	for j := k; j > 0 && t > sum*1e-17; j-- {
		t *= float64(j) / float64(n-j+1)
		sum += t
	}
	return min(1, 2*sum)
}

func logChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// Binomial draws from the binomial distribution of n trials with success
// probability p. It inverts the distribution function by walking outwards
// from the mode, alternately up and down, subtracting each outcome's
// probability from a uniform draw (Kemp's chop-down search): every outcome is
// visited in a fixed order, so each is returned with exactly its probability,
// and the walk takes O(√(np(1−p))) steps, whatever n.
func Binomial(r *rand.Rand, n int, p float64) int {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	case p > 0.5:
		// Walking the smaller success probability keeps the ratios below
		// from growing large.
		return n - Binomial(r, n, 1-p)
	}
	m := min(int(float64(n+1)*p), n)
	pm := math.Exp(logChoose(n, m) + float64(m)*math.Log(p) + float64(n-m)*math.Log1p(-p))
	u := r.Float64() - pm
	if u < 0 {
		return m
	}
	odds := p / (1 - p)
	lo, hi := m, m
	plo, phi := pm, pm
	for {
		if hi < n {
			phi *= float64(n-hi) / float64(hi+1) * odds
			hi++
			if u -= phi; u < 0 {
				return hi
			}
		}
		if lo > 0 {
			plo *= float64(lo) / float64(n-lo+1) / odds
			lo--
			if u -= plo; u < 0 {
				return lo
			}
		}
		// Rounding can leave a sliver of u once the tails vanish; the
		// mode is the fairest answer for that 1e-15 chance.
		if (hi == n || phi == 0) && (lo == 0 || plo == 0) {
			return m
		}
	}
}

// Percentile is the q-quantile (0 ≤ q ≤ 1) of sorted values, interpolating
// linearly between the closest ranks (numpy's default, "type 7"). NaN for no
// values.
func Percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i] + f*(sorted[i+1]-sorted[i])
}

// PercentileInterval is the central interval at level (0.95 for 95%) of
// sorted draws.
func PercentileInterval(sorted []float64, level float64) (lo, hi float64) {
	tail := (1 - level) / 2
	return Percentile(sorted, tail), Percentile(sorted, 1-tail)
}

// ProportionDraws returns samples bootstrap replicates of the proportion k/n,
// sorted: each is the share of successes in n documents drawn with
// replacement from n of which k succeeded. Nil when n is 0.
func ProportionDraws(r *rand.Rand, k, n, samples int) []float64 {
	if n <= 0 || samples <= 0 {
		return nil
	}
	p := float64(k) / float64(n)
	out := make([]float64, samples)
	for i := range out {
		out[i] = float64(Binomial(r, n, p)) / float64(n)
	}
	slices.Sort(out)
	return out
}

// BootstrapProportion is the percentile bootstrap interval at level for the
// proportion k/n, as proportions in [0,1]; NaN, NaN when n is 0. At k = 0 or
// k = n every replicate equals the estimate and the interval is a point:
// the percentile bootstrap cannot see variation the sample does not show.
func BootstrapProportion(r *rand.Rand, k, n, samples int, level float64) (lo, hi float64) {
	d := ProportionDraws(r, k, n, samples)
	if d == nil {
		return math.NaN(), math.NaN()
	}
	return PercentileInterval(d, level)
}

// PairedDiffDraws returns samples bootstrap replicates of (up − down)/n,
// sorted: the change in a proportion between two paired measurements of the
// same n documents, of which up moved from "no" to "yes" and down from
// "yes" to "no". Resampling the n documents draws the up count from
// Binomial(n, up/n) and then the down count from the remaining documents,
// Binomial(n − up*, down/(n − up)): the multinomial split, so pairs are
// resampled together and the concordant documents count in the denominator.
// Nil when n is 0.
func PairedDiffDraws(r *rand.Rand, n, up, down, samples int) []float64 {
	if n <= 0 || samples <= 0 {
		return nil
	}
	pu := float64(up) / float64(n)
	pd := 0.0
	if up < n {
		pd = float64(down) / float64(n-up)
	}
	out := make([]float64, samples)
	for i := range out {
		u := Binomial(r, n, pu)
		d := Binomial(r, n-u, pd)
		out[i] = float64(u-d) / float64(n)
	}
	slices.Sort(out)
	return out
}

// PairedBootstrap is the percentile bootstrap interval at level for the
// paired difference (up − down)/n (see PairedDiffDraws); NaN, NaN when n is
// 0.
func PairedBootstrap(r *rand.Rand, n, up, down, samples int, level float64) (lo, hi float64) {
	d := PairedDiffDraws(r, n, up, down, samples)
	if d == nil {
		return math.NaN(), math.NaN()
	}
	return PercentileInterval(d, level)
}
