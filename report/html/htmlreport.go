// Package htmlreport writes hallu's report as one self-contained HTML file:
// the leaderboard (sortable), charts drawn here as SVG, and a per-document
// drill-down with the source and summary side by side and what the summary
// asserts that the source lacks highlighted: the sentences the scorer found
// unsupported when it judged sentence by sentence, and the overlap
// heuristic's marks whatever the scorer.
//
// The page needs nothing outside itself: styles and the small script that
// sorts and filters are inline, there are no fonts, images or network
// requests, and the table, charts and drill-down all work with JavaScript
// off. Everything that comes from models and documents is escaped by
// html/template, SVG labels included.
package htmlreport

import (
	"bufio"
	"embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers/overlap"
)

// Extension is the file extension of the report.
const Extension = "html"

// Input is everything a page shows. Only Stats is required.
type Input struct {
	Title     string
	Generated time.Time // shown in the header when set

	// Stats are the leaderboard rows, in the order the table and bar chart
	// show them (see leaderboard.SortStats).
	Stats []leaderboard.ModelStats
	// Params are parameter counts by model name, for the size plot (see
	// ParamsFromManifest); the plot is left out when none is known.
	Params map[string]float64
	// Manifest, when the results came from a run directory, gives the
	// header its dataset, scorer and version.
	Manifest *results.Manifest
	// Notes are shown in the header as they are (files skipped, say).
	Notes []string

	// Docs is the drill-down (Collector.Models); nil leaves it out, with a
	// line saying so. MaxDocs is the cap the collector used, for the page's
	// account of what it left out.
	Docs    []ModelDocs
	MaxDocs int

	// Flips are the documents whose verdict changed between two runs, shown
	// when present; FlipBase and FlipCand name the two sides.
	Flips              []Flip
	FlipBase, FlipCand string

	// Calibration, when set, adds the section of hallucination rates
	// corrected for the judge's measured error and the models' ranking
	// under uncertainty.
	Calibration *calibration.Correction
}

// Flip is a document judged consistent on one side of a comparison and
// hallucinated on the other. A nil score is shown as "not judged".
type Flip struct {
	DocID                    string
	Source                   string
	BaseSummary, CandSummary string
	BaseScore, CandScore     *float64
}

//go:embed page.html.tmpl style.css script.js
var files embed.FS

var page = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
	"n":   svgNum,
	"inc": func(i int) int { return i + 1 },
	// The page's own stylesheet and script, embedded at build time: never
	// data from results.
	"css": func() (template.CSS, error) { b, err := files.ReadFile("style.css"); return template.CSS(b), err },
	"js":  func() (template.JS, error) { b, err := files.ReadFile("script.js"); return template.JS(b), err },
}).ParseFS(files, "page.html.tmpl"))

// Write renders the page.
func Write(w io.Writer, in Input) error {
	v := build(in)
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := page.Execute(bw, v); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return bw.Flush()
}

// view is the template's data: everything formatted, nothing computed in the
// template.
type view struct {
	Title, Generated string
	Facts            []fact
	Notes            []string
	Columns          []string
	Rows             []row
	CIText           string // how the intervals were computed
	Charts           []chart
	HasParams        bool

	HasDocs  bool
	MaxDocs  int
	Models   []modelView
	Statuses []string
	// HasSentences: some document shown was judged sentence by sentence.
	HasSentences bool

	Flips              []flipView
	FlipBase, FlipCand string

	Corrected *correctedView
}

type fact struct{ Name, Value string }

type cell struct {
	Text string
	Sort string // numeric sort key; "" sorts last
	Tip  string
}

type row struct {
	Model  string
	Anchor string // id of the model's drill-down section, "" when none
	Cells  []cell
}

type modelView struct {
	Model, Anchor string
	Counts        []countView
	LeftOut       string
	Docs          []docView
}

type countView struct {
	Status string
	Total  int
	Shown  int
}

type docView struct {
	ID, Dataset, Status string
	Invalid             string
	Score, Scorer       string
	Explanation, Error  string
	Source              string
	SourceWords         int
	Summary             []segment
	Marks               int
	// Sentences is the summary cut at the judgment's sentence spans, when
	// the scorer judged it sentence by sentence; SentenceCount counts the
	// sentences and LowSentences those scored below the consistency
	// threshold.
	Sentences                   []sentenceView
	SentenceCount, LowSentences int
	Injected                    []results.Injection
	Latency                     string
}

// sentenceView is one judged sentence, its overlap marks kept inside it,
// or the white space between two sentences (Score "").
type sentenceView struct {
	Parts []segment
	Score string
	Low   bool
}

// segment is a run of summary text; Kind names why it is marked (number,
// date, name, negation) or is "" for plain text.
type segment struct{ Text, Kind string }

type flipView struct {
	ID, Direction            string
	BaseScore, CandScore     string
	Source                   string
	BaseSummary, CandSummary []segment
}

func build(in Input) view {
	v := view{Title: in.Title, Notes: append(slices.Clip(in.Notes), provenanceNotes(in.Stats)...), FlipBase: in.FlipBase, FlipCand: in.FlipCand, Statuses: statusOrder}
	if v.Title == "" {
		v.Title = "hallu report"
	}
	if !in.Generated.IsZero() {
		v.Generated = in.Generated.UTC().Format("2006-01-02 15:04 UTC")
	}
	v.Facts = facts(in)
	colors := map[string]int{}
	for i, s := range in.Stats {
		colors[s.Model] = i % 8
	}
	for _, s := range in.Stats {
		if in.Params[s.Model] > 0 {
			v.HasParams = true
		}
	}
	anchors := map[string]string{}
	for i, md := range in.Docs {
		anchors[md.Model] = "docs-" + strconv.Itoa(i+1)
	}
	v.Columns, v.Rows = table(in.Stats, in.Params, v.HasParams, anchors)
	v.CIText = "Wilson's score interval over the judged summaries"
	if len(in.Stats) > 0 && in.Stats[0].CI == leaderboard.IntervalBootstrap {
		v.CIText = "a percentile bootstrap over documents"
	}
	v.Charts = charts(in.Stats, in.Params, colors)
	v.Corrected = correctedOf(in.Calibration)
	if in.Docs != nil {
		v.HasDocs = true
		v.MaxDocs = in.MaxDocs
		v.Models = modelViews(in.Stats, in.Docs, anchors, in.MaxDocs)
		for _, m := range v.Models {
			for _, d := range m.Docs {
				v.HasSentences = v.HasSentences || d.Sentences != nil
			}
		}
	}
	if v.FlipBase == "" {
		v.FlipBase = "base"
	}
	if v.FlipCand == "" {
		v.FlipCand = "candidate"
	}
	for _, f := range in.Flips {
		v.Flips = append(v.Flips, flipView{
			ID: f.DocID, Direction: flipDirection(f), Source: f.Source,
			BaseScore: scoreText(f.BaseScore), CandScore: scoreText(f.CandScore),
			BaseSummary: highlight(f.Source, f.BaseSummary), CandSummary: highlight(f.Source, f.CandSummary),
		})
	}
	return v
}

func facts(in Input) []fact {
	var out []fact
	add := func(name, value string) {
		if value != "" {
			out = append(out, fact{name, value})
		}
	}
	if m := in.Manifest; m != nil {
		add("dataset", m.Dataset)
		if m.Documents > 0 {
			add("documents", strconv.Itoa(m.Documents))
		}
		if sha := m.DatasetSHA256; len(sha) >= 12 {
			add("dataset sha256", sha[:12])
		}
		add("scorer", m.Scorer)
		if len(m.FallbackFor) > 0 {
			add("fallback", "standing in for "+strings.Join(m.FallbackFor, ", "))
		}
		if m.PromptHash != "" {
			add("prompt", m.PromptHash)
		}
		add("hallu", m.HalluVersion)
		if !m.StartedAt.IsZero() && !m.EndedAt.IsZero() {
			add("run", m.StartedAt.UTC().Format("2006-01-02 15:04")+" – "+m.EndedAt.UTC().Format("15:04 UTC"))
		}
		// The run config's prices turn the tokens the server reported
		// into a cost (see hallu run).
		for _, name := range slices.Sorted(maps.Keys(m.Models)) {
			if c := m.Models[name]; c.Cost != nil {
				add("cost "+name, fmt.Sprintf("$%.4f (%d input + %d output tokens at %g / %g per million)", *c.Cost, c.TokensIn, c.TokensOut, c.PriceIn, c.PriceOut))
			}
		}
	}
	if len(out) == 0 || out[0].Name != "dataset" {
		// Without a manifest, name the scorers the records carry.
		seen := map[string]bool{}
		var names []string
		for _, md := range in.Docs {
			for _, r := range md.Docs {
				if j := r.Judgment; j != nil && j.Scorer != "" {
					s := strings.TrimSpace(j.Scorer + " " + j.Version)
					if !seen[s] {
						seen[s] = true
						names = append(names, s)
					}
				}
			}
		}
		add("scorer", strings.Join(names, ", "))
	}
	return out
}

// provenanceNotes says what the records say about how they were made and a
// reader must know: a fallback scorer, models judged by different scorers,
// truncated summaries or documents, models that differ in prompt or
// dataset.
func provenanceNotes(stats []leaderboard.ModelStats) []string {
	var out []string
	for _, f := range leaderboard.Fallbacks(stats) {
		out = append(out, "Note: "+f.String()+".")
	}
	if err := leaderboard.CheckScorers(stats); err != nil {
		out = append(out, "Warning: "+err.Error()+".")
	}
	for _, s := range stats {
		if s.OutputTruncated > 0 || s.InputTruncated > 0 {
			out = append(out, fmt.Sprintf("Truncated: %s: %d summaries cut at the token limit, %d documents cut to the server's context.", s.Model, s.OutputTruncated, s.InputTruncated))
		}
	}
	for _, w := range leaderboard.Warnings(stats) {
		out = append(out, "Warning: "+w+".")
	}
	return out
}

// ParamsFromManifest reads the parameter counts a run's configuration gave
// its models (config.models[].params), by model name.
func ParamsFromManifest(m *results.Manifest) map[string]float64 {
	out := map[string]float64{}
	if m == nil {
		return out
	}
	add := func(mm map[string]any) {
		name, _ := mm["name"].(string)
		if p, ok := mm["params"].(float64); ok && name != "" && p > 0 {
			out[name] = p
		}
	}
	// A manifest read from JSON holds []any; one built by `hallu run` in
	// memory holds the maps themselves.
	switch models := m.Config["models"].(type) {
	case []any:
		for _, x := range models {
			if mm, ok := x.(map[string]any); ok {
				add(mm)
			}
		}
	case []map[string]any:
		for _, mm := range models {
			add(mm)
		}
	}
	return out
}

func num(v float64, dec int) cell {
	if math.IsNaN(v) {
		return cell{Text: "–"}
	}
	return cell{Text: strconv.FormatFloat(v, 'f', dec, 64), Sort: strconv.FormatFloat(v, 'g', -1, 64)}
}

func count(n int) cell { return cell{Text: strconv.Itoa(n), Sort: strconv.Itoa(n)} }

// table lays out the leaderboard: the leaderboard's rounded figures, the
// interval, counts, latency and, when known, size.
func table(stats []leaderboard.ModelStats, params map[string]float64, hasParams bool, anchors map[string]string) ([]string, []row) {
	cols := []string{"Model", "Hallucination %", "95% CI", "Consistent %", "Answered %", "Avg words", "Docs", "Judged", "Failed", "Latency p50 ms"}
	if hasParams {
		cols = append(cols, "Params")
	}
	rows := make([]row, 0, len(stats))
	for _, s := range stats {
		hr, fcr, ar, words := s.Leaderboard()
		ci := cell{Text: "–"}
		if !math.IsNaN(s.HRLow) {
			ci = cell{Text: pctLabel(s.HRLow) + " – " + pctLabel(s.HRHigh), Sort: strconv.FormatFloat(s.HRHigh-s.HRLow, 'g', -1, 64),
				Tip: "95% interval over " + strconv.Itoa(s.Judged) + " judged summaries"}
		}
		failed := s.ScorerErrors
		for _, n := range s.GenerationErrors {
			failed += n
		}
		lat := num(s.LatencyP50MS, 0)
		if s.LatencyN == 0 {
			lat = cell{Text: "–"}
		}
		r := row{Model: s.Model, Anchor: anchors[s.Model], Cells: []cell{
			num(hr, 1), ci, num(fcr, 1), num(ar, 1), num(words, 1),
			count(s.Documents), count(s.Judged), count(failed), lat,
		}}
		if hasParams {
			p := cell{Text: "–"}
			if v := params[s.Model]; v > 0 {
				p = cell{Text: HumanCount(v), Sort: strconv.FormatFloat(v, 'g', -1, 64)}
			}
			r.Cells = append(r.Cells, p)
		}
		rows = append(rows, r)
	}
	return cols, rows
}

// modelViews orders the drill-down as the leaderboard and formats each
// document.
func modelViews(stats []leaderboard.ModelStats, docs []ModelDocs, anchors map[string]string, maxDocs int) []modelView {
	rank := map[string]int{}
	for i, s := range stats {
		rank[s.Model] = i
	}
	docs = slices.Clone(docs)
	slices.SortStableFunc(docs, func(a, b ModelDocs) int {
		ra, oka := rank[a.Model]
		rb, okb := rank[b.Model]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a.Model, b.Model)
	})
	out := make([]modelView, 0, len(docs))
	for _, md := range docs {
		mv := modelView{Model: md.Model, Anchor: anchors[md.Model]}
		var left []string
		for _, c := range md.Counts {
			if c.Total == 0 {
				continue
			}
			mv.Counts = append(mv.Counts, countView(c))
			if c.Total > c.Shown {
				left = append(left, fmt.Sprintf("%d %s", c.Total-c.Shown, c.Status))
			}
		}
		if len(left) > 0 {
			mv.LeftOut = strings.Join(left, ", ")
		}
		for _, r := range md.Docs {
			mv.Docs = append(mv.Docs, docViewOf(r))
		}
		out = append(out, mv)
	}
	return out
}

func docViewOf(r *results.Record) docView {
	d := docView{ID: r.DocID, Dataset: r.Dataset, Status: Status(r), Source: r.Source,
		SourceWords: leaderboard.WordCount(r.Source), Injected: r.Injected}
	if d.Status == StatusInvalid {
		d.Invalid = invalidText[leaderboard.InvalidReason(r)]
	}
	if r.LatencyMS > 0 {
		d.Latency = strconv.FormatFloat(r.LatencyMS, 'f', 0, 64) + " ms"
	}
	var errs []string
	if r.Error != nil {
		errs = append(errs, r.Error.Class+": "+r.Error.Message)
	}
	if j := r.Judgment; j != nil {
		d.Score = scoreText(j.Score)
		d.Scorer = strings.TrimSpace(j.Scorer + " " + j.Version)
		d.Explanation = j.Explanation
		if j.Error != nil {
			errs = append(errs, "scorer "+j.Error.Class+": "+j.Error.Message)
		}
	}
	d.Error = strings.Join(errs, "; ")
	d.Summary = highlight(r.Source, r.Summary)
	for _, s := range d.Summary {
		if s.Kind != "" {
			d.Marks++
		}
	}
	if j := r.Judgment; j != nil && j.Score != nil {
		d.Sentences = bySentence(r.Summary, d.Summary, j.Sentences)
		for _, sv := range d.Sentences {
			if sv.Score != "" {
				d.SentenceCount++
			}
			if sv.Low {
				d.LowSentences++
			}
		}
	}
	return d
}

// bySentence cuts the highlighted summary at the judgment's sentence spans
// (byte offsets into the summary). Spans that do not fit the summary (out
// of order, past its end, inside a character: a record edited by hand or
// written by another tool) give nil, and the page shows the summary
// without them rather than marking the wrong words.
func bySentence(summary string, segs []segment, sents []results.SentenceScore) []sentenceView {
	if len(sents) == 0 {
		return nil
	}
	at := 0
	for _, s := range sents {
		if s.Start < at || s.End <= s.Start || s.End > len(summary) || !runeStart(summary, s.Start) || !runeStart(summary, s.End) {
			return nil
		}
		at = s.End
	}
	// The byte offset where each segment starts, to cut them at spans.
	starts := make([]int, len(segs)+1)
	for i, sg := range segs {
		starts[i+1] = starts[i] + len(sg.Text)
	}
	cut := func(from, to int) []segment {
		var out []segment
		for i, sg := range segs {
			a, b := max(from, starts[i]), min(to, starts[i+1])
			if a < b {
				out = append(out, segment{Text: sg.Text[a-starts[i] : b-starts[i]], Kind: sg.Kind})
			}
		}
		return out
	}
	var out []sentenceView
	at = 0
	for _, s := range sents {
		if s.Start > at {
			out = append(out, sentenceView{Parts: cut(at, s.Start)})
		}
		sc := s.Score
		out = append(out, sentenceView{Parts: cut(s.Start, s.End), Score: scoreText(&sc), Low: s.Score < results.ConsistentThreshold})
		at = s.End
	}
	if at < len(summary) {
		out = append(out, sentenceView{Parts: cut(at, len(summary))})
	}
	return out
}

// runeStart reports whether byte offset i of s begins a character (or is
// its end).
func runeStart(s string, i int) bool { return i == len(s) || utf8.RuneStart(s[i]) }

// invalidText says in words why a summary does not count.
var invalidText = map[string]string{
	leaderboard.InvalidEmpty:    "empty summary",
	leaderboard.InvalidRefusal:  "the model declined to summarize",
	leaderboard.InvalidShort:    fmt.Sprintf("%d words or fewer", leaderboard.MinWords),
	leaderboard.InvalidUnstated: "marked invalid in the input",
}

func scoreText(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', 3, 64)
}

func flipDirection(f Flip) string {
	switch {
	case f.CandScore != nil && *f.CandScore < results.ConsistentThreshold:
		return "became hallucinated"
	case f.CandScore != nil:
		return "became consistent"
	}
	return "changed"
}

// highlight cuts summary into plain and marked segments: the numbers, dates,
// names and negations the source does not support, as the overlap scorer
// finds them. With no source there is nothing to check against.
func highlight(source, summary string) []segment {
	if source == "" {
		return []segment{{Text: summary}}
	}
	var out []segment
	at := 0
	for _, sp := range overlap.Unsupported(source, summary) {
		if sp.Start > at {
			out = append(out, segment{Text: summary[at:sp.Start]})
		}
		out = append(out, segment{Text: summary[sp.Start:sp.End], Kind: sp.Kind})
		at = sp.End
	}
	if at < len(summary) {
		out = append(out, segment{Text: summary[at:]})
	}
	return out
}
