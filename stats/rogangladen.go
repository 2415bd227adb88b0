package stats

import "math"

// RoganGladen corrects an observed positive rate for a classifier's error
// (Rogan and Gladen, American Journal of Epidemiology 107(1), 1978): the true
// rate p satisfies observed = sens·p + (1 − spec)·(1 − p), so
// p = (observed + spec − 1) / (sens + spec − 1). The result is clipped to
// [0, 1]: an observed rate below what the classifier's false positives
// alone would give means a true rate of 0, not a negative one. NaN when
// sens + spec − 1 is not positive, where the classifier carries no
// information about p (or inverts it).
func RoganGladen(observed, sens, spec float64) float64 {
	j := sens + spec - 1
	if !(j > 0) {
		return math.NaN()
	}
	return min(max((observed+spec-1)/j, 0), 1)
}
