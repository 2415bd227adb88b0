package stats

import (
	"math"
	"math/rand/v2"
)

// Gamma draws from the gamma distribution with shape a > 0 and scale 1, by
// Marsaglia and Tsang's squeeze method (ACM TOMS 26(3), 2000); a shape
// below 1 is boosted to a+1 and scaled back by U^(1/a), as they describe.
func Gamma(r *rand.Rand, a float64) float64 {
	if a < 1 {
		u := r.Float64()
		for u == 0 {
			u = r.Float64()
		}
		return Gamma(r, a+1) * math.Pow(u, 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x {
			return d * v
		}
		if u > 0 && math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// Beta draws from the beta distribution with shapes a, b > 0, as the share
// of the first of two independent gamma draws.
func Beta(r *rand.Rand, a, b float64) float64 {
	x := Gamma(r, a)
	y := Gamma(r, b)
	return x / (x + y)
}

// JeffreysDraw draws a proportion from its posterior after k successes in n
// trials under the Jeffreys prior Beta(½, ½): Beta(k+½, n−k+½). The prior is
// the one whose intervals have close to nominal frequentist coverage for a
// binomial proportion (Brown, Cai and DasGupta, Statistical Science 16(2),
// 2001), which is what the corrected rates' intervals are tested on.
func JeffreysDraw(r *rand.Rand, k, n int) float64 {
	return Beta(r, float64(k)+0.5, float64(n-k)+0.5)
}
