package stats

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtures are reference values written by compare/testdata/make_fixtures.py
// with scipy (binomtest, binom.pmf).
type fixtures struct {
	McNemar []struct {
		B, C int
		P    float64
	} `json:"mcnemar"`
	BinomialPMF []struct {
		N   int
		P   float64
		PMF []float64
	} `json:"binomial_pmf"`
}

func loadFixtures(t *testing.T) fixtures {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "compare", "testdata", "fixtures.json"))
	require.NoError(t, err)
	var f fixtures
	require.NoError(t, json.Unmarshal(b, &f))
	require.NotEmpty(t, f.McNemar)
	return f
}

func TestMcNemarExactMatchesScipy(t *testing.T) {
	for _, c := range loadFixtures(t).McNemar {
		got := McNemarExact(c.B, c.C)
		assert.InDelta(t, c.P, got, 1e-9*c.P+1e-300, "b=%d c=%d", c.B, c.C)
		assert.Equal(t, got, McNemarExact(c.C, c.B), "symmetric in b and c")
	}
	assert.Equal(t, 1.0, McNemarExact(0, 0), "no discordant pair")
	assert.Equal(t, 1.0, McNemarExact(7, 7))
	// Five flips all one way can never be significant at 0.05; six can.
	assert.Greater(t, McNemarExact(5, 0), 0.05)
	assert.Less(t, McNemarExact(6, 0), 0.05)
	// Far tails underflow to 0 rather than becoming NaN.
	assert.Equal(t, 0.0, McNemarExact(0, 5000))
}

// chiSquare compares observed counts with n·pmf, pooling outcomes whose
// expected count is below 5 into their neighbour.
func chiSquare(counts []int, pmf []float64, n int) (stat float64, df int) {
	var obs, exp float64
	for i := range pmf {
		obs += float64(counts[i])
		exp += pmf[i] * float64(n)
		if exp >= 5 || i == len(pmf)-1 {
			stat += (obs - exp) * (obs - exp) / exp
			df++
			obs, exp = 0, 0
		}
	}
	return stat, df - 1
}

func TestBinomialMatchesScipyPMF(t *testing.T) {
	r := NewRand(1, "binomial")
	for _, c := range loadFixtures(t).BinomialPMF {
		const draws = 100000
		counts := make([]int, c.N+1)
		for range draws {
			k := Binomial(r, c.N, c.P)
			require.True(t, k >= 0 && k <= c.N, "draw %d outside [0,%d]", k, c.N)
			counts[k]++
		}
		stat, df := chiSquare(counts, c.PMF, draws)
		// The 99.9th percentile of chi-square with df degrees of freedom is
		// below df + 4.5·sqrt(2df) + 10 for these df; a wrong sampler
		// (an off-by-one, a lopsided walk) gives thousands.
		assert.Less(t, stat, float64(df)+4.5*math.Sqrt(2*float64(df))+10, "n=%d p=%v chi2=%.1f df=%d", c.N, c.P, stat, df)
	}
}

func TestBinomialLargeN(t *testing.T) {
	r := NewRand(2, "large")
	const n, p, draws = 1_000_000, 0.9, 4000
	var sum, sumSq float64
	for range draws {
		k := float64(Binomial(r, n, p))
		sum += k
		sumSq += k * k
	}
	mean := sum / draws
	sd := math.Sqrt(sumSq/draws - mean*mean)
	wantSD := math.Sqrt(n * p * (1 - p))
	assert.InDelta(t, n*p, mean, 4*wantSD/math.Sqrt(draws))
	assert.InDelta(t, wantSD, sd, 0.1*wantSD)

	assert.Equal(t, 0, Binomial(r, 10, 0))
	assert.Equal(t, 10, Binomial(r, 10, 1))
	assert.Equal(t, 0, Binomial(r, 0, 0.5))
}

func TestPercentileIsNumpys(t *testing.T) {
	xs := []float64{1, 2, 3, 4}
	// numpy.percentile([1,2,3,4], [0, 25, 50, 97.5, 100])
	assert.InDelta(t, 1.0, Percentile(xs, 0), 1e-12)
	assert.InDelta(t, 1.75, Percentile(xs, 0.25), 1e-12)
	assert.InDelta(t, 2.5, Percentile(xs, 0.5), 1e-12)
	assert.InDelta(t, 3.925, Percentile(xs, 0.975), 1e-12)
	assert.InDelta(t, 4.0, Percentile(xs, 1), 1e-12)
	assert.True(t, math.IsNaN(Percentile(nil, 0.5)))
}

func TestProportionBootstrap(t *testing.T) {
	const samples = 2000
	a := ProportionDraws(NewRand(7, "x"), 30, 100, samples)
	b := ProportionDraws(NewRand(7, "x"), 30, 100, samples)
	assert.Equal(t, a, b, "same seed and stream, same draws")
	assert.NotEqual(t, a, ProportionDraws(NewRand(8, "x"), 30, 100, samples), "another seed")
	assert.NotEqual(t, a, ProportionDraws(NewRand(7, "y"), 30, 100, samples), "another stream")
	require.True(t, slices.IsSorted(a))

	lo, hi := BootstrapProportion(NewRand(7, "x"), 30, 100, samples, Level95)
	// The interval is the 2.5th and 97.5th percentile of those very draws,
	// computed here by hand: rank (samples−1)·q, interpolated.
	pos := 0.025 * (samples - 1)
	i := int(pos)
	assert.InDelta(t, a[i]+(pos-float64(i))*(a[i+1]-a[i]), lo, 1e-15)
	pos = 0.975 * (samples - 1)
	i = int(pos)
	assert.InDelta(t, a[i]+(pos-float64(i))*(a[i+1]-a[i]), hi, 1e-15)
	assert.True(t, lo <= 0.3 && 0.3 <= hi, "[%v, %v] holds the estimate", lo, hi)

	// Ten times the documents, about a third of the width.
	lo2, hi2 := BootstrapProportion(NewRand(7, "x"), 300, 1000, samples, Level95)
	assert.Less(t, hi2-lo2, (hi-lo)/2)

	// Large n: close to the normal approximation p ± 1.96·sqrt(p(1−p)/n).
	const n = 100000
	lo3, hi3 := BootstrapProportion(NewRand(7, "x"), n/5, n, samples, Level95)
	half := 1.959964 * math.Sqrt(0.2*0.8/n)
	assert.InDelta(t, 0.2-half, lo3, half/10)
	assert.InDelta(t, 0.2+half, hi3, half/10)

	// Nothing to vary: a point.
	lo, hi = BootstrapProportion(NewRand(1, "z"), 0, 50, samples, Level95)
	assert.Equal(t, [2]float64{0, 0}, [2]float64{lo, hi})
	lo, hi = BootstrapProportion(NewRand(1, "z"), 0, 0, samples, Level95)
	assert.True(t, math.IsNaN(lo) && math.IsNaN(hi))
}

// literalPairedDraws resamples documents one by one, the textbook way, to
// check the multinomial shortcut against.
func literalPairedDraws(n, up, down, samples int) []float64 {
	r := NewRand(99, "literal")
	out := make([]float64, samples)
	for s := range out {
		d := 0
		for range n {
			switch j := r.IntN(n); {
			case j < up:
				d++
			case j < up+down:
				d--
			}
		}
		out[s] = float64(d) / float64(n)
	}
	slices.Sort(out)
	return out
}

func meanSD(xs []float64) (float64, float64) {
	var s, ss float64
	for _, x := range xs {
		s += x
		ss += x * x
	}
	m := s / float64(len(xs))
	return m, math.Sqrt(ss/float64(len(xs)) - m*m)
}

func TestPairedBootstrap(t *testing.T) {
	const n, up, down, samples = 200, 24, 6, 4000
	fast := PairedDiffDraws(NewRand(3, "paired"), n, up, down, samples)
	slow := literalPairedDraws(n, up, down, samples)
	mf, sf := meanSD(fast)
	ms, ss := meanSD(slow)
	// The delta method's standard error of a paired difference:
	// sqrt((pu + pd − (pu − pd)²)/n).
	pu, pd := float64(up)/n, float64(down)/n
	se := math.Sqrt((pu + pd - (pu-pd)*(pu-pd)) / n)
	assert.InDelta(t, pu-pd, mf, 4*se/math.Sqrt(samples))
	assert.InDelta(t, ms, mf, 6*se/math.Sqrt(samples))
	assert.InDelta(t, se, sf, 0.06*se)
	assert.InDelta(t, ss, sf, 0.08*se)

	lo, hi := PairedBootstrap(NewRand(3, "paired"), n, up, down, samples, Level95)
	assert.Equal(t, [2]float64{Percentile(fast, 0.025), Percentile(fast, 0.975)}, [2]float64{lo, hi})
	assert.True(t, lo < pu-pd && pu-pd < hi)
	assert.Greater(t, lo, 0.0, "18 more flips up than down of 200 is clearly positive")

	// Large n: the normal approximation.
	const big = 100000
	lo, hi = PairedBootstrap(NewRand(3, "paired"), big, big/10, big/20, samples, Level95)
	se = math.Sqrt((0.1 + 0.05 - 0.05*0.05) / big)
	assert.InDelta(t, 0.05-1.96*se, lo, se/5)
	assert.InDelta(t, 0.05+1.96*se, hi, se/5)

	// Identical models: no discordant pair, the interval is the point 0.
	lo, hi = PairedBootstrap(NewRand(3, "paired"), 50, 0, 0, samples, Level95)
	assert.Equal(t, [2]float64{0, 0}, [2]float64{lo, hi})
	// Every pair flipped up: all draws are 1.
	lo, hi = PairedBootstrap(NewRand(3, "paired"), 50, 50, 0, samples, Level95)
	assert.Equal(t, [2]float64{1, 1}, [2]float64{lo, hi})
	lo, _ = PairedBootstrap(NewRand(3, "paired"), 0, 0, 0, samples, Level95)
	assert.True(t, math.IsNaN(lo))
}

func BenchmarkBinomialMillion(b *testing.B) {
	r := NewRand(1, "bench")
	for b.Loop() {
		Binomial(r, 1_000_000, 0.1)
	}
}

func BenchmarkPairedBootstrap2000(b *testing.B) {
	for b.Loop() {
		PairedBootstrap(NewRand(1, "bench"), 1_000_000, 80_000, 50_000, 2000, Level95)
	}
}
