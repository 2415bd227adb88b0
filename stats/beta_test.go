package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBetaMoments checks the sampler's mean and variance against the
// distribution's, for shapes below and above 1 (Gamma's two branches).
func TestBetaMoments(t *testing.T) {
	r := NewRand(1, "beta")
	for _, c := range [][2]float64{{0.5, 0.5}, {2.5, 7.5}, {40.5, 10.5}} {
		a, b := c[0], c[1]
		const n = 40000
		var sum, sq float64
		for range n {
			x := Beta(r, a, b)
			if x < 0 || x > 1 {
				t.Fatalf("Beta(%v, %v) drew %v", a, b, x)
			}
			sum += x
			sq += x * x
		}
		mean := sum / n
		vr := sq/n - mean*mean
		wantMean := a / (a + b)
		wantVar := a * b / ((a + b) * (a + b) * (a + b + 1))
		// Four standard errors of the mean; 10% of the variance.
		assert.InDelta(t, wantMean, mean, 4*math.Sqrt(wantVar/n), "Beta(%v, %v) mean", a, b)
		assert.InEpsilon(t, wantVar, vr, 0.1, "Beta(%v, %v) variance", a, b)
	}
}

func TestRoganGladen(t *testing.T) {
	// A true rate of 0.3 seen through sens 0.8, spec 0.9: 0.24 + 0.07.
	assert.InDelta(t, 0.3, RoganGladen(0.31, 0.8, 0.9), 1e-12)
	assert.Equal(t, 0.0, RoganGladen(0.05, 0.8, 0.9), "below the false-positive floor clips to 0")
	assert.Equal(t, 1.0, RoganGladen(0.95, 0.8, 0.9), "above the sensitivity clips to 1")
	assert.True(t, math.IsNaN(RoganGladen(0.3, 0.5, 0.5)), "a chance judge corrects nothing")
	assert.True(t, math.IsNaN(RoganGladen(0.3, 0.2, 0.3)))
}
