package leaderboard

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Expected values are Python 3's round(x, 1), computed with python3 -c.
func TestRound1TrickyHalves(t *testing.T) {
	cases := []struct{ in, want float64 }{
		{0.25, 0.2},   // exact tie: to even
		{0.75, 0.8},   // exact tie: to even
		{93.75, 93.8}, // exact tie: to even
		{6.25, 6.2},   // exact tie: to even
		{0.35, 0.3},   // the double is just below .35
		{0.45, 0.5},   // the double is just above .45
		{0.05, 0.1},
		{0.15, 0.1},
		{6.35, 6.3},
		{93.65, 93.7},
		{1.35, 1.4},
		{26.75, 26.8},
		{0.95, 0.9},
		{99.95, 100.0},
		{-0.25, -0.2},
		{0, 0},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Round1(c.in), "Round1(%v)", c.in)
	}
	assert.True(t, math.IsNaN(Round1(math.NaN())))
	assert.Equal(t, "", Fixed1(math.NaN()))
	assert.Equal(t, "93.8", Fixed1(Round1(93.75)))
}

// exactRound1 rounds the exact binary value of x half-to-even with rational
// arithmetic, independently of strconv, and returns the nearest double.
func exactRound1(x float64) float64 {
	r := new(big.Rat).SetFloat64(x)
	r.Mul(r, big.NewRat(10, 1))
	neg := r.Sign() < 0
	r.Abs(r)
	q := new(big.Int).Quo(r.Num(), r.Denom()) // floor of |10x|
	frac := new(big.Rat).Sub(r, new(big.Rat).SetInt(q))
	switch frac.Cmp(big.NewRat(1, 2)) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	if neg {
		q.Neg(q)
	}
	f, _ := new(big.Rat).SetFrac(q, big.NewInt(10)).Float64()
	return f
}

func TestRound1MatchesExactRounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		// Rates are k/n*100 for counts, which is where ties and near-ties live.
		n := 1 + rng.IntN(10000)
		k := rng.IntN(n + 1)
		x := float64(k) / float64(n) * 100.0
		if got, want := Round1(x), exactRound1(x); got != want {
			t.Fatalf("Round1(%v) = %v, exact rounding gives %v", x, got, want)
		}
	}
	for _, x := range []float64{0.25, 0.35, 0.45, 2.675 * 10, 63.74999999999999, 71.25} {
		assert.Equal(t, exactRound1(x), Round1(x), "x=%v", x)
	}
}

// The leaderboard rounds the hallucination rate computed as
// (1.0 - consistent/judged)*100 and derives the consistency rate as 100 minus
// that rounded rate. Counts below are ones where rounding the consistency rate
// first would give a different digit (found with python3).
func TestLeaderboardRoundingPath(t *testing.T) {
	cases := []struct {
		consistent, judged int
		hr, fcr            float64
	}{
		{29, 80, 63.7, 36.3}, // (1-29/80)*100 = 63.74999999999999; round(100-36.25) would give 63.8
		{31, 80, 61.3, 38.7}, // 61.25000000000001
		{23, 80, 71.2, 28.8}, // 71.25 exactly: tie to even
		{77, 80, 3.7, 96.3},  // 3.749999999999998
		{15, 16, 6.2, 93.8},  // 6.25 exactly
	}
	for _, c := range cases {
		a := NewAggregator()
		for i := range c.judged {
			score := 0.9
			if i >= c.consistent {
				score = 0.1
			}
			o := Observation{Model: "m", DocID: strconv.Itoa(i), Words: 10, Scored: true, Score: score}
			assert.NoError(t, a.Observe(o))
		}
		s := a.Stats()[0]
		hr, fcr, _, _ := s.Leaderboard()
		assert.Equal(t, c.hr, hr, "%d/%d", c.consistent, c.judged)
		assert.Equal(t, c.fcr, fcr, "%d/%d", c.consistent, c.judged)
	}
}
