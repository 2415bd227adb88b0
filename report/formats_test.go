package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
)

// sampleStats: "good" hallucinates on 1 of 200 judged summaries, "small" on
// 3 of 10 with one scorer failure and a timeout, "unscored" has no judgment.
func sampleStats(t *testing.T) []leaderboard.ModelStats {
	a := leaderboard.NewAggregator()
	for i := range 200 {
		score := 0.9
		if i == 0 {
			score = 0.1
		}
		r := rec("good", fmt.Sprint(i), sixWords, &score)
		r.LatencyMS = float64(100 + i)
		r.Usage = &results.Usage{PromptTokens: 500, CompletionTokens: 60}
		require.NoError(t, a.Add(r))
	}
	for i := range 10 {
		score := 0.8
		if i < 3 {
			score = 0.2
		}
		require.NoError(t, a.Add(rec("small|model", fmt.Sprint(i), sixWords, &score)))
	}
	failed := rec("small|model", "f", sixWords, nil)
	failed.Judgment = &results.Judgment{Error: &results.Error{Class: errclass.Scorer, Message: "x"}}
	require.NoError(t, a.Add(failed))
	require.NoError(t, a.Add(&results.Record{Schema: 1, Model: "small|model", DocID: "t", Error: &results.Error{Class: errclass.Timeout}}))
	require.NoError(t, a.Add(rec("unscored", "1", sixWords, nil)))
	return a.Stats()
}

func render(t *testing.T, format string, rows []leaderboard.ModelStats) string {
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, format, rows, Options{}))
	return buf.String()
}

const sixWords = "The cat sat on the mat."

func ptr[T any](v T) *T { return &v }

// rec builds a judged record.
func rec(model, doc, summary string, score *float64) *results.Record {
	r := &results.Record{Schema: results.SchemaVersion, Model: model, DocID: doc, Summary: summary}
	if score != nil {
		r.Judgment = &results.Judgment{Scorer: "test", Score: score}
	}
	return r
}

func TestFormatCSV(t *testing.T) {
	out := render(t, "csv", sampleStats(t))
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 4)
	assert.Equal(t, CSVHeader, strings.Join(rows[0][:5], ","))
	assert.Equal(t, append(strings.Split(CSVHeader, ","), csvExtra...), rows[0])
	assert.Equal(t, []string{"good", "0.5", "99.5", "100.0", "6.0"}, rows[1][:5])
	// 10 of 11 valid summaries judged; 11 of 12 documents answered.
	assert.Equal(t, []string{"small|model", "30.0", "70.0", "91.7", "6.0"}, rows[2][:5])
	assert.Equal(t, []string{"unscored", "", "", "100.0", "6.0"}, rows[3][:5], "no score: rates left empty")
	col := func(name string, row []string) string {
		for i, h := range rows[0] {
			if h == name {
				return row[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	assert.Equal(t, "200", col("judged", rows[1]))
	assert.Equal(t, "12000", col("tokens_out", rows[1]))
	assert.Equal(t, "199.5", col("latency_p50_ms", rows[1]))
	assert.Equal(t, "", col("tokens_out", rows[2]), "no usage reported is not zero tokens")
	assert.Equal(t, "1", col("unjudged", rows[2]))
	assert.Equal(t, "1", col("scorer_errors", rows[2]))
	assert.Equal(t, "1", col("generation_errors", rows[2]))
}

func TestFormatJSON(t *testing.T) {
	out := render(t, "json", sampleStats(t))
	var got []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got, 3)
	assert.Equal(t, "good", got[0]["model"])
	assert.InDelta(t, 0.5, got[0]["hallucination_rate"], 1e-12)
	assert.InDelta(t, 200.0, got[0]["judged"], 0)
	assert.Equal(t, map[string]any{"timeout": 1.0}, got[1]["generation_errors"])
	assert.Nil(t, got[2]["hallucination_rate"], "undefined rate is null")
	assert.Nil(t, got[2]["hr_ci_low"])
	lb := got[1]["leaderboard"].(map[string]any)
	assert.Equal(t, 30.0, lb["hallucination_rate"])
	assert.Equal(t, 70.0, lb["factual_consistency_rate"])
}

func TestFormatMarkdown(t *testing.T) {
	out := render(t, "markdown", sampleStats(t))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	// One scorer for every model: a header line says it.
	require.Equal(t, "Scorer: test", lines[0])
	lines = lines[2:]
	require.GreaterOrEqual(t, len(lines), 5)
	assert.True(t, strings.HasPrefix(lines[0], "| Model | Hallucination Rate |"))
	assert.Equal(t, strings.Count(lines[0], "|"), strings.Count(lines[1], "|"))
	assert.Equal(t, "| good | 0.5 % | [0.1, 2.8] | 99.5 % | [97.2, 99.9] | 100.0 % | [98.1, 100.0] | 6.0 | 200 | 200 |", lines[2])
	assert.Contains(t, lines[3], `| small\|model |`, "pipe escaped")
}

func TestFormatTable(t *testing.T) {
	out := render(t, "table", sampleStats(t))
	lines := strings.Split(out, "\n")
	require.Equal(t, "scorer: test", lines[0])
	lines = lines[2:]
	// Header and rows share one width: columns line up.
	assert.Equal(t, len([]rune(lines[0])), len([]rune(lines[1])))
	assert.Equal(t, len([]rune(lines[0])), len([]rune(lines[3])))
	assert.Contains(t, lines[0], "HALLUCINATION % [95% CI]")
	// 1 of 200: the interval is narrow, one decimal.
	assert.Contains(t, lines[1], "0.5 [0.1, 2.8]")
	// 3 of 10: the interval is tens of points wide, whole percents only.
	assert.Contains(t, lines[2], "30 [11, 60]")
	assert.Contains(t, lines[2], "timeout:1 scorer:1")
	assert.Contains(t, lines[3], "unscored")
	assert.Contains(t, out, "UNSCORED:")
	assert.Contains(t, lines[0], "P95 MS")
	assert.Contains(t, lines[0], "TOK OUT/DOC")
}

func TestUnknownFormat(t *testing.T) {
	err := Write(&bytes.Buffer{}, "yaml", nil, Options{})
	assert.ErrorContains(t, err, "table, markdown, csv, json, html")
	assert.NoError(t, Check("html"))
	assert.Equal(t, "md", Ext("markdown"))
	assert.Equal(t, "csv", Ext("csv"))
}

// The html format renders a page from the rows alone.
func TestWriteHTML(t *testing.T) {
	page := render(t, "html", sampleStats(t))
	assert.Contains(t, page, "<html")
	assert.Contains(t, page, "made from statistics alone")
}

func TestIntervalsInEveryFormat(t *testing.T) {
	rows := sampleStats(t)
	require.NoError(t, leaderboard.SetIntervals(rows, leaderboard.IntervalOptions{Method: leaderboard.IntervalBootstrap, Seed: 1, Samples: 500}))

	out := render(t, "csv", rows)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, CSVHeader, strings.Join(recs[0][:5], ","), "the leaderboard's columns come first, unchanged")
	assert.Equal(t, []string{"good", "0.5", "99.5", "100.0", "6.0"}, recs[1][:5])
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, h := range []string{"hr_ci_low", "fcr_ci_high", "ar_ci_low", "ar_ci_high", "ci_method"} {
		require.Contains(t, col, h)
	}
	assert.Equal(t, "bootstrap", recs[2][col["ci_method"]])
	assert.Equal(t, fixed(rows[1].ARLow, 2), recs[2][col["ar_ci_low"]])
	assert.Equal(t, "", recs[1][col["common_documents"]])

	var js []map[string]any
	require.NoError(t, json.Unmarshal([]byte(render(t, "json", rows)), &js))
	assert.InDelta(t, rows[1].FCRLow, js[1]["fcr_ci_low"], 1e-12)
	assert.InDelta(t, rows[1].ARHigh, js[1]["ar_ci_high"], 1e-12)
	assert.Equal(t, "bootstrap", js[1]["ci_method"])
	assert.NotContains(t, js[1], "common_documents")
	assert.Nil(t, js[2]["fcr_ci_low"], "no judged summary: null")

	table := render(t, "table", rows)
	assert.Contains(t, table, "CONSISTENT % [95% CI]")
	assert.Contains(t, table, "ANSWERED % [95% CI]")
	assert.Contains(t, table, "percentile bootstrap")
	md := render(t, "markdown", rows)
	assert.Contains(t, md, "_Intervals: 95% percentile bootstrap over documents._")
	// 11 of 12 answered: the answer rate with its bootstrap interval.
	ar := rows[1]
	assert.Contains(t, table, FormatRate(leaderboard.Round1(ar.AnswerRate), ar.AnswerRate, ar.ARLow, ar.ARHigh))
}

func TestIntervalDecimals(t *testing.T) {
	assert.Equal(t, 0, IntervalDecimals(30, 11, 60))
	assert.Equal(t, 1, IntervalDecimals(0.5, 0.1, 2.8))
	assert.Equal(t, 1, IntervalDecimals(100, 94, 100), "the near side decides")
	assert.Equal(t, "30 [11, 60]", FormatRate(30, 30, 11.2, 60.3))
	assert.Equal(t, "0.5 [0.1, 2.8]", FormatRate(0.5, 0.5, 0.0887, 2.77))
	assert.Equal(t, "", FormatRate(math.NaN(), math.NaN(), math.NaN(), math.NaN()))
}

// --common is said in every format that has room for it.
func TestCommonInFormats(t *testing.T) {
	a := leaderboard.NewAggregator()
	a.KeepForCommon()
	for i := range 4 {
		require.NoError(t, a.Add(rec("a", fmt.Sprint(i), sixWords, ptr(0.9))))
		require.NoError(t, a.Add(rec("b", fmt.Sprint(i), sixWords, ptr(0.1))))
	}
	require.NoError(t, a.Add(rec("a", "x", sixWords, ptr(0.9))))
	rows, n, err := a.CommonStats()
	require.NoError(t, err)
	require.Equal(t, 4, n)
	assert.Contains(t, render(t, "json", rows), `"common_documents": 4`)
	assert.Contains(t, render(t, "markdown", rows), "the 4 documents that every model answered validly")
	assert.NotContains(t, render(t, "json", sampleStats(t)), "common_documents")
}

// Rows judged by different scorers are refused unless allowed; allowed,
// every format names each row's scorer.
func TestMixedScorers(t *testing.T) {
	rows := goldenStats(t, true)
	for _, format := range Formats {
		err := Write(&bytes.Buffer{}, format, rows, Options{})
		var mixed *leaderboard.MixedError
		require.ErrorAs(t, err, &mixed, format)
		assert.ErrorContains(t, err, "flaky: judge 3 model=qwen", format)
	}
	allow := Options{AllowMixedScorers: true}
	for _, format := range []string{"table", "markdown", "csv", "json"} {
		var buf bytes.Buffer
		require.NoError(t, Write(&buf, format, rows, allow))
		assert.Contains(t, buf.String(), "judge 3 model=qwen", format)
		assert.Contains(t, buf.String(), "overlap 1 mode=content", format)
	}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, "table", rows, allow))
	assert.Contains(t, strings.SplitN(buf.String(), "\n", 2)[0], "SCORER", "a column, not a header line")
}

// A fallback scorer and truncation are said in every format.
func TestFallbackAndTruncationInEveryFormat(t *testing.T) {
	rows := goldenStats(t, false)
	for _, format := range []string{"table", "markdown"} {
		out := render(t, format, rows)
		assert.Contains(t, out, "scored with overlap standing in for hhem: cut", format)
		assert.Contains(t, strings.ToLower(out[:40]), "scorer: overlap 1 mode=content", format)
	}
	assert.Contains(t, render(t, "markdown", rows), "cut: 2 summaries cut at the token limit, 1 documents cut")
	assert.Contains(t, render(t, "table", rows), "OUT CUT")

	recs, err := csv.NewReader(strings.NewReader(render(t, "csv", rows))).ReadAll()
	require.NoError(t, err)
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	byModel := map[string][]string{}
	for _, r := range recs[1:] {
		byModel[r[0]] = r
	}
	assert.Equal(t, "hhem", byModel["cut"][col["fallback_for"]])
	assert.Equal(t, "2", byModel["cut"][col["output_truncated"]])
	assert.Equal(t, "1", byModel["cut"][col["input_truncated"]])
	assert.Equal(t, "0", byModel["steady"][col["output_truncated"]])
	assert.Equal(t, "overlap 1 mode=content", byModel["steady"][col["scorer"]])

	var js []map[string]any
	require.NoError(t, json.Unmarshal([]byte(render(t, "json", rows)), &js))
	for _, m := range js {
		if m["model"] == "cut" {
			assert.Equal(t, 2.0, m["output_truncated"])
			assert.Equal(t, 1.0, m["input_truncated"])
			assert.Equal(t, []any{"hhem"}, m["fallback_for"])
		} else {
			assert.Equal(t, 0.0, m["output_truncated"])
		}
		assert.Equal(t, "overlap 1 mode=content", m["scorer"])
		assert.Equal(t, 5.0, m["dataset_documents"])
	}

	// Without truncation the table keeps its columns and says nothing.
	plain := render(t, "table", sampleStats(t))
	assert.NotContains(t, plain, "OUT CUT")
	assert.NotContains(t, plain, "standing in")
}
