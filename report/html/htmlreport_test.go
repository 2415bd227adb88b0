package htmlreport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/hallu-eval/hallu/scorers"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
)

func judged(model, id, source, summary string, score float64) *results.Record {
	return &results.Record{Schema: 1, Model: model, DocID: id, Source: source, Summary: summary,
		Judgment: &results.Judgment{Scorer: "test", Score: &score, Explanation: "because"}}
}

// input builds an Input from records the way the commands do.
func input(t *testing.T, max int, recs ...*results.Record) Input {
	t.Helper()
	agg := leaderboard.NewAggregator()
	col := NewCollector(max)
	for _, r := range recs {
		require.NoError(t, agg.Add(r))
		col.Add(r)
	}
	return Input{Stats: agg.Stats(), Docs: col.Models(), MaxDocs: max}
}

func render(t *testing.T, in Input) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, Write(&b, in))
	return b.String()
}

func TestStatus(t *testing.T) {
	ok := "A summary with more than five words in it."
	cases := map[string]*results.Record{
		StatusConsistent:   judged("m", "a", "s", ok, 0.5),
		StatusHallucinated: judged("m", "a", "s", ok, 0.49),
		StatusInvalid:      judged("m", "a", "s", "Too short.", 0.9),
		StatusUnjudged:     {Model: "m", DocID: "a", Summary: ok},
		StatusFailed:       {Model: "m", DocID: "a", Error: &results.Error{Class: errclass.Timeout}},
	}
	scorerFailed := judged("m", "a", "s", ok, 0)
	scorerFailed.Judgment.Score, scorerFailed.Judgment.Error = nil, &results.Error{Class: errclass.Scorer, Message: "boom"}
	for want, r := range cases {
		assert.Equal(t, want, Status(r), want)
	}
	assert.Equal(t, StatusFailed, Status(scorerFailed))
}

// Everything from models and documents is text, never markup: model names,
// document ids, sources, summaries, explanations, errors, injections, flips,
// and the SVG labels of the charts.
func TestHostileStringsAreEscaped(t *testing.T) {
	const (
		model   = `m<img src=x onerror=alert(1)>`
		summary = `<script>alert(1)</script> The mayor <img src=x onerror=alert(2)> opened 7 parks in Springfield on Monday.`
	)
	r := judged(model, `id"><script>alert(3)</script>`, "The mayor opened 5 parks on Monday.", summary, 0.1)
	r.Judgment.Explanation = `<svg onload=alert(4)>`
	r.Injected = []results.Injection{{Kind: "number", Original: "5", Replaced: `<b onmouseover=alert(5)>7</b>`}}
	fail := &results.Record{Schema: 1, Model: model, DocID: "f", Error: &results.Error{Class: "server", Message: `</details><script>alert(6)</script>`}}
	in := input(t, 10, r, fail)
	in.Title = `</title><script>alert(7)</script>`
	in.Params = map[string]float64{model: 7e9}
	in.Notes = []string{`<iframe src=javascript:alert(8)>`}
	in.Flips = []Flip{{DocID: `<i>flip</i>`, Source: "x", BaseSummary: `<script>alert(9)</script>`, CandSummary: "y"}}
	in.FlipBase = `<u>base</u>`
	html := render(t, in)

	assert.Equal(t, 1, strings.Count(html, "<script"), "only the page's own script")
	for _, bad := range []string{"<img", "<svg onload", "<iframe", "<b onmouseover", "<i>flip", "<u>base", "</details><script"} {
		assert.False(t, strings.Contains(html, bad), "page contains %s", bad)
	}
	// No element carries an event handler attribute. html/template quotes
	// every attribute value with ", so a tag's attributes can be listed.
	tag := regexp.MustCompile(`<[a-zA-Z][\w-]*((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*/?>`)
	attr := regexp.MustCompile(`\s([\w:-]+)(?:="[^"]*")?`)
	tags := tag.FindAllStringSubmatch(html, -1)
	assert.Greater(t, len(tags), 100)
	for _, m := range tags {
		for _, a := range attr.FindAllStringSubmatch(m[1], -1) {
			assert.False(t, strings.HasPrefix(strings.ToLower(a[1]), "on"), "attribute %s in %s", a[1], m[0])
		}
	}
	for _, escaped := range []string{"&lt;script&gt;alert(", "m&lt;img src=x onerror=alert(1)&gt;", "&lt;svg onload=alert(4)&gt;"} {
		assert.True(t, strings.Contains(html, escaped), "page lacks %s", escaped)
	}
	// The model name is a label in every chart.
	assert.GreaterOrEqual(t, strings.Count(html, "m&lt;img src=x onerror=alert(1)&gt;"), 5)
}

func TestChartsFollowTheData(t *testing.T) {
	ok := "The mayor opened five new parks in the city on Monday."
	in := input(t, 0,
		judged("a", "1", "s", ok, 0.9), judged("a", "2", "s", ok, 0.2),
		judged("b", "1", "s", ok, 0.9), judged("b", "2", "s", ok, 0.8),
	)
	html := render(t, in)
	// No latency measured, no sizes known: bar chart, answer rate and length.
	for _, id := range []string{"chart-hr", "chart-answer", "chart-words"} {
		assert.Contains(t, html, `id="`+id+`"`)
	}
	assert.NotContains(t, html, `id="chart-latency"`)
	assert.NotContains(t, html, `id="chart-size"`)
	assert.Contains(t, html, "No model sizes known")

	// Both answered everything: the answer-rate axis ends at 100.
	answer := html[strings.Index(html, `id="chart-answer"`):strings.Index(html, `id="chart-words"`)]
	assert.Contains(t, answer, `class="tick">100<`)
	assert.NotContains(t, answer, `class="tick">110<`)

	in.Params = map[string]float64{"a": 1.5e9}
	html = render(t, in)
	assert.Contains(t, html, `id="chart-size"`)
	assert.Contains(t, html, "1 model(s) left out: no value")
	assert.Contains(t, html, ">1.5B<", "size in the table")

	// Rows in leaderboard order: b (0%) before a (50%).
	assert.Less(t, strings.Index(html, `data-v="b"`), strings.Index(html, `data-v="a"`))
}

func TestModelWithoutJudgments(t *testing.T) {
	in := input(t, 0,
		&results.Record{Schema: 1, Model: "gen-only", DocID: "1", Summary: "A summary of more than five words here."},
		judged("ok", "1", "s", "A summary of more than five words here.", 0.9))
	html := render(t, in)
	assert.Contains(t, html, "no judged summaries")
	assert.Contains(t, html, "1 unjudged")
	// No NaN reaches the page (the script's own isNaN aside).
	assert.False(t, strings.Contains(html[:strings.Index(html, "<script>")], "NaN"))
}

func TestCollectorCapsAndSamples(t *testing.T) {
	col := NewCollector(3)
	ok := "A summary with more than five words in it."
	for i := range 100 {
		col.Add(judged("m", fmt.Sprintf("c%03d", i), "s", ok, 0.9))
		col.Add(judged("m", fmt.Sprintf("h%03d", i), "s", ok, float64(i%7)/100))
	}
	col.Add(&results.Record{Model: "m", DocID: "bad", Summary: ""})
	models := col.Models()
	require.Len(t, models, 1)
	got := map[string]StatusCount{}
	for _, c := range models[0].Counts {
		got[c.Status] = c
	}
	assert.Equal(t, StatusCount{StatusHallucinated, 100, 3}, got[StatusHallucinated])
	assert.Equal(t, StatusCount{StatusConsistent, 100, 3}, got[StatusConsistent])
	assert.Equal(t, StatusCount{StatusInvalid, 1, 1}, got[StatusInvalid])
	require.Len(t, models[0].Docs, 7)
	// Problems first, the first hallucinated in stream order worst first,
	// then the sample of consistent ones, which is not just the first three.
	var ids []string
	for _, d := range models[0].Docs {
		ids = append(ids, d.DocID)
	}
	assert.Equal(t, []string{"bad", "h000", "h001", "h002"}, ids[:4])
	assert.NotEqual(t, []string{"c000", "c001", "c002"}, ids[4:])

	html := render(t, Input{Stats: []leaderboard.ModelStats{{Model: "m", HallucinationRate: math.NaN()}}, Docs: models, MaxDocs: 3})
	assert.Contains(t, html, "Left out of this page: 97 hallucinated, 97 consistent.")
}

func TestHighlight(t *testing.T) {
	segs := highlight("Officials counted 200 votes in Paris.", "Officials counted 300 votes in Paris and Lyon.")
	var marked []string
	var whole strings.Builder
	for _, s := range segs {
		whole.WriteString(s.Text)
		if s.Kind != "" {
			marked = append(marked, s.Kind+":"+s.Text)
		}
	}
	assert.Equal(t, "Officials counted 300 votes in Paris and Lyon.", whole.String())
	assert.Equal(t, []string{"number:300", "name:Lyon"}, marked)
	assert.Equal(t, []segment{{Text: "No source 1"}}, highlight("", "No source 1"))
}

func TestParamsFromManifest(t *testing.T) {
	var m results.Manifest
	require.NoError(t, json.Unmarshal([]byte(`{"config":{"models":[{"name":"a","params":7e9},{"name":"b"},{"name":"c","params":"big"}]}}`), &m))
	assert.Equal(t, map[string]float64{"a": 7e9}, ParamsFromManifest(&m))
	m.Config = map[string]any{"models": []map[string]any{{"name": "x", "params": 1.5e8}}}
	assert.Equal(t, map[string]float64{"x": 1.5e8}, ParamsFromManifest(&m))
	assert.Empty(t, ParamsFromManifest(nil))
}

func TestAxes(t *testing.T) {
	lo, hi, ticks := linearTicks(0, 53.2, 5)
	assert.Equal(t, 0.0, lo)
	assert.Equal(t, 60.0, hi)
	assert.Equal(t, []float64{0, 10, 20, 30, 40, 50, 60}, ticks)
	_, _, ticks = linearTicks(0, 100, 5)
	assert.Equal(t, []float64{0, 20, 40, 60, 80, 100}, ticks)
	_, _, ticks = linearTicks(100, 100, 5) // one value: a range around it
	assert.Greater(t, len(ticks), 1)
	lo, hi, ticks = logTicks(3e8, 7e9)
	assert.Equal(t, 1e8, lo)
	assert.Equal(t, 1e10, hi)
	assert.Contains(t, ticks, 1e9)
	for v, want := range map[float64]string{3e8: "300M", 7e9: "7B", 1.5e12: "1.5T", 950: "950"} {
		assert.Equal(t, want, HumanCount(v))
	}
	assert.Equal(t, "0.25", tickLabel(0.25, 0.05))
	assert.Equal(t, "20", tickLabel(20, 5))
}

// The page stands alone: no URL it would fetch.
func TestSelfContained(t *testing.T) {
	html := render(t, input(t, 0, judged("m", "1", "Visit https://example.com now.", "Visit https://example.com today, they said.", 0.9)))
	fetch := regexp.MustCompile(`(?i)<(link|img|iframe|object|embed|source|audio|video)\b|\bsrc=|@import|url\(`)
	assert.Empty(t, fetch.FindAllString(html, -1))
}

// A fallback scorer and truncation are said on the page.
func TestProvenanceNotes(t *testing.T) {
	rows := []leaderboard.ModelStats{{Model: "m", HallucinationRate: math.NaN(), OutputTruncated: 2,
		Provenance: leaderboard.Provenance{FallbackFor: []string{"hhem"},
			Scorers: []leaderboard.ScorerSeen{{Identity: scorers.Identity{Name: "overlap", Version: "1"}, Key: "k"}}}}}
	html := render(t, Input{Stats: rows})
	assert.Contains(t, html, "scored with overlap standing in for hhem: m")
	assert.Contains(t, html, "m: 2 summaries cut at the token limit")
}

// A run's manifest with prices puts each model's cost among the facts.
func TestFactsShowCost(t *testing.T) {
	cost := 0.25
	m := &results.Manifest{Dataset: "d", Models: map[string]results.ManifestCounts{
		"tiny:latest": {PriceIn: 1, PriceOut: 2, TokensIn: 150000, TokensOut: 50000, Cost: &cost},
		"free":        {},
	}}
	var got []string
	for _, f := range facts(Input{Manifest: m}) {
		got = append(got, f.Name+": "+f.Value)
	}
	assert.Contains(t, got, "cost tiny:latest: $0.2500 (150000 input + 50000 output tokens at 1 / 2 per million)")
	for _, g := range got {
		assert.NotContains(t, g, "cost free")
	}
}
