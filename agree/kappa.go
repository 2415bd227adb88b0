package agree

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/hallu-eval/hallu/stats"
)

// Table is two judges' verdicts on the same documents: the first letter is
// judge A's verdict, the second judge B's (C consistent, H hallucinated).
type Table struct {
	CC, CH, HC, HH int
}

// N is the number of documents in the table.
func (t Table) N() int { return t.CC + t.CH + t.HC + t.HH }

// Agreed is the number of documents both judges gave the same verdict.
func (t Table) Agreed() int { return t.CC + t.HH }

// Kappa is Cohen's kappa of the table (see Cohen).
func (t Table) Kappa() float64 {
	return Cohen([][]int{{t.CC, t.CH}, {t.HC, t.HH}})
}

// Cohen is Cohen's (1960) kappa of a square confusion matrix m (rows judge
// A's category, columns judge B's): (po − pe) / (1 − pe), po the share of
// the diagonal, pe the agreement expected from the two judges' own
// marginals. NaN when pe is 1 (both judges put everything in one and the
// same category: agreement by chance is certain, so kappa says nothing) or
// the table is empty.
func Cohen(m [][]int) float64 {
	k := len(m)
	n := 0
	rows := make([]float64, k)
	cols := make([]float64, k)
	diag := 0
	for i := range m {
		for j, c := range m[i] {
			n += c
			rows[i] += float64(c)
			cols[j] += float64(c)
			if i == j {
				diag += c
			}
		}
	}
	if n == 0 {
		return math.NaN()
	}
	nf := float64(n)
	po := float64(diag) / nf
	pe := 0.0
	for i := range rows {
		pe += rows[i] / nf * cols[i] / nf
	}
	if pe >= 1-1e-12 {
		return math.NaN()
	}
	return (po - pe) / (1 - pe)
}

// Fleiss is Fleiss' (1971) kappa: counts[i][j] is how many judges put
// subject i in category j, every subject judged by the same number of
// judges (at least two). P̄, the mean over subjects of the share of
// agreeing judge pairs, is compared with P̄e, the agreement expected when
// each judgment falls in category j with the category's overall share:
// (P̄ − P̄e) / (1 − P̄e). With two judges it is Scott's pi, not Cohen's
// kappa: it pools the judges' marginals. NaN when P̄e is 1 or there are no
// subjects, or the judge counts differ.
func Fleiss(counts [][]int) float64 {
	if len(counts) == 0 {
		return math.NaN()
	}
	n := 0
	for _, c := range counts[0] {
		n += c
	}
	if n < 2 {
		return math.NaN()
	}
	cats := make([]float64, len(counts[0]))
	pbar := 0.0
	for _, row := range counts {
		s, sq := 0, 0
		for j, c := range row {
			s += c
			sq += c * c
			cats[j] += float64(c)
		}
		if s != n {
			return math.NaN()
		}
		pbar += float64(sq-n) / float64(n*(n-1))
	}
	N := float64(len(counts))
	pbar /= N
	pe := 0.0
	for _, c := range cats {
		p := c / (N * float64(n))
		pe += p * p
	}
	if pe >= 1-1e-12 {
		return math.NaN()
	}
	return (pbar - pe) / (1 - pe)
}

// fleissVotes is Fleiss' kappa of binary verdicts by k judges, votes[j]
// being the number of documents that j of the k judges called
// hallucinated: every document with the same count contributes the same,
// so the counts are all the statistic needs.
func fleissVotes(votes []int) float64 {
	k := len(votes) - 1
	var rows [][]int
	for j, c := range votes {
		for range c {
			rows = append(rows, []int{k - j, j})
		}
	}
	return Fleiss(rows)
}

// Interval is an estimate with its 95% interval; Lo and Hi are NaN when the
// interval is undefined (see the methods that fill it).
type Interval struct {
	Est, Lo, Hi float64
}

// minDefined is the least share of bootstrap draws in which kappa must be
// defined for its interval to be given: a statistic undefined in many
// resamples of the data has no interval worth printing.
const minDefined = 0.9

// kappaDraws resamples the documents samples times and returns the sorted
// kappas of the resamples where kappa is defined. cells are the counts of
// the documents' types (for Cohen the four cells of the table; for Fleiss
// the vote counts): documents of one type are interchangeable, so
// resampling n documents with replacement is drawing the type counts from a
// multinomial (n, cells/n), which stats.Binomial draws exactly, one type at
// a time.
func kappaDraws(r *rand.Rand, cells []int, samples int, kappa func([]int) float64) []float64 {
	n := 0
	for _, c := range cells {
		n += c
	}
	if n == 0 {
		return nil
	}
	out := make([]float64, 0, samples)
	draw := make([]int, len(cells))
	for range samples {
		multinomial(r, n, cells, draw)
		if k := kappa(draw); !math.IsNaN(k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// multinomial fills draw with a draw of n items over categories weighted by
// cells (whose sum is n): each category's count is binomial in what the
// categories before it left, with its share of the rest.
func multinomial(r *rand.Rand, n int, cells, draw []int) {
	left, rest := n, n
	for i, c := range cells {
		if i == len(cells)-1 {
			draw[i] = left
			break
		}
		p := 0.0
		if rest > 0 {
			p = float64(c) / float64(rest)
		}
		draw[i] = stats.Binomial(r, left, p)
		left -= draw[i]
		rest -= c
	}
}

// bootstrapKappa is the estimate and percentile bootstrap interval of a
// kappa over cells; the interval is NaN when kappa is undefined in more
// than 1 − minDefined of the draws.
func bootstrapKappa(r *rand.Rand, cells []int, samples int, kappa func([]int) float64) Interval {
	iv := Interval{Est: kappa(cells), Lo: math.NaN(), Hi: math.NaN()}
	if math.IsNaN(iv.Est) || samples <= 0 {
		return iv
	}
	d := kappaDraws(r, cells, samples, kappa)
	if float64(len(d)) < minDefined*float64(samples) {
		return iv
	}
	iv.Lo, iv.Hi = stats.PercentileInterval(d, stats.Level95)
	return iv
}

// CohenInterval is Cohen's kappa of t with its 95% percentile bootstrap
// interval over documents.
func CohenInterval(r *rand.Rand, t Table, samples int) Interval {
	return bootstrapKappa(r, []int{t.CC, t.CH, t.HC, t.HH}, samples, func(c []int) float64 {
		return Table{c[0], c[1], c[2], c[3]}.Kappa()
	})
}

// FleissInterval is Fleiss' kappa of binary verdicts (votes[j]: documents
// that j judges called hallucinated) with its 95% percentile bootstrap
// interval over documents.
func FleissInterval(r *rand.Rand, votes []int, samples int) Interval {
	return bootstrapKappa(r, votes, samples, fleissVotes)
}

// CohenSE is the large-sample standard error of Cohen's kappa for a 2×2
// table (Fleiss, Cohen and Everitt 1969, the non-null variance), given for
// checking the bootstrap against: the two agree closely on tables of a few
// dozen documents or more. NaN where kappa is.
func CohenSE(t Table) float64 {
	n := float64(t.N())
	k := t.Kappa()
	if math.IsNaN(k) {
		return math.NaN()
	}
	p := [2][2]float64{{float64(t.CC) / n, float64(t.CH) / n}, {float64(t.HC) / n, float64(t.HH) / n}}
	row := [2]float64{p[0][0] + p[0][1], p[1][0] + p[1][1]}
	col := [2]float64{p[0][0] + p[1][0], p[0][1] + p[1][1]}
	pe := row[0]*col[0] + row[1]*col[1]
	a := 0.0
	for i := range 2 {
		a += p[i][i] * math.Pow(1-(row[i]+col[i])*(1-k), 2)
	}
	b := 0.0
	for i := range 2 {
		for j := range 2 {
			if i != j {
				b += p[i][j] * math.Pow(col[i]+row[j], 2)
			}
		}
	}
	b *= (1 - k) * (1 - k)
	c := math.Pow(k-pe*(1-k), 2)
	v := (a + b - c) / (n * (1 - pe) * (1 - pe))
	if v < 0 {
		v = 0
	}
	return math.Sqrt(v)
}
