package report

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

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/scorers"
)

// CSVHeader is the leaderboard's own column set, first in every CSV report.
const CSVHeader = "model,hallucination_rate,factual_consistency_rate,answer_rate,average_summary_length"

// csvExtra follows the leaderboard's columns.
var csvExtra = []string{"hr_ci_low", "hr_ci_high", "documents", "valid", "judged", "unjudged",
	"consistent", "scorer_errors", "generation_errors", "latency_p50_ms", "latency_p95_ms",
	"ttft_p50_ms", "tokens_in", "tokens_out", "tokens_in_mean", "tokens_out_mean",
	"fcr_ci_low", "fcr_ci_high", "ar_ci_low", "ar_ci_high", "ci_method", "common_documents",
	"scorer", "scorer_key", "fallback_for", "prompt_hash", "dataset_sha256", "dataset_documents",
	"output_truncated", "input_truncated"}

func writeCSV(w io.Writer, stats []leaderboard.ModelStats, cal *calibration.Correction) error {
	cw := csv.NewWriter(w)
	header := append(strings.Split(CSVHeader, ","), csvExtra...)
	flips := anyRepeated(stats)
	if flips {
		header = append(header, "repeated", "verdict_flipped")
	}
	if cal != nil {
		header = append(header, csvCorrected...)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, s := range stats {
		hr, fcr, ar, words := s.Leaderboard()
		row := []string{s.Model, leaderboard.Fixed1(hr), leaderboard.Fixed1(fcr), leaderboard.Fixed1(ar), leaderboard.Fixed1(words),
			fixed(s.HRLow, 2), fixed(s.HRHigh, 2),
			itoa(s.Documents), itoa(s.Valid), itoa(s.Judged), itoa(s.Unjudged),
			itoa(s.Consistent), itoa(s.ScorerErrors), itoa(sumCounts(s.GenerationErrors)),
			fixed(s.LatencyP50MS, 1), fixed(s.LatencyP95MS, 1), fixed(s.TTFTP50MS, 1),
			usageSum(s, s.TokensIn), usageSum(s, s.TokensOut),
			fixed(s.TokensInMean, 1), fixed(s.TokensOutMean, 1),
			fixed(s.FCRLow, 2), fixed(s.FCRHigh, 2), fixed(s.ARLow, 2), fixed(s.ARHigh, 2),
			s.CI, commonDocs(s),
			s.Provenance.Scorer(), s.Provenance.ScorerKey(), strings.Join(s.Provenance.FallbackFor, " "),
			strings.Join(s.Provenance.PromptHashes, " "), s.Provenance.DatasetFingerprint, datasetDocs(s),
			itoa(s.OutputTruncated), itoa(s.InputTruncated)}
		if flips {
			row = append(row, itoa(s.Repeated), itoa(s.Flipped))
		}
		if cal != nil {
			row = append(row, correctedCSV(cal, s.Model)...)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int) string { return strconv.Itoa(n) }

// fixed formats x with the given decimals; "" for NaN, which marks a rate
// that has no denominator.
func fixed(x float64, decimals int) string {
	if math.IsNaN(x) {
		return ""
	}
	return strconv.FormatFloat(x, 'f', decimals, 64)
}

// commonDocs leaves the cell empty outside `report --common`.
func commonDocs(s leaderboard.ModelStats) string {
	if !s.Common {
		return ""
	}
	return itoa(s.CommonDocs)
}

// datasetDocs leaves the cell empty when the records said nothing.
func datasetDocs(s leaderboard.ModelStats) string {
	if s.Provenance.DatasetFingerprint == "" {
		return ""
	}
	return itoa(s.Provenance.DatasetDocuments)
}

// usageSum leaves the cell empty when no record reported usage, so that
// "unknown" does not read as zero tokens.
func usageSum(s leaderboard.ModelStats, n int64) string {
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

// JSONFloat is a float64 that JSON reports write as null when it is NaN (a
// rate with no denominator) or infinite, which encoding/json refuses.
type JSONFloat float64

func (n JSONFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(n), 'g', -1, 64), nil
}

// jsonStats is the JSON report's object: every statistic, unrounded, plus
// the leaderboard's rounded figures.
type jsonStats struct {
	Model                  string         `json:"model"`
	HallucinationRate      JSONFloat      `json:"hallucination_rate"`
	HRCILow                JSONFloat      `json:"hr_ci_low"`
	HRCIHigh               JSONFloat      `json:"hr_ci_high"`
	FactualConsistencyRate JSONFloat      `json:"factual_consistency_rate"`
	FCRCILow               JSONFloat      `json:"fcr_ci_low"`
	FCRCIHigh              JSONFloat      `json:"fcr_ci_high"`
	AnswerRate             JSONFloat      `json:"answer_rate"`
	ARCILow                JSONFloat      `json:"ar_ci_low"`
	ARCIHigh               JSONFloat      `json:"ar_ci_high"`
	AverageSummaryLength   JSONFloat      `json:"average_summary_length"`
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
	LatencyP50MS           JSONFloat      `json:"latency_p50_ms"`
	LatencyP95MS           JSONFloat      `json:"latency_p95_ms"`
	TTFTP50MS              JSONFloat      `json:"ttft_p50_ms"`
	UsageDocs              int            `json:"usage_docs"`
	TokensIn               int64          `json:"tokens_in"`
	TokensOut              int64          `json:"tokens_out"`
	TokensInMean           JSONFloat      `json:"tokens_in_mean"`
	TokensOutMean          JSONFloat      `json:"tokens_out_mean"`
	CIMethod               string         `json:"ci_method"`
	// CommonDocuments is the number of documents every model answered
	// validly, present only in `report --common` output.
	CommonDocuments *int `json:"common_documents,omitempty"`

	// What the records say about how they were made.
	Scorer             string            `json:"scorer"`
	ScorerKey          string            `json:"scorer_key"`
	ScorerIdentity     *scorers.Identity `json:"scorer_identity"`
	FallbackFor        []string          `json:"fallback_for"`
	PromptHashes       []string          `json:"prompt_hashes"`
	Params             []json.RawMessage `json:"params"`
	Endpoints          []string          `json:"endpoints"`
	ServedModels       []string          `json:"served_models"`
	SystemFingerprints []string          `json:"system_fingerprints"`
	DatasetSHA256      string            `json:"dataset_sha256"`
	DatasetDocuments   int               `json:"dataset_documents"`
	OutputTruncated    int               `json:"output_truncated"`
	InputTruncated     int               `json:"input_truncated"`
	// LatencyQueued counts records whose latency includes time queued
	// for a server slot; absent when none.
	LatencyQueued int `json:"latency_queued,omitempty"`
	// Repeated, VerdictFlipped and its rate (a percentage of Repeated)
	// are present only when some judgment holds repeated verdicts.
	Repeated           *int       `json:"repeated,omitempty"`
	VerdictFlipped     *int       `json:"verdict_flipped,omitempty"`
	VerdictFlippedRate *JSONFloat `json:"verdict_flipped_rate,omitempty"`
	// Corrected is the rate corrected for the judge's measured error,
	// present only with a calibration (report --calibration).
	Corrected *jsonCorrected `json:"corrected,omitempty"`

	Leaderboard struct {
		HallucinationRate      JSONFloat `json:"hallucination_rate"`
		FactualConsistencyRate JSONFloat `json:"factual_consistency_rate"`
		AnswerRate             JSONFloat `json:"answer_rate"`
		AverageSummaryLength   JSONFloat `json:"average_summary_length"`
	} `json:"leaderboard"`
}

func writeJSON(w io.Writer, stats []leaderboard.ModelStats, cal *calibration.Correction) error {
	out := make([]jsonStats, len(stats))
	flips := anyRepeated(stats)
	for i, s := range stats {
		j := jsonStats{
			Model: s.Model, HallucinationRate: JSONFloat(s.HallucinationRate),
			HRCILow: JSONFloat(s.HRLow), HRCIHigh: JSONFloat(s.HRHigh),
			FactualConsistencyRate: JSONFloat(s.FactualConsistencyRate), AnswerRate: JSONFloat(s.AnswerRate),
			FCRCILow: JSONFloat(s.FCRLow), FCRCIHigh: JSONFloat(s.FCRHigh),
			ARCILow: JSONFloat(s.ARLow), ARCIHigh: JSONFloat(s.ARHigh), CIMethod: s.CI,
			AverageSummaryLength: JSONFloat(s.AvgSummaryWords),
			Documents:            s.Documents, Valid: s.Valid, Invalid: nonNil(s.Invalid),
			GenerationErrors: nonNil(s.GenerationErrors), Judged: s.Judged, Unjudged: s.Unjudged,
			ScorerErrors: s.ScorerErrors, Consistent: s.Consistent, Hallucinated: s.Hallucinated,
			LatencyN: s.LatencyN, LatencyP50MS: JSONFloat(s.LatencyP50MS), LatencyP95MS: JSONFloat(s.LatencyP95MS),
			TTFTP50MS: JSONFloat(s.TTFTP50MS), UsageDocs: s.UsageDocs, TokensIn: s.TokensIn, TokensOut: s.TokensOut,
			TokensInMean: JSONFloat(s.TokensInMean), TokensOutMean: JSONFloat(s.TokensOutMean),
		}
		if s.Common {
			j.CommonDocuments = &s.CommonDocs
		}
		p := s.Provenance
		j.Scorer, j.ScorerKey = p.Scorer(), p.ScorerKey()
		if len(p.Scorers) > 0 {
			j.ScorerIdentity = &p.Scorers[0].Identity
		}
		j.FallbackFor, j.PromptHashes = nonNilStrings(p.FallbackFor), nonNilStrings(p.PromptHashes)
		j.Params = make([]json.RawMessage, len(p.Params))
		for i, v := range p.Params {
			j.Params[i] = json.RawMessage(v)
		}
		j.Endpoints, j.ServedModels = nonNilStrings(p.Endpoints), nonNilStrings(p.ServedModels)
		j.SystemFingerprints = nonNilStrings(p.SystemFingerprints)
		j.DatasetSHA256, j.DatasetDocuments = p.DatasetFingerprint, p.DatasetDocuments
		j.OutputTruncated, j.InputTruncated = s.OutputTruncated, s.InputTruncated
		j.LatencyQueued = s.LatencyQueued
		if flips {
			rate := JSONFloat(flipRate(s))
			j.Repeated, j.VerdictFlipped, j.VerdictFlippedRate = &s.Repeated, &s.Flipped, &rate
		}
		if cal != nil {
			j.Corrected = correctedJSON(cal, s.Model)
		}
		hr, fcr, ar, words := s.Leaderboard()
		j.Leaderboard.HallucinationRate, j.Leaderboard.FactualConsistencyRate = JSONFloat(hr), JSONFloat(fcr)
		j.Leaderboard.AnswerRate, j.Leaderboard.AverageSummaryLength = JSONFloat(ar), JSONFloat(words)
		out[i] = j
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

func writeMarkdown(w io.Writer, stats []leaderboard.ModelStats) error {
	bw := bufio.NewWriter(w)
	mixed := leaderboard.MixedScorers(stats)
	if sc := sharedScorer(stats); sc != "" {
		fmt.Fprintf(bw, "Scorer: %s\n\n", markdownEscape(sc))
	}
	scorerHead, scorerRule := "", ""
	if mixed {
		scorerHead, scorerRule = " Scorer |", "---|"
	}
	flips := anyRepeated(stats)
	flipHead, flipRule := "", ""
	if flips {
		flipHead, flipRule = " Verdict Flipped |", "---:|"
	}
	fmt.Fprintln(bw, "| Model |"+scorerHead+" Hallucination Rate | 95% CI | Factual Consistency Rate | 95% CI | Answer Rate | 95% CI | Average Summary Length (Words) | Documents | Judged |"+flipHead)
	fmt.Fprintln(bw, "|---|"+scorerRule+"---:|---:|---:|---:|---:|---:|---:|---:|---:|"+flipRule)
	for _, s := range stats {
		hr, fcr, ar, words := s.Leaderboard()
		scorer := ""
		if mixed {
			scorer = " " + markdownEscape(s.Provenance.Scorer()) + " |"
		}
		flip := ""
		if flips {
			flip = " " + flipCell(s) + " |"
		}
		fmt.Fprintf(bw, "| %s |%s %s | %s | %s | %s | %s | %s | %s | %d | %d |%s\n", markdownEscape(s.Model), scorer,
			pct(hr), bracket1(s.HRLow, s.HRHigh), pct(fcr), bracket1(s.FCRLow, s.FCRHigh),
			pct(ar), bracket1(s.ARLow, s.ARHigh), leaderboard.Fixed1(words), s.Documents, s.Judged, flip)
	}
	if note := footnote(stats); note != "" {
		fmt.Fprintf(bw, "\n_%s_\n", note)
	}
	if flips {
		fmt.Fprintf(bw, "\n_Verdict Flipped: %s_\n", flipNote)
	}
	for _, n := range notices(stats) {
		fmt.Fprintf(bw, "\n**%s**\n", markdownEscape(n))
	}
	return bw.Flush()
}

// sharedScorer is the scorer identity every judged model shares, for a
// header line; "" when they differ (a column says it then) or none was
// judged.
func sharedScorer(stats []leaderboard.ModelStats) string {
	if leaderboard.MixedScorers(stats) {
		return ""
	}
	for _, s := range stats {
		if sc := s.Provenance.Scorer(); sc != "" {
			return sc
		}
	}
	return ""
}

// notices are what the table and Markdown say below the rows about how the
// records were made: a fallback scorer, truncated summaries or documents,
// models that differ in prompt or dataset.
func notices(stats []leaderboard.ModelStats) []string {
	var out []string
	for _, f := range leaderboard.Fallbacks(stats) {
		out = append(out, "Note: "+f.String()+".")
	}
	var cut []string
	for _, s := range stats {
		if s.OutputTruncated == 0 && s.InputTruncated == 0 {
			continue
		}
		cut = append(cut, fmt.Sprintf("%s: %d summaries cut at the token limit, %d documents cut to the server's context", s.Model, s.OutputTruncated, s.InputTruncated))
	}
	if len(cut) > 0 {
		out = append(out, "Truncated: "+strings.Join(cut, "; ")+".")
	}
	for _, w := range leaderboard.Warnings(stats) {
		out = append(out, "Warning: "+w+".")
	}
	return out
}

// bracket1 is an interval with the leaderboard's one decimal, "" when
// undefined.
func bracket1(lo, hi float64) string {
	if math.IsNaN(lo) {
		return ""
	}
	return "[" + leaderboard.Fixed1(leaderboard.Round1(lo)) + ", " + leaderboard.Fixed1(leaderboard.Round1(hi)) + "]"
}

// footnote says what a reader cannot guess from the columns: a method other
// than the default Wilson intervals, and the --common protocol. "" when
// neither applies.
func footnote(stats []leaderboard.ModelStats) string {
	var notes []string
	if len(stats) > 0 && stats[0].CI == leaderboard.IntervalBootstrap {
		notes = append(notes, "Intervals: 95% percentile bootstrap over documents.")
	}
	if len(stats) > 0 && stats[0].Common {
		notes = append(notes, fmt.Sprintf("Hallucination and consistency rates cover the %d documents that every model answered validly; answer rates cover all documents.", stats[0].CommonDocs))
	}
	return strings.Join(notes, " ")
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return ""
	}
	return leaderboard.Fixed1(x) + " %"
}

func markdownEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// writeTable prints an aligned text table for a terminal. The hallucination
// rate carries its 95% interval and, in benchstat's spirit, only the digits
// the interval supports: whole percents when it reaches a point or more on
// both sides of the estimate, one decimal (the leaderboard's) otherwise. The
// nearer side decides, because near 0% the interval is lopsided and a rate
// of 0.5 [0.1, 2.8] would lose its meaning as 1 [0, 3].
func writeTable(w io.Writer, stats []leaderboard.ModelStats) error {
	var latency, ttft, usage, unjudged, errs, cut bool
	for _, s := range stats {
		cut = cut || s.OutputTruncated > 0 || s.InputTruncated > 0
		latency = latency || s.LatencyN > 0
		ttft = ttft || !math.IsNaN(s.TTFTP50MS)
		usage = usage || s.UsageDocs > 0
		unjudged = unjudged || s.Unjudged > 0
		errs = errs || len(s.GenerationErrors) > 0 || s.ScorerErrors > 0
	}
	cols := []column{
		{"MODEL", func(s leaderboard.ModelStats) string { return s.Model }},
	}
	if leaderboard.MixedScorers(stats) {
		cols = append(cols, column{"SCORER", func(s leaderboard.ModelStats) string { return s.Provenance.Scorer() }})
	}
	cols = append(cols, []column{
		{"HALLUCINATION % [95% CI]", func(s leaderboard.ModelStats) string {
			hr, _, _, _ := s.Leaderboard()
			return FormatRate(hr, s.HallucinationRate, s.HRLow, s.HRHigh)
		}},
		{"CONSISTENT % [95% CI]", func(s leaderboard.ModelStats) string {
			_, fcr, _, _ := s.Leaderboard()
			return FormatRate(fcr, s.FactualConsistencyRate, s.FCRLow, s.FCRHigh)
		}},
		{"ANSWERED % [95% CI]", func(s leaderboard.ModelStats) string {
			_, _, ar, _ := s.Leaderboard()
			return FormatRate(ar, s.AnswerRate, s.ARLow, s.ARHigh)
		}},
		{"AVG WORDS", func(s leaderboard.ModelStats) string {
			_, _, _, words := s.Leaderboard()
			return leaderboard.Fixed1(words)
		}},
		{"DOCS", func(s leaderboard.ModelStats) string { return itoa(s.Documents) }},
		{"JUDGED", func(s leaderboard.ModelStats) string { return itoa(s.Judged) }},
	}...)
	if unjudged {
		cols = append(cols, column{"UNSCORED", func(s leaderboard.ModelStats) string { return itoa(s.Unjudged) }})
	}
	if errs {
		cols = append(cols, column{"ERRORS", errorSummary})
	}
	if latency {
		cols = append(cols,
			column{"P50 MS", func(s leaderboard.ModelStats) string { return fixed(s.LatencyP50MS, 0) }},
			column{"P95 MS", func(s leaderboard.ModelStats) string { return fixed(s.LatencyP95MS, 0) }})
	}
	if ttft {
		cols = append(cols, column{"TTFT P50 MS", func(s leaderboard.ModelStats) string { return fixed(s.TTFTP50MS, 0) }})
	}
	if cut {
		cols = append(cols,
			column{"OUT CUT", func(s leaderboard.ModelStats) string { return itoa(s.OutputTruncated) }},
			column{"IN CUT", func(s leaderboard.ModelStats) string { return itoa(s.InputTruncated) }})
	}
	if usage {
		cols = append(cols,
			column{"TOK IN/DOC", func(s leaderboard.ModelStats) string { return fixed(s.TokensInMean, 0) }},
			column{"TOK OUT/DOC", func(s leaderboard.ModelStats) string { return fixed(s.TokensOutMean, 0) }})
	}
	flips := anyRepeated(stats)
	if flips {
		cols = append(cols, column{"FLIPPED", flipCell})
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
	if sc := sharedScorer(stats); sc != "" {
		fmt.Fprintf(bw, "scorer: %s\n\n", sc)
	}
	writeAligned(bw, cells)
	if unjudged {
		fmt.Fprintln(bw, "\nUNSCORED: valid summaries without a score (not judged yet, or the scorer failed); rates cover the judged ones.")
	}
	if cut {
		fmt.Fprintln(bw, "\nOUT CUT: summaries cut at the token limit (finish_reason length); IN CUT: documents the server cut to its context, so it summarized part of them.")
	}
	if note := footnote(stats); note != "" {
		fmt.Fprintln(bw, "\n"+note)
	}
	if flips {
		fmt.Fprintln(bw, "\nFLIPPED: "+flipNote)
	}
	for _, n := range notices(stats) {
		if !strings.HasPrefix(n, "Truncated: ") { // the columns say it
			fmt.Fprintln(bw, "\n"+n)
		}
	}
	return bw.Flush()
}

type column struct {
	name string
	cell func(leaderboard.ModelStats) string
}

// FormatRate writes a rate (a percentage) and its interval with the digits
// the interval supports (see IntervalDecimals), e.g. "53 [41, 65]" or
// "0.5 [0.1, 2.8]"; "" when the rate is NaN. shown1 is the rate as the
// leaderboard rounds it, used when one decimal is called for, so that a
// table agrees with the published figures; pass leaderboard.Round1(rate) otherwise.
func FormatRate(shown1, rate, lo, hi float64) string {
	if math.IsNaN(rate) {
		return ""
	}
	if math.IsNaN(lo) {
		return leaderboard.Fixed1(shown1)
	}
	if IntervalDecimals(rate, lo, hi) == 0 {
		return fmt.Sprintf("%s [%s, %s]", fixed(rate, 0), fixed(lo, 0), fixed(hi, 0))
	}
	return fmt.Sprintf("%s [%s, %s]", leaderboard.Fixed1(shown1), leaderboard.Fixed1(leaderboard.Round1(lo)), leaderboard.Fixed1(leaderboard.Round1(hi)))
}

// IntervalDecimals is how many decimals an estimate with the interval
// [lo, hi] deserves, in benchstat's spirit: none when the interval reaches a
// point or more on both sides of the estimate, one (the leaderboard's)
// otherwise. The nearer side decides, because near 0% an interval is
// lopsided and 0.5 [0.1, 2.8] would lose its meaning as 1 [0, 3].
func IntervalDecimals(est, lo, hi float64) int {
	if min(est-lo, hi-est) >= 1 {
		return 0
	}
	return 1
}

// errorSummary lists generation errors by class and scorer errors, e.g.
// "timeout:3 scorer:1".
func errorSummary(s leaderboard.ModelStats) string {
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
		parts = append(parts, fmt.Sprintf("%s:%d", errclass.Scorer, s.ScorerErrors))
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

// flipNote explains the verdict-flipped figure.
const flipNote = "of the documents judged several times (judge repeat=k), the share whose verdicts were not unanimous; the score counted is the majority's."

// anyRepeated is whether some row has repeated verdicts: only then do the
// formats show the verdict-flipped figure, so reports of single verdicts
// stay as they were.
func anyRepeated(stats []leaderboard.ModelStats) bool {
	for _, s := range stats {
		if s.Repeated > 0 {
			return true
		}
	}
	return false
}

// flipRate is the percentage of repeated judgments whose verdicts flipped;
// NaN when none was repeated.
func flipRate(s leaderboard.ModelStats) float64 {
	if s.Repeated == 0 {
		return math.NaN()
	}
	return float64(s.Flipped) / float64(s.Repeated) * 100
}

// flipCell is "33.3 % (1/3)"; "" when the model has no repeated judgment.
func flipCell(s leaderboard.ModelStats) string {
	if s.Repeated == 0 {
		return ""
	}
	return fmt.Sprintf("%s %% (%d/%d)", leaderboard.Fixed1(leaderboard.Round1(flipRate(s))), s.Flipped, s.Repeated)
}
