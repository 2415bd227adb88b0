package htmlreport

import (
	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/leaderboard"
)

// correctedView is the page's section of rates corrected for the judge's
// measured error (report --calibration), nil without a calibration.
type correctedView struct {
	Source, Judge string
	Chance        string // why no rate is corrected; "" when they are
	Rows          []correctedRow
	Method        string
	Clipped       []string
	Pairs         []pairView
	RankNote      string
}

type correctedRow struct {
	Model, Observed, Corrected, Interval string
	// Lo, Est and Hi place the interval on a 0–100 scale for its bar, as
	// CSS percentages.
	Lo, Est, Hi string
}

type pairView struct {
	A, B, P  string
	Decisive bool
}

func correctedOf(c *calibration.Correction) *correctedView {
	if c == nil {
		return nil
	}
	v := &correctedView{Source: c.Source(), Judge: c.Judge(), Method: c.Method(), RankNote: calibration.RankNote}
	if c.Chance {
		v.Chance = c.ChanceText()
		return v
	}
	for _, r := range c.Rates {
		row := correctedRow{Model: r.Model, Observed: leaderboard.Fixed1(leaderboard.Round1(r.Observed)),
			Corrected: leaderboard.Fixed1(leaderboard.Round1(r.Corrected))}
		if r.Low == r.Low { // not NaN
			row.Interval = "[" + leaderboard.Fixed1(leaderboard.Round1(r.Low)) + ", " + leaderboard.Fixed1(leaderboard.Round1(r.High)) + "]"
			row.Lo, row.Est, row.Hi = leaderboard.Fixed1(r.Low), leaderboard.Fixed1(r.Corrected), leaderboard.Fixed1(r.High-r.Low)
		}
		v.Rows = append(v.Rows, row)
	}
	v.Clipped = c.ClipNotes()
	for _, p := range c.Pairs {
		v.Pairs = append(v.Pairs, pairView{A: p.A, B: p.B, P: calibration.PText(p.PBelow), Decisive: p.Decisive})
	}
	return v
}
