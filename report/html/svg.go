package htmlreport

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hallu-eval/hallu/leaderboard"
)

// A chart is drawn here, in Go, as a list of SVG primitives; the template
// only writes them out, so every string from a model name to a tick label
// passes through html/template's escaping and nothing is drawn in the
// browser.
type chart struct {
	ID, Title string
	Note      string // a line under the chart, e.g. what was left out
	Wide      bool   // spans the page's width
	W, H      float64
	Els       []svgEl
}

// svgEl is one primitive: Tag is line, rect, circle or text.
type svgEl struct {
	Tag          string
	X, Y, X2, Y2 float64 // line ends; rect corner; circle centre; text anchor point
	W, H, R      float64
	Class        string
	Anchor       string // text-anchor for text
	Rotate       bool   // text turned 90° counter-clockwise about (X, Y)
	Text         string
	Tip          string // tooltip (<title>)
}

func (c *chart) line(x1, y1, x2, y2 float64, class string) {
	c.Els = append(c.Els, svgEl{Tag: "line", X: x1, Y: y1, X2: x2, Y2: y2, Class: class})
}

func (c *chart) text(x, y float64, anchor, class, s string) {
	c.Els = append(c.Els, svgEl{Tag: "text", X: x, Y: y, Anchor: anchor, Class: class, Text: s})
}

// Text widths are estimated, not measured (the page draws no text in Go):
// a proportional sans-serif averages a little over half its size per
// character.
const (
	fontSize  = 12.0
	charWidth = 0.58 * fontSize
)

func textWidth(s string) float64 { return float64(utf8.RuneCountInString(s)) * charWidth }

// ellipsize cuts s to n characters, marking the cut.
func ellipsize(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// scale maps a data interval onto a pixel interval, linearly or by log10.
type scale struct {
	d0, d1, p0, p1 float64
	log            bool
}

func (s scale) at(v float64) float64 {
	d0, d1 := s.d0, s.d1
	if s.log {
		v, d0, d1 = math.Log10(v), math.Log10(d0), math.Log10(d1)
	}
	if d1 == d0 {
		return (s.p0 + s.p1) / 2
	}
	return s.p0 + (v-d0)/(d1-d0)*(s.p1-s.p0)
}

// niceStep is a round step (1, 2 or 5 times a power of ten) that cuts span
// into about n intervals.
func niceStep(span float64, n int) float64 {
	if span <= 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	// The nearest round step, so the tick count stays near n.
	switch f := raw / p; {
	case f < 1.5:
		return p
	case f < 3.5:
		return 2 * p
	case f < 7.5:
		return 5 * p
	}
	return 10 * p
}

// linearTicks widens [lo, hi] to whole steps and lists the ticks.
func linearTicks(lo, hi float64, n int) (float64, float64, []float64) {
	if hi <= lo {
		pad := math.Max(math.Abs(lo)*0.1, 1)
		lo, hi = lo-pad, hi+pad
	}
	step := niceStep(hi-lo, n)
	lo, hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	var ticks []float64
	for i := 0; ; i++ {
		v := lo + float64(i)*step
		if v > hi+step/1e6 {
			break
		}
		ticks = append(ticks, cleanZero(v))
	}
	return lo, hi, ticks
}

func cleanZero(v float64) float64 {
	if math.Abs(v) < 1e-9 {
		return 0
	}
	return v
}

// logTicks widens [lo, hi] (both > 0) to whole decades and lists ticks at
// each power of ten, with 2× and 5× between when the range is narrow.
func logTicks(lo, hi float64) (float64, float64, []float64) {
	e0, e1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if e1 <= e0 {
		e1 = e0 + 1
	}
	var ticks []float64
	for e := e0; e <= e1; e++ {
		p := math.Pow(10, e)
		ticks = append(ticks, p)
		if e1-e0 <= 2 && e < e1 {
			ticks = append(ticks, 2*p, 5*p)
		}
	}
	return math.Pow(10, e0), math.Pow(10, e1), ticks
}

// tickLabel formats a tick with no more decimals than its step needs.
func tickLabel(v, step float64) string {
	dec := 0
	if step > 0 && step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// HumanCount writes a parameter count as 350M, 7B, 1.5T.
func HumanCount(v float64) string {
	for _, u := range []struct {
		div  float64
		unit string
	}{{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}} {
		if math.Abs(v) >= u.div {
			return strconv.FormatFloat(math.Round(v/u.div*10)/10, 'f', -1, 64) + u.unit
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func pctLabel(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// ciTip is the tooltip of a model's mark: its rate, interval and counts.
func ciTip(s leaderboard.ModelStats) string {
	return fmt.Sprintf("%s: hallucination rate %s %% [95%% CI %s, %s], %d of %d judged summaries",
		s.Model, pctLabel(s.HallucinationRate), pctLabel(s.HRLow), pctLabel(s.HRHigh), s.Hallucinated, s.Judged)
}

// Chart widths in user units; the page scales them to fit, and a wide chart
// spans the page.
const (
	chartW = 560.0
	wideW  = 1100.0
)

// barChart draws each model's hallucination rate as a horizontal bar with
// its 95% interval as a whisker, in leaderboard order.
func barChart(stats []leaderboard.ModelStats, colors map[string]int) chart {
	labelW := 0.0
	for _, s := range stats {
		labelW = max(labelW, textWidth(ellipsize(s.Model, 32)))
	}
	const top, rowH, bottom, right = 12.0, 28.0, 46.0, 64.0
	left := labelW + 14
	c := chart{ID: "chart-hr", Title: "Hallucination rate with 95% interval", W: wideW, H: top + rowH*float64(len(stats)) + bottom, Wide: true}
	if left > c.W/2 {
		left = c.W / 2
	}
	hi := 5.0 // an axis to 5% at least, so near-zero rates do not fill it
	for _, s := range stats {
		if !math.IsNaN(s.HRHigh) {
			hi = max(hi, s.HRHigh)
		}
	}
	lo, hi, ticks := linearTicks(0, hi, 5)
	x := scale{d0: lo, d1: hi, p0: left, p1: c.W - right}
	plotBottom := top + rowH*float64(len(stats))
	for _, t := range ticks {
		px := x.at(t)
		c.line(px, top, px, plotBottom, "grid")
		c.text(px, plotBottom+16, "middle", "tick", tickLabel(t, ticks[min(1, len(ticks)-1)]-ticks[0]))
	}
	c.line(left, plotBottom, c.W-right, plotBottom, "axis")
	c.line(left, top, left, plotBottom, "axis")
	c.text((left+c.W-right)/2, plotBottom+38, "middle", "axis-label", "Hallucination rate (%), lower is better")
	for i, s := range stats {
		cy := top + rowH*(float64(i)+0.5)
		name := ellipsize(s.Model, 32)
		c.Els = append(c.Els, svgEl{Tag: "text", X: left - 8, Y: cy + 4, Anchor: "end", Class: "label", Text: name, Tip: s.Model})
		if math.IsNaN(s.HallucinationRate) {
			c.text(left+6, cy+4, "start", "note", "no judged summaries")
			continue
		}
		col := fmt.Sprintf("bar c%d", colors[s.Model])
		c.Els = append(c.Els, svgEl{Tag: "rect", X: left, Y: cy - 8, W: max(x.at(s.HallucinationRate)-left, 1), H: 16, Class: col, Tip: ciTip(s)})
		l, h := x.at(s.HRLow), x.at(s.HRHigh)
		c.line(l, cy, h, cy, "whisker")
		c.line(l, cy-6, l, cy+6, "whisker")
		c.line(h, cy-6, h, cy+6, "whisker")
		c.text(h+6, cy+4, "start", "value", pctLabel(s.HallucinationRate)+" %")
	}
	return c
}

// xMetric is a quantity plotted against the hallucination rate.
type xMetric struct {
	id, title, label string
	value            func(leaderboard.ModelStats) float64 // NaN or <= 0 (log) for unknown
	log              bool
	max              float64 // upper bound of the axis when > 0 (100 for a percentage)
	format           func(v, step float64) string
}

// scatter draws one point per model at (metric, hallucination rate), with
// the rate's interval as a vertical whisker and the model's name beside the
// point. It returns false when fewer than one model has both values.
func scatter(stats []leaderboard.ModelStats, colors map[string]int, m xMetric) (chart, bool) {
	type pt struct {
		s    leaderboard.ModelStats
		x, y float64
	}
	var pts []pt
	xlo, xhi, yhi := math.Inf(1), math.Inf(-1), 5.0
	for _, s := range stats {
		v := m.value(s)
		if math.IsNaN(v) || math.IsNaN(s.HallucinationRate) || m.log && v <= 0 {
			continue
		}
		pts = append(pts, pt{s: s, x: v, y: s.HallucinationRate})
		xlo, xhi, yhi = min(xlo, v), max(xhi, v), max(yhi, s.HRHigh)
	}
	if len(pts) == 0 {
		return chart{}, false
	}
	c := chart{ID: "chart-" + m.id, Title: m.title, W: chartW, H: 340}
	if n := len(stats) - len(pts); n > 0 {
		c.Note = fmt.Sprintf("%d model(s) left out: no value", n)
	}
	const left, right, top, bottom = 58.0, 24.0, 14.0, 50.0
	var xt []float64
	if m.log {
		xlo, xhi, xt = logTicks(xlo, xhi)
	} else {
		pad := (xhi - xlo) * 0.08
		if pad == 0 {
			pad = max(math.Abs(xhi)*0.1, 1)
		}
		lo, hi := xlo-pad, xhi+pad
		if xlo >= 0 && lo < 0 {
			lo = 0
		}
		if m.max > 0 && hi > m.max && xhi <= m.max {
			hi = m.max
		}
		xlo, xhi, xt = linearTicks(lo, hi, 5)
	}
	ylo, yhi, yt := linearTicks(0, yhi, 5)
	x := scale{d0: xlo, d1: xhi, p0: left, p1: c.W - right, log: m.log}
	y := scale{d0: ylo, d1: yhi, p0: c.H - bottom, p1: top}
	xstep, ystep := 0.0, yt[min(1, len(yt)-1)]-yt[0]
	if len(xt) > 1 {
		xstep = xt[1] - xt[0]
	}
	for _, t := range xt {
		px := x.at(t)
		c.line(px, top, px, c.H-bottom, "grid")
		c.text(px, c.H-bottom+16, "middle", "tick", m.format(t, xstep))
	}
	for _, t := range yt {
		py := y.at(t)
		c.line(left, py, c.W-right, py, "grid")
		c.text(left-6, py+4, "end", "tick", tickLabel(t, ystep))
	}
	c.line(left, c.H-bottom, c.W-right, c.H-bottom, "axis")
	c.line(left, top, left, c.H-bottom, "axis")
	c.text((left+c.W-right)/2, c.H-12, "middle", "axis-label", m.label)
	c.Els = append(c.Els, svgEl{Tag: "text", X: 16, Y: (top + c.H - bottom) / 2, Anchor: "middle", Class: "axis-label", Rotate: true, Text: "Hallucination rate (%)"})

	var placed []box
	bounds := box{left, top, c.W - right, c.H - bottom}
	for _, p := range pts {
		px, py := x.at(p.x), y.at(p.y)
		c.line(px, y.at(p.s.HRLow), px, y.at(p.s.HRHigh), "whisker")
		tip := ciTip(p.s) + "; " + m.label + " " + m.format(p.x, 0)
		c.Els = append(c.Els, svgEl{Tag: "circle", X: px, Y: py, R: 5, Class: fmt.Sprintf("point c%d", colors[p.s.Model]), Tip: tip})
	}
	for _, p := range pts {
		name := ellipsize(p.s.Model, 24)
		el, b := placeLabel(x.at(p.x), y.at(p.y), name, placed, bounds)
		el.Tip = p.s.Model
		placed = append(placed, b)
		c.Els = append(c.Els, el)
	}
	return c, true
}

type box struct{ x0, y0, x1, y1 float64 }

func (a box) overlaps(b box) bool { return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1 }
func (a box) inside(b box) bool   { return a.x0 >= b.x0 && a.x1 <= b.x1 && a.y0 >= b.y0 && a.y1 <= b.y1 }

// placeLabel puts a point's label right, left, above or below it, whichever
// first fits in the plot without covering a label already placed; when none
// does, the first that fits the plot.
func placeLabel(px, py float64, name string, placed []box, bounds box) (svgEl, box) {
	w, h := textWidth(name), fontSize
	type cand struct {
		x, y   float64 // text anchor point (baseline)
		anchor string
		b      box
	}
	// Beside the point first: the interval's whisker runs through it
	// vertically, so a label above or below would cross it.
	side := func(dx, dy float64, anchor string) cand {
		x0 := px + dx
		if anchor == "end" {
			x0 -= w
		}
		return cand{px + dx, py + dy, anchor, box{x0, py + dy - h + 3, x0 + w, py + dy + 3}}
	}
	cands := []cand{
		side(8, 4, "start"), side(-8, 4, "end"),
		side(8, -8, "start"), side(-8, -8, "end"),
		side(8, 16, "start"), side(-8, 16, "end"),
		side(8, -20, "start"), side(-8, -20, "end"),
	}
	pick := -1
	for i, cd := range cands {
		if !cd.b.inside(bounds) {
			continue
		}
		if pick < 0 {
			pick = i
		}
		free := true
		for _, p := range placed {
			if cd.b.overlaps(p) {
				free = false
				break
			}
		}
		if free {
			pick = i
			break
		}
	}
	if pick < 0 {
		pick = 0
	}
	cd := cands[pick]
	return svgEl{Tag: "text", X: cd.x, Y: cd.y, Anchor: cd.anchor, Class: "point-label", Text: name}, cd.b
}

// charts returns the bar chart and every scatter plot the data allows: the
// latency one only when latencies were measured, the size one only when
// parameter counts are known.
func charts(stats []leaderboard.ModelStats, params map[string]float64, colors map[string]int) []chart {
	out := []chart{barChart(stats, colors)}
	num := func(v, step float64) string { return tickLabel(v, step) }
	metrics := []xMetric{
		{id: "answer", title: "Hallucination rate against answer rate", label: "Answer rate (%)", max: 100,
			value: func(s leaderboard.ModelStats) float64 { return s.AnswerRate }, format: num},
		{id: "words", title: "Hallucination rate against summary length", label: "Average summary length (words)",
			value: func(s leaderboard.ModelStats) float64 { return s.AvgSummaryWords }, format: num},
		{id: "latency", title: "Hallucination rate against latency", label: "Latency p50 (ms)",
			value: func(s leaderboard.ModelStats) float64 {
				if s.LatencyN == 0 {
					return math.NaN()
				}
				return s.LatencyP50MS
			}, format: num},
		{id: "size", title: "Hallucination rate against model size", label: "Parameters (log scale)", log: true,
			value: func(s leaderboard.ModelStats) float64 {
				if p, ok := params[s.Model]; ok && p > 0 {
					return p
				}
				return math.NaN()
			}, format: func(v, _ float64) string { return HumanCount(v) }},
	}
	for _, m := range metrics {
		if c, ok := scatter(stats, colors, m); ok {
			out = append(out, c)
		}
	}
	return out
}

// svgNum writes a coordinate with one decimal, enough for a pixel.
func svgNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0")
}
