package leaderboard

import (
	"math"
	"strconv"
)

// Round1 rounds x to one decimal the way the Vectara leaderboard does: Python's
// round(x, 1), which rounds the exact binary value of x and sends exact ties
// to the even digit. So 0.25 -> 0.2 and 93.75 -> 93.8 (exact ties), while
// 0.35 -> 0.3 and 0.45 -> 0.5, because those doubles lie just below and just
// above the half. strconv formats the exact value with the same tie rule, and
// parsing the result gives the double nearest the rounded decimal, as Python
// does.
func Round1(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 1, 64), 64)
	return r
}

// Fixed1 formats x with one decimal, leaderboard-rounded; "" for NaN, which
// marks a rate that has no denominator.
func Fixed1(x float64) string { return fixed(x, 1) }

func fixed(x float64, decimals int) string {
	if math.IsNaN(x) {
		return ""
	}
	return strconv.FormatFloat(x, 'f', decimals, 64)
}
