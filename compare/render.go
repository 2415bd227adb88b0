package compare

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/report"
	"github.com/hallu-eval/hallu/results"
)

// signed formats a change in points with its sign and the given decimals;
// "-" for NaN.
func signed(x float64, decimals int) string {
	if math.IsNaN(x) {
		return "-"
	}
	s := fmt.Sprintf("%+.*f", decimals, x)
	if strings.Trim(s[1:], "0.") == "" {
		return s[1:] // zero at this precision takes no sign
	}
	return s
}

// change formats a difference and its interval with the digits the interval
// supports.
func change(p Paired) string {
	if math.IsNaN(p.Diff) {
		return "-"
	}
	d := report.IntervalDecimals(p.Diff, p.DiffLow, p.DiffHigh)
	return fmt.Sprintf("%s [%s, %s]", signed(p.Diff, d), signed(p.DiffLow, d), signed(p.DiffHigh, d))
}

// rate formats a percentage and its interval with the digits the interval
// supports, "-" when undefined.
func rate(x, lo, hi float64) string {
	if s := report.FormatRate(leaderboard.Round1(x), x, lo, hi); s != "" {
		return s
	}
	return "-"
}

// formatP gives a p-value two significant digits.
func formatP(p float64) string { return strconv.FormatFloat(p, 'g', 2, 64) }

func trimFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func score(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }

// method describes how the numbers were computed, for a footnote.
func (r *Result) method() string {
	ci := "Wilson score"
	if r.Base.CI == leaderboard.IntervalBootstrap {
		ci = "percentile bootstrap"
	}
	return fmt.Sprintf("Rates: each model on the shared documents, 95%% %s intervals. Changes: candidate − baseline on the documents both answered validly (answer rate: all shared documents; hallucination rate: those also scored under both), 95%% paired bootstrap intervals (%d resamples, seed %d), McNemar's exact test.",
		ci, r.Samples, r.Seed)
}

// Scorer names the scorer of both sides, which Compare requires to agree:
// the identity that says more when one side's records are older.
func (r *Result) Scorer() string {
	all := Provenance{scorers: append(slices.Clip(r.BaseProv.scorers), r.CandProv.scorers...)}
	return all.Scorer()
}

// maxTextFlips bounds the flip list in the terminal summary; JSON lists all.
const maxTextFlips = 20

// rows are the cells of the comparison table's two rates (base, candidate,
// change, p, documents, worse, better), shared by the text and Markdown
// renderings. For the answer rate "worse" is a lost valid answer.
func (r *Result) rows() [2][]string {
	h, a := r.Hallucination, r.Answer
	return [2][]string{
		{rate(r.Base.HallucinationRate, r.Base.HRLow, r.Base.HRHigh), rate(r.Cand.HallucinationRate, r.Cand.HRLow, r.Cand.HRHigh),
			change(h), formatP(h.P), strconv.Itoa(h.N), strconv.Itoa(h.Up), strconv.Itoa(h.Down)},
		{rate(r.Base.AnswerRate, r.Base.ARLow, r.Base.ARHigh), rate(r.Cand.AnswerRate, r.Cand.ARLow, r.Cand.ARHigh),
			change(a), formatP(a.P), strconv.Itoa(a.N), strconv.Itoa(a.Down), strconv.Itoa(a.Up)},
	}
}

// WriteText writes the terminal summary.
func (r *Result) WriteText(w io.Writer, vs []Verdict) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "base:      %s\ncandidate: %s\n", r.Base.Model, r.Cand.Model)
	if sc := r.Scorer(); sc != "" {
		fmt.Fprintf(bw, "scorer:    %s\n", sc)
	}
	fmt.Fprintf(bw, "documents: %d shared, %d only in base, %d only in candidate\n\n", r.Shared, r.OnlyBase, r.OnlyCand)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tBASE\tCANDIDATE\tCHANGE (pp)\tP\tDOCS\tWORSE\tBETTER")
	for i, row := range r.rows() {
		fmt.Fprintf(tw, "%s\t%s\n", [...]string{"hallucination %", "answered %"}[i], strings.Join(row, "\t"))
	}
	fmt.Fprintf(tw, "judged\t%d\t%d\n", r.Base.Judged, r.Cand.Judged)
	tw.Flush()
	fmt.Fprintf(bw, "\n%s\n", r.method())
	if r.Corrected != nil {
		if err := r.writeCorrectedText(bw); err != nil {
			return err
		}
	}
	if len(r.Flipped) > 0 {
		fmt.Fprintf(bw, "\n%d documents flipped to hallucinated (score base -> candidate):\n", len(r.Flipped))
		tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		for _, f := range r.Flipped[:min(len(r.Flipped), maxTextFlips)] {
			fmt.Fprintf(tw, "  %s\t%s -> %s\n", f.DocID, score(f.BaseScore), score(f.CandScore))
		}
		tw.Flush()
		if len(r.Flipped) > maxTextFlips {
			fmt.Fprintf(bw, "  ... and %d more (--format json lists them all)\n", len(r.Flipped)-maxTextFlips)
		}
	}
	if len(vs) > 0 {
		fmt.Fprintln(bw, "\ngates:")
		for _, v := range vs {
			fmt.Fprintf(bw, "  %-5s %s: %s\n", strings.ToUpper(string(v.Status)), v.Gate, v.Message)
		}
	}
	return bw.Flush()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

var statusMark = map[Status]string{StatusPass: "✅ pass", StatusFail: "❌ fail", StatusError: "⚠️ error"}

// maxMarkdownFlips bounds the flip table in a job summary.
const maxMarkdownFlips = 100

// WriteMarkdown writes the summary as GitHub-flavoured Markdown, for
// $GITHUB_STEP_SUMMARY.
func (r *Result) WriteMarkdown(w io.Writer, vs []Verdict) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "### hallu compare: `%s` → `%s`\n\n", r.Base.Model, r.Cand.Model)
	switch ExitStatus(vs) {
	case 0:
		fmt.Fprintln(bw, "**✅ No regression.**")
	case 1:
		fmt.Fprintf(bw, "**❌ Regression.** %s\n", mdEscape(FirstProblem(vs).Error()))
	default:
		fmt.Fprintf(bw, "**⚠️ Could not decide.** %s\n", mdEscape(FirstProblem(vs).Error()))
	}
	fmt.Fprintln(bw, "\n| | Base | Candidate | Change (pp) | McNemar p | Documents | Worse | Better |")
	fmt.Fprintln(bw, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for i, row := range r.rows() {
		fmt.Fprintf(bw, "| %s | %s |\n", [...]string{"Hallucination rate (%)", "Answer rate (%)"}[i], strings.Join(row, " | "))
	}
	fmt.Fprintf(bw, "| Judged | %d | %d | | | | | |\n", r.Base.Judged, r.Cand.Judged)
	fmt.Fprintf(bw, "\n%d shared documents, %d only in base, %d only in candidate.", r.Shared, r.OnlyBase, r.OnlyCand)
	if sc := r.Scorer(); sc != "" {
		fmt.Fprintf(bw, " Scorer: `%s`.", sc)
	}
	fmt.Fprintf(bw, " %s\n", r.method())
	if r.Corrected != nil {
		if err := r.writeCorrectedMarkdown(bw); err != nil {
			return err
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(bw, "\n> ⚠️ %s\n", mdEscape(w))
	}
	if len(vs) > 0 {
		fmt.Fprintln(bw, "\n| Gate | Result | Detail |\n|---|---|---|")
		for _, v := range vs {
			fmt.Fprintf(bw, "| %s | %s | %s |\n", v.Gate, statusMark[v.Status], mdEscape(v.Message))
		}
	}
	if len(r.Flipped) > 0 {
		fmt.Fprintf(bw, "\n<details><summary>%d documents flipped to hallucinated</summary>\n\n| Document | Base score | Candidate score |\n|---|---:|---:|\n", len(r.Flipped))
		for _, f := range r.Flipped[:min(len(r.Flipped), maxMarkdownFlips)] {
			fmt.Fprintf(bw, "| %s | %s | %s |\n", mdEscape(f.DocID), score(f.BaseScore), score(f.CandScore))
		}
		if len(r.Flipped) > maxMarkdownFlips {
			fmt.Fprintf(bw, "\n… and %d more.\n", len(r.Flipped)-maxMarkdownFlips)
		}
		fmt.Fprintln(bw, "\n</details>")
	}
	fmt.Fprintln(bw)
	return bw.Flush()
}

type jsonRates struct {
	Model             string           `json:"model"`
	Documents         int              `json:"documents"`
	Valid             int              `json:"valid"`
	Judged            int              `json:"judged"`
	Hallucinated      int              `json:"hallucinated"`
	HallucinationRate report.JSONFloat `json:"hallucination_rate"`
	HRCILow           report.JSONFloat `json:"hr_ci_low"`
	HRCIHigh          report.JSONFloat `json:"hr_ci_high"`
	AnswerRate        report.JSONFloat `json:"answer_rate"`
	ARCILow           report.JSONFloat `json:"ar_ci_low"`
	ARCIHigh          report.JSONFloat `json:"ar_ci_high"`
	CIMethod          string           `json:"ci_method"`
	// How the side was made; empty where its records are too old to say.
	Scorer     string          `json:"scorer,omitempty"`
	PromptHash string          `json:"prompt_hash,omitempty"`
	Params     *results.Params `json:"params,omitempty"`
}

func ratesJSON(s leaderboard.ModelStats, p *Provenance) jsonRates {
	return jsonRates{Scorer: p.Scorer(), PromptHash: p.PromptHash(), Params: p.Params(), Model: s.Model, Documents: s.Documents, Valid: s.Valid, Judged: s.Judged, Hallucinated: s.Hallucinated,
		HallucinationRate: report.JSONFloat(s.HallucinationRate), HRCILow: report.JSONFloat(s.HRLow), HRCIHigh: report.JSONFloat(s.HRHigh),
		AnswerRate: report.JSONFloat(s.AnswerRate), ARCILow: report.JSONFloat(s.ARLow), ARCIHigh: report.JSONFloat(s.ARHigh), CIMethod: s.CI}
}

type jsonPaired struct {
	Documents     int              `json:"documents"`
	BaseRate      report.JSONFloat `json:"base_rate"`
	CandidateRate report.JSONFloat `json:"candidate_rate"`
	DifferencePP  report.JSONFloat `json:"difference_pp"`
	CILow         report.JSONFloat `json:"ci_low"`
	CIHigh        report.JSONFloat `json:"ci_high"`
	PValue        report.JSONFloat `json:"p_value"`
}

func pairedJSON(p Paired) jsonPaired {
	return jsonPaired{Documents: p.N, BaseRate: report.JSONFloat(p.BaseRate), CandidateRate: report.JSONFloat(p.CandRate),
		DifferencePP: report.JSONFloat(p.Diff), CILow: report.JSONFloat(p.DiffLow), CIHigh: report.JSONFloat(p.DiffHigh), PValue: report.JSONFloat(p.P)}
}

// WriteJSON writes the comparison, the verdicts and the overall status
// ("pass", "fail" or "error") as one JSON object.
func (r *Result) WriteJSON(w io.Writer, vs []Verdict) error {
	type flip struct {
		DocID     string  `json:"doc_id"`
		BaseScore float64 `json:"base_score"`
		CandScore float64 `json:"candidate_score"`
	}
	out := struct {
		Base          jsonRates `json:"base"`
		Candidate     jsonRates `json:"candidate"`
		Shared        int       `json:"shared_documents"`
		OnlyBase      int       `json:"only_base"`
		OnlyCandidate int       `json:"only_candidate"`
		Hallucination struct {
			jsonPaired
			ToHallucinated int `json:"to_hallucinated"`
			ToConsistent   int `json:"to_consistent"`
		} `json:"hallucination"`
		Answer struct {
			jsonPaired
			Gained int `json:"gained"`
			Lost   int `json:"lost"`
		} `json:"answer"`
		Bootstrap struct {
			Samples int    `json:"samples"`
			Seed    uint64 `json:"seed"`
		} `json:"bootstrap"`
		// Corrected is present only with a calibration (--calibration).
		Corrected *jsonCorrected `json:"corrected,omitempty"`
		Flipped   []flip         `json:"flipped_to_hallucinated"`
		Gates     []Verdict      `json:"gates"`
		Warnings  []string       `json:"warnings"`
		Status    string         `json:"status"`
	}{Base: ratesJSON(r.Base, &r.BaseProv), Candidate: ratesJSON(r.Cand, &r.CandProv), Warnings: r.Warnings, Shared: r.Shared, OnlyBase: r.OnlyBase, OnlyCandidate: r.OnlyCand,
		Flipped: make([]flip, len(r.Flipped)), Gates: vs, Corrected: r.correctedJSON()}
	out.Hallucination.jsonPaired = pairedJSON(r.Hallucination)
	out.Hallucination.ToHallucinated, out.Hallucination.ToConsistent = r.Hallucination.Up, r.Hallucination.Down
	out.Answer.jsonPaired = pairedJSON(r.Answer)
	out.Answer.Gained, out.Answer.Lost = r.Answer.Up, r.Answer.Down
	out.Bootstrap.Samples, out.Bootstrap.Seed = r.Samples, r.Seed
	for i, f := range r.Flipped {
		out.Flipped[i] = flip{f.DocID, f.BaseScore, f.CandScore}
	}
	if out.Gates == nil {
		out.Gates = []Verdict{}
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	out.Status = [...]string{"pass", "fail", "error"}[ExitStatus(vs)]
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// JUnit XML, as CI systems read it: one test case per gate.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the verdicts as a JUnit XML report named suite, one
// test case per gate: a failed gate is a <failure>, an undecidable one an
// <error>, and the message with the numbers is in both the attribute and the
// body.
func WriteJUnit(w io.Writer, suite string, vs []Verdict) error {
	s := junitSuite{Name: suite, Tests: len(vs)}
	for _, v := range vs {
		c := junitCase{Name: v.Gate, Classname: "hallu.compare"}
		switch v.Status {
		case StatusFail:
			s.Failures++
			c.Failure = &junitProblem{Message: v.Message, Type: "regression", Text: v.Message}
		case StatusError:
			s.Errors++
			c.Error = &junitProblem{Message: v.Message, Type: "input", Text: v.Message}
		default:
			c.SystemOut = v.Message
		}
		s.Cases = append(s.Cases, c)
	}
	doc := junitSuites{Name: "hallu compare", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
