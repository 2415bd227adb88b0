package results

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleStats: "good" hallucinates on 1 of 200 judged summaries, "small" on
// 3 of 10 with one scorer failure and a timeout, "unscored" has no judgment.
func sampleStats(t *testing.T) []ModelStats {
	a := NewAggregator()
	for i := range 200 {
		score := 0.9
		if i == 0 {
			score = 0.1
		}
		r := rec("good", fmt.Sprint(i), sixWords, &score)
		r.LatencyMS = float64(100 + i)
		r.Usage = &Usage{PromptTokens: 500, CompletionTokens: 60}
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
	failed.Judgment = &Judgment{Error: &Error{Class: ErrClassScorer, Message: "x"}}
	require.NoError(t, a.Add(failed))
	require.NoError(t, a.Add(&Record{Schema: 1, Model: "small|model", DocID: "t", Error: &Error{Class: ErrClassTimeout}}))
	require.NoError(t, a.Add(rec("unscored", "1", sixWords, nil)))
	return a.Stats()
}

func render(t *testing.T, format string, stats []ModelStats) string {
	r, err := LookupReporter(format)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, r.Write(&buf, stats))
	return buf.String()
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
	require.Len(t, lines, 5)
	assert.True(t, strings.HasPrefix(lines[0], "| Model | Hallucination Rate |"))
	assert.Equal(t, strings.Count(lines[0], "|"), strings.Count(lines[1], "|"))
	assert.Equal(t, "| good | 0.5 % | [0.1, 2.8] | 99.5 % | [97.2, 99.9] | 100.0 % | [98.1, 100.0] | 6.0 | 200 | 200 |", lines[2])
	assert.Contains(t, lines[3], `| small\|model |`, "pipe escaped")
	assert.Equal(t, "md", ReporterExt("markdown"))
	assert.Equal(t, "csv", ReporterExt("csv"))
}

func TestFormatTable(t *testing.T) {
	out := render(t, "table", sampleStats(t))
	lines := strings.Split(out, "\n")
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

func TestLookupReporterUnknown(t *testing.T) {
	_, err := LookupReporter("yaml")
	assert.ErrorContains(t, err, "csv, json, markdown, table")
}
