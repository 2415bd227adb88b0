package results

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

func init() {
	RegisterReporter("table", ReporterFunc(writeTable))
	RegisterReporter("markdown", markdownReporter{})
	RegisterReporter("csv", ReporterFunc(writeCSV))
	RegisterReporter("json", ReporterFunc(writeJSON))
}

// CSVHeader is the leaderboard's own column set, first in every CSV report.
const CSVHeader = "model,hallucination_rate,factual_consistency_rate,answer_rate,average_summary_length"

// csvExtra follows the leaderboard's columns.
var csvExtra = []string{"hr_ci_low", "hr_ci_high", "documents", "valid", "judged", "unjudged",
	"consistent", "scorer_errors", "generation_errors", "latency_p50_ms", "latency_p95_ms",
	"ttft_p50_ms", "tokens_in", "tokens_out", "tokens_in_mean", "tokens_out_mean"}

func writeCSV(w io.Writer, stats []ModelStats) error {
	cw := csv.NewWriter(w)
	header := append(strings.Split(CSVHeader, ","), csvExtra...)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, s := range stats {
		hr, fcr, ar, words := s.Leaderboard()
		row := []string{s.Model, Fixed1(hr), Fixed1(fcr), Fixed1(ar), Fixed1(words),
			fixed(s.HRLow, 2), fixed(s.HRHigh, 2),
			itoa(s.Documents), itoa(s.Valid), itoa(s.Judged), itoa(s.Unjudged),
			itoa(s.Consistent), itoa(s.ScorerErrors), itoa(sumCounts(s.GenerationErrors)),
			fixed(s.LatencyP50MS, 1), fixed(s.LatencyP95MS, 1), fixed(s.TTFTP50MS, 1),
			usageSum(s, s.TokensIn), usageSum(s, s.TokensOut),
			fixed(s.TokensInMean, 1), fixed(s.TokensOutMean, 1)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int) string { return strconv.Itoa(n) }

// usageSum leaves the cell empty when no record reported usage, so that
// "unknown" does not read as zero tokens.
func usageSum(s ModelStats, n int64) string {
	if s.UsageDocs == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// jsonNum writes NaN (a rate with no denominator) as null.
type jsonNum float64

func (n jsonNum) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(n), 'g', -1, 64), nil
}

// jsonStats is the JSON report's object: every statistic, unrounded, plus
// the leaderboard's rounded figures.
type jsonStats struct {
	Model                  string         `json:"model"`
	HallucinationRate      jsonNum        `json:"hallucination_rate"`
	HRCILow                jsonNum        `json:"hr_ci_low"`
	HRCIHigh               jsonNum        `json:"hr_ci_high"`
	FactualConsistencyRate jsonNum        `json:"factual_consistency_rate"`
	AnswerRate             jsonNum        `json:"answer_rate"`
	AverageSummaryLength   jsonNum        `json:"average_summary_length"`
	Documents              int            `json:"documents"`
	Valid                  int            `json:"valid"`
	Invalid                map[string]int `json:"invalid"`
	GenerationErrors       map[string]int `json:"generation_errors"`
	Judged                 int            `json:"judged"`
	Unjudged               int            `json:"unjudged"`
	ScorerErrors           int            `json:"scorer_errors"`
	Consistent             int            `json:"consistent"`
	Hallucinated           int            `json:"hallucinated"`
	LatencyN               int            `json:"latency_n"`
	LatencyP50MS           jsonNum        `json:"latency_p50_ms"`
	LatencyP95MS           jsonNum        `json:"latency_p95_ms"`
	TTFTP50MS              jsonNum        `json:"ttft_p50_ms"`
	UsageDocs              int            `json:"usage_docs"`
	TokensIn               int64          `json:"tokens_in"`
	TokensOut              int64          `json:"tokens_out"`
	TokensInMean           jsonNum        `json:"tokens_in_mean"`
	TokensOutMean          jsonNum        `json:"tokens_out_mean"`
	Leaderboard            struct {
		HallucinationRate      jsonNum `json:"hallucination_rate"`
		FactualConsistencyRate jsonNum `json:"factual_consistency_rate"`
		AnswerRate             jsonNum `json:"answer_rate"`
		AverageSummaryLength   jsonNum `json:"average_summary_length"`
	} `json:"leaderboard"`
}

func writeJSON(w io.Writer, stats []ModelStats) error {
	out := make([]jsonStats, len(stats))
	for i, s := range stats {
		j := jsonStats{
			Model: s.Model, HallucinationRate: jsonNum(s.HallucinationRate),
			HRCILow: jsonNum(s.HRLow), HRCIHigh: jsonNum(s.HRHigh),
			FactualConsistencyRate: jsonNum(s.FactualConsistencyRate), AnswerRate: jsonNum(s.AnswerRate),
			AverageSummaryLength: jsonNum(s.AvgSummaryWords),
			Documents:            s.Documents, Valid: s.Valid, Invalid: nonNil(s.Invalid),
			GenerationErrors: nonNil(s.GenerationErrors), Judged: s.Judged, Unjudged: s.Unjudged,
			ScorerErrors: s.ScorerErrors, Consistent: s.Consistent, Hallucinated: s.Hallucinated,
			LatencyN: s.LatencyN, LatencyP50MS: jsonNum(s.LatencyP50MS), LatencyP95MS: jsonNum(s.LatencyP95MS),
			TTFTP50MS: jsonNum(s.TTFTP50MS), UsageDocs: s.UsageDocs, TokensIn: s.TokensIn, TokensOut: s.TokensOut,
			TokensInMean: jsonNum(s.TokensInMean), TokensOutMean: jsonNum(s.TokensOutMean),
		}
		hr, fcr, ar, words := s.Leaderboard()
		j.Leaderboard.HallucinationRate, j.Leaderboard.FactualConsistencyRate = jsonNum(hr), jsonNum(fcr)
		j.Leaderboard.AnswerRate, j.Leaderboard.AverageSummaryLength = jsonNum(ar), jsonNum(words)
		out[i] = j
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

type markdownReporter struct{}

func (markdownReporter) Extension() string { return "md" }

func (markdownReporter) Write(w io.Writer, stats []ModelStats) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "| Model | Hallucination Rate | 95% CI | Factual Consistency Rate | Answer Rate | Average Summary Length (Words) | Documents | Judged |")
	fmt.Fprintln(bw, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range stats {
		hr, fcr, ar, words := s.Leaderboard()
		ci := ""
		if !math.IsNaN(s.HRLow) {
			ci = "[" + Fixed1(Round1(s.HRLow)) + ", " + Fixed1(Round1(s.HRHigh)) + "]"
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %d | %d |\n", markdownEscape(s.Model),
			pct(hr), ci, pct(fcr), pct(ar), Fixed1(words), s.Documents, s.Judged)
	}
	return bw.Flush()
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return ""
	}
	return Fixed1(x) + " %"
}

func markdownEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// writeTable prints an aligned text table for a terminal. The hallucination
// rate carries its 95% interval and, in benchstat's spirit, only the digits
// the interval supports: whole percents when it reaches a point or more on
// both sides of the estimate, one decimal (the leaderboard's) otherwise. The
// nearer side decides, because near 0% the interval is lopsided and a rate
// of 0.5 [0.1, 2.8] would lose its meaning as 1 [0, 3].
func writeTable(w io.Writer, stats []ModelStats) error {
	var latency, ttft, usage, unjudged, errs bool
	for _, s := range stats {
		latency = latency || s.LatencyN > 0
		ttft = ttft || !math.IsNaN(s.TTFTP50MS)
		usage = usage || s.UsageDocs > 0
		unjudged = unjudged || s.Unjudged > 0
		errs = errs || len(s.GenerationErrors) > 0 || s.ScorerErrors > 0
	}
	cols := []column{
		{"MODEL", func(s ModelStats) string { return s.Model }},
		{"HALLUCINATION % [95% CI]", hrWithCI},
		{"CONSISTENT %", func(s ModelStats) string { _, fcr, _, _ := s.Leaderboard(); return Fixed1(fcr) }},
		{"ANSWERED %", func(s ModelStats) string { _, _, ar, _ := s.Leaderboard(); return Fixed1(ar) }},
		{"AVG WORDS", func(s ModelStats) string { _, _, _, words := s.Leaderboard(); return Fixed1(words) }},
		{"DOCS", func(s ModelStats) string { return itoa(s.Documents) }},
		{"JUDGED", func(s ModelStats) string { return itoa(s.Judged) }},
	}
	if unjudged {
		cols = append(cols, column{"UNSCORED", func(s ModelStats) string { return itoa(s.Unjudged) }})
	}
	if errs {
		cols = append(cols, column{"ERRORS", errorSummary})
	}
	if latency {
		cols = append(cols,
			column{"P50 MS", func(s ModelStats) string { return fixed(s.LatencyP50MS, 0) }},
			column{"P95 MS", func(s ModelStats) string { return fixed(s.LatencyP95MS, 0) }})
	}
	if ttft {
		cols = append(cols, column{"TTFT P50 MS", func(s ModelStats) string { return fixed(s.TTFTP50MS, 0) }})
	}
	if usage {
		cols = append(cols,
			column{"TOK IN/DOC", func(s ModelStats) string { return fixed(s.TokensInMean, 0) }},
			column{"TOK OUT/DOC", func(s ModelStats) string { return fixed(s.TokensOutMean, 0) }})
	}
	cells := make([][]string, 0, len(stats)+1)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.name
	}
	cells = append(cells, head)
	for _, s := range stats {
		row := make([]string, len(cols))
		for i, c := range cols {
			row[i] = c.cell(s)
			if row[i] == "" {
				row[i] = "-"
			}
		}
		cells = append(cells, row)
	}
	bw := bufio.NewWriter(w)
	writeAligned(bw, cells)
	if unjudged {
		fmt.Fprintln(bw, "\nUNSCORED: valid summaries without a score (not judged yet, or the scorer failed); rates cover the judged ones.")
	}
	return bw.Flush()
}

type column struct {
	name string
	cell func(ModelStats) string
}

func hrWithCI(s ModelStats) string {
	if math.IsNaN(s.HallucinationRate) {
		return ""
	}
	if min(s.HallucinationRate-s.HRLow, s.HRHigh-s.HallucinationRate) >= 1 {
		return fmt.Sprintf("%s [%s, %s]", fixed(s.HallucinationRate, 0), fixed(s.HRLow, 0), fixed(s.HRHigh, 0))
	}
	hr, _, _, _ := s.Leaderboard()
	return fmt.Sprintf("%s [%s, %s]", Fixed1(hr), Fixed1(Round1(s.HRLow)), Fixed1(Round1(s.HRHigh)))
}

// errorSummary lists generation errors by class and scorer errors, e.g.
// "timeout:3 scorer:1".
func errorSummary(s ModelStats) string {
	classes := make([]string, 0, len(s.GenerationErrors))
	for c := range s.GenerationErrors {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var parts []string
	for _, c := range classes {
		parts = append(parts, fmt.Sprintf("%s:%d", c, s.GenerationErrors[c]))
	}
	if s.ScorerErrors > 0 {
		parts = append(parts, fmt.Sprintf("%s:%d", ErrClassScorer, s.ScorerErrors))
	}
	return strings.Join(parts, " ")
}

// writeAligned pads the first column on the right and the others (numbers)
// on the left, two spaces apart.
func writeAligned(w io.Writer, cells [][]string) {
	if len(cells) == 0 {
		return
	}
	width := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, row := range cells {
		b.Reset()
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0:
				b.WriteString(c)
				if len(row) > 1 {
					b.WriteString(pad)
				}
			default:
				b.WriteString("  ")
				b.WriteString(pad)
				b.WriteString(c)
			}
		}
		b.WriteByte('\n')
		io.WriteString(w, b.String())
	}
}
