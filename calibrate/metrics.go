package calibrate

import (
	"math"
	"sort"
)

// Point is one scored, labelled pair.
type Point struct {
	Score float64
	Label int // Consistent or Hallucinated
}

// Metrics are a scorer's figures on a labelled set. The hallucinated class
// is the positive class for precision and recall, as FaithBench reports;
// a score >= Threshold predicts consistent. A figure that is undefined on
// the set (recall of a class with no examples, precision with no
// hallucinated predictions, AUROC with one class) is NaN.
type Metrics struct {
	N            int // scored pairs
	Consistent   int // of which labelled consistent
	Hallucinated int // of which labelled hallucinated

	// The confusion counts at Threshold, hallucinated being the positive
	// class: TP hallucinated pairs predicted hallucinated, FN predicted
	// consistent; TN consistent pairs predicted consistent, FP predicted
	// hallucinated.
	TP, FP, TN, FN int

	Threshold        float64
	BalancedAccuracy float64 // mean of the two classes' recalls at Threshold
	Precision        float64 // of "hallucinated" predictions at Threshold
	Recall           float64 // share of hallucinated pairs caught at Threshold
	F1               float64

	// AUROC is the probability that a random consistent pair scores above
	// a random hallucinated one (ties count one half): threshold-free.
	AUROC float64
	// BestThreshold maximises balanced accuracy over the scores seen
	// (predict consistent iff score >= it); among equal maxima the one
	// closest to Threshold. BestBalancedAccuracy is the maximum. On the
	// labelled set itself this is optimistic: tune it on one split and
	// report on another, as LLM-AggreFact does.
	BestThreshold        float64
	BestBalancedAccuracy float64
}

// Compute works out the metrics of points at threshold.
func Compute(points []Point, threshold float64) Metrics {
	m := Metrics{N: len(points), Threshold: threshold}
	for _, p := range points {
		if p.Label == Consistent {
			m.Consistent++
		} else {
			m.Hallucinated++
		}
	}
	var tp, fp int // hallucinated predicted as hallucinated / consistent predicted as hallucinated
	for _, p := range points {
		if p.Score < threshold {
			if p.Label == Hallucinated {
				tp++
			} else {
				fp++
			}
		}
	}
	m.TP, m.FP, m.FN, m.TN = tp, fp, m.Hallucinated-tp, m.Consistent-fp
	m.Recall = ratio(tp, m.Hallucinated)
	m.Precision = ratio(tp, tp+fp)
	m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	if m.Precision+m.Recall == 0 {
		m.F1 = 0
	}
	m.BalancedAccuracy = (m.Recall + ratio(m.Consistent-fp, m.Consistent)) / 2
	m.AUROC = auroc(points, m.Consistent, m.Hallucinated)
	m.BestThreshold, m.BestBalancedAccuracy = bestThreshold(points, m.Consistent, m.Hallucinated, threshold)
	return m
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// sorted returns the points by ascending score.
func sorted(points []Point) []Point {
	s := append([]Point(nil), points...)
	sort.Slice(s, func(i, j int) bool { return s[i].Score < s[j].Score })
	return s
}

// auroc is the Mann-Whitney statistic with consistent as the positive
// class, ties given their average rank.
func auroc(points []Point, pos, neg int) float64 {
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	s := sorted(points)
	var rankSum float64
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].Score == s[i].Score {
			j++
		}
		avg := float64(i+1+j) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if s[k].Label == Consistent {
				rankSum += avg
			}
		}
		i = j
	}
	return (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg))
}

// bestThreshold sweeps the distinct scores as thresholds, and one above the
// highest (everything hallucinated), for the best balanced accuracy.
func bestThreshold(points []Point, pos, neg int, near float64) (float64, float64) {
	if pos == 0 || neg == 0 {
		return math.NaN(), math.NaN()
	}
	s := sorted(points)
	// Threshold s[i].Score: the points below i are predicted hallucinated.
	bestT, bestB := math.NaN(), -1.0
	consider := func(t float64, hallBelow, consBelow int) {
		b := (float64(hallBelow)/float64(neg) + float64(pos-consBelow)/float64(pos)) / 2
		const eps = 1e-12
		if b > bestB+eps || (b > bestB-eps && math.Abs(t-near) < math.Abs(bestT-near)) {
			bestT, bestB = t, b
		}
	}
	hall, cons := 0, 0
	for i := 0; i < len(s); {
		consider(s[i].Score, hall, cons)
		j := i
		for j < len(s) && s[j].Score == s[i].Score {
			if s[j].Label == Consistent {
				cons++
			} else {
				hall++
			}
			j++
		}
		i = j
	}
	consider(math.Nextafter(s[len(s)-1].Score, math.Inf(1)), hall, cons)
	return bestT, bestB
}
