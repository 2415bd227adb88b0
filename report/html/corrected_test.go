package htmlreport

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/scorers"
)

// TestCorrectedSection: the corrected rates' section appears only with a
// calibration, escapes model names, and says so instead of giving rates
// when the judge is no better than chance.
func TestCorrectedSection(t *testing.T) {
	in := input(t, 5, judged("<b>a</b>", "d1", "src", "sum", 0.1), judged("<b>a</b>", "d2", "src", "sum", 0.9), judged("m2", "d1", "src", "sum", 0.9))
	assert.NotContains(t, render(t, in), `id="corrected"`)

	cal := func(cf calibration.Confusion) *calibration.Correction {
		f := calibration.New(scorers.Identity{Name: "overlap", Version: "1"}, 0.5, cf, 0, calibration.Labels{Path: "l.csv", Format: "hallu", Count: 100})
		return calibration.Correct(f, "cal.json", []calibration.Observed{{Model: "<b>a</b>", Hallucinated: 1, Judged: 2}, {Model: "m2", Hallucinated: 0, Judged: 1}}, calibration.Options{Draws: 2000})
	}
	in.Calibration = cal(calibration.Confusion{TP: 45, FN: 5, TN: 48, FP: 2})
	page := render(t, in)
	assert.Contains(t, page, `<section id="corrected">`)
	assert.Contains(t, page, `id="ranking-table"`)
	assert.Contains(t, page, "&lt;b&gt;a&lt;/b&gt; &lt; m2")
	assert.NotContains(t, page, "<b>a</b>")

	in.Calibration = cal(calibration.Confusion{TP: 25, FN: 25, TN: 26, FP: 24})
	page = render(t, in)
	assert.Contains(t, page, "no better than chance")
	assert.NotContains(t, page, `id="corrected-table"`)
}
