package agree

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/stats"
)

// Cohen's kappa on the worked examples of the Wikipedia article "Cohen's
// kappa" (50 grant proposals read by two readers, and its two tables with
// the same agreement but different marginals), each computed by hand:
// po = (20+15)/50 = 0.7, pe = 0.5·0.6 + 0.5·0.4 = 0.5, κ = 0.4.
func TestCohenTextbook(t *testing.T) {
	assert.InDelta(t, 0.4, Table{CC: 20, CH: 5, HC: 10, HH: 15}.Kappa(), 1e-12)
	// po = 0.60 in both; pe = 0.54 and 0.46.
	assert.InDelta(t, 0.1304, Table{CC: 45, CH: 15, HC: 25, HH: 15}.Kappa(), 1e-4)
	assert.InDelta(t, 0.2593, Table{CC: 25, CH: 35, HC: 5, HH: 35}.Kappa(), 1e-4)
	// A 3×3 table: po = 0.7, pe = (0.4·0.4 + 0.3·0.3 + 0.3·0.3) = 0.34,
	// κ = 0.36/0.66.
	assert.InDelta(t, 0.36/0.66, Cohen([][]int{{30, 5, 5}, {5, 20, 5}, {5, 5, 20}}), 1e-12)
	// Perfect agreement; and both judges calling everything consistent,
	// where kappa is undefined rather than 0 or 1.
	assert.InDelta(t, 1, Table{CC: 7, HH: 3}.Kappa(), 1e-12)
	assert.True(t, math.IsNaN(Table{CC: 10}.Kappa()))
	assert.True(t, math.IsNaN(Table{}.Kappa()))
}

// Fleiss' kappa on the worked example in Fleiss (1971) as the Wikipedia
// article "Fleiss' kappa" sets it out: 10 subjects, 14 raters, 5
// categories; P̄ = 0.378, P̄e = 0.213, κ = 0.210.
func TestFleissTextbook(t *testing.T) {
	counts := [][]int{
		{0, 0, 0, 0, 14},
		{0, 2, 6, 4, 2},
		{0, 0, 3, 5, 6},
		{0, 3, 9, 2, 0},
		{2, 2, 8, 1, 1},
		{7, 7, 0, 0, 0},
		{3, 2, 6, 3, 0},
		{2, 5, 3, 2, 2},
		{6, 5, 2, 1, 0},
		{0, 2, 2, 3, 7},
	}
	assert.InDelta(t, 0.20993, Fleiss(counts), 1e-5)
	// Rows with different numbers of raters are not Fleiss' design.
	assert.True(t, math.IsNaN(Fleiss([][]int{{1, 1}, {2, 1}})))
}

// With two judges Fleiss' kappa is Scott's pi: (po − pe)/(1 − pe) with pe
// from the pooled marginals. For the 20/5/10/15 table, by hand: the pooled
// consistent share is (25+30)/100 = 0.55, pe = 0.55² + 0.45² = 0.505,
// pi = (0.7 − 0.505)/0.495.
func TestFleissVotesTwoJudgesIsScottsPi(t *testing.T) {
	// votes: 20 docs with 0 hallucinated verdicts, 15 with one, 15 with two.
	assert.InDelta(t, (0.7-0.505)/0.495, fleissVotes([]int{20, 15, 15}), 1e-12)
}

// The bootstrap interval of Cohen's kappa agrees with the large-sample
// interval κ ± 1.96·SE of Fleiss, Cohen and Everitt (1969): for the 20/5/10/15
// table SE = 0.1270 (computed by hand from their formula), so 0.151–0.649.
func TestCohenIntervalMatchesAsymptotic(t *testing.T) {
	tab := Table{CC: 20, CH: 5, HC: 10, HH: 15}
	se := CohenSE(tab)
	assert.InDelta(t, 0.1270, se, 1e-4)
	iv := CohenInterval(stats.NewRand(1, "test"), tab, 4000)
	assert.InDelta(t, 0.4, iv.Est, 1e-12)
	assert.InDelta(t, 0.4-stats.Z95*se, iv.Lo, 0.04)
	assert.InDelta(t, 0.4+stats.Z95*se, iv.Hi, 0.04)
	// Same seed, same interval.
	again := CohenInterval(stats.NewRand(1, "test"), tab, 4000)
	assert.Equal(t, iv, again)
}

// Resampling type counts draws the same distribution as resampling the
// documents: the mean of many multinomial draws is the cells.
func TestMultinomialMean(t *testing.T) {
	r := stats.NewRand(7, "multinomial")
	cells := []int{50, 30, 15, 5}
	sum := make([]float64, len(cells))
	draw := make([]int, len(cells))
	const reps = 20000
	for range reps {
		multinomial(r, 100, cells, draw)
		total := 0
		for i, d := range draw {
			sum[i] += float64(d)
			total += d
		}
		require.Equal(t, 100, total)
	}
	for i, c := range cells {
		assert.InDelta(t, float64(c), sum[i]/reps, 0.3, "cell %d", i)
	}
}

// A kappa undefined in most resamples (almost every verdict the same) gets
// no interval, but keeps its estimate.
func TestIntervalLeftOutWhenMostlyUndefined(t *testing.T) {
	iv := CohenInterval(stats.NewRand(1, "rare"), Table{CC: 199, HH: 1}, 1000)
	assert.InDelta(t, 1, iv.Est, 1e-12)
	assert.True(t, math.IsNaN(iv.Lo) && math.IsNaN(iv.Hi))
	iv = FleissInterval(stats.NewRand(1, "none"), []int{10, 0, 0}, 100)
	assert.True(t, math.IsNaN(iv.Est))
}
