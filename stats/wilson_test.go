package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Expected bounds computed independently with python3 (math only) from the
// closed form: p = k/n, d = 1 + z²/n, center = (p + z²/2n)/d,
// half = z/d·sqrt(p(1-p)/n + z²/4n²). 5/100 also matches statsmodels'
// proportion_confint(method="wilson"): (0.02154, 0.11175).
func TestWilson(t *testing.T) {
	cases := []struct {
		k, n   int
		lo, hi float64
	}{
		{334, 5205, 0.0578278683212006, 0.07115310837621688},
		{751, 7692, 0.09120021016126113, 0.10446929094244899},
		{0, 10, 0, 0.2775327998628892},
		{10, 10, 0.7224672001371107, 1},
		{1, 2, 0.09453120573423074, 0.9054687942657693},
		{5, 100, 0.02154367915436796, 0.11175046923191913},
	}
	for _, c := range cases {
		lo, hi := Wilson(c.k, c.n, Z95)
		assert.InDelta(t, c.lo, lo, 1e-12, "lo %d/%d", c.k, c.n)
		assert.InDelta(t, c.hi, hi, 1e-12, "hi %d/%d", c.k, c.n)
		assert.LessOrEqual(t, lo, float64(c.k)/float64(c.n))
		assert.GreaterOrEqual(t, hi, float64(c.k)/float64(c.n))
	}
	lo, hi := Wilson(0, 0, Z95)
	assert.True(t, math.IsNaN(lo) && math.IsNaN(hi))
}
