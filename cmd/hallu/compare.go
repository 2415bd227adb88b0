package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/hallu-eval/hallu/calibration"
	"github.com/hallu-eval/hallu/compare"
	"github.com/hallu-eval/hallu/internal/atomicfile"
	"github.com/hallu-eval/hallu/leaderboard"
	htmlreport "github.com/hallu-eval/hallu/report/html"
)

func init() {
	register(command{
		name:  "compare",
		usage: "compare a candidate model with a baseline, document by document; gate CI on regressions",
		run:   runCompare,
	})
}

// optFloat is a float flag that is off (NaN) until given.
type optFloat float64

func (f *optFloat) String() string {
	if f == nil || math.IsNaN(float64(*f)) {
		return "off"
	}
	return strconv.FormatFloat(float64(*f), 'f', -1, 64)
}

func (f *optFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("want a number of percentage points, got %q", s)
	}
	*f = optFloat(v)
	return nil
}

func runCompare(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", stderr)
	baseModel := fs.String("base-model", "", "the baseline's model, when BASE holds several")
	candModel := fs.String("cand-model", "", "the candidate's model, when CAND holds several")
	minDocs := fs.Int("min-docs", compare.DefaultMinDocs, "fewest shared documents to compare; fewer is bad input (exit 2)")
	maxHR, maxAR := optFloat(math.NaN()), optFloat(math.NaN())
	fs.Var(&maxHR, "max-hr-increase", "fail (exit 1) when the hallucination rate rose by more than `PP` percentage points, significantly")
	fs.Var(&maxAR, "max-ar-decrease", "fail (exit 1) when the answer rate fell by more than `PP` percentage points, significantly")
	alpha := fs.Float64("alpha", compare.DefaultAlpha, "significance level of the gates (McNemar's exact test)")
	format := fs.String("format", "table", "output format: table (text), markdown, json or html")
	var out string
	fs.StringVar(&out, "o", "", "write the output to `FILE` instead of standard output")
	fs.StringVar(&out, "out", "", "write the output to `FILE` instead of standard output")
	allowSettings := fs.Bool("allow-settings-change", false, "compare sides generated with different sampling settings (temperature, seed, max tokens, stream, extra body), with a warning; different scorers, prompts or documents are never compared")
	junit := fs.String("junit", "", "also write the gates as a JUnit XML report to `FILE`")
	htmlOut := fs.String("html", "", "also write an HTML report (rates, drill-down, flipped documents side by side) to `FILE`")
	htmlMax := fs.Int("html-max-docs", htmlreport.DefaultMaxDocs, "html: documents of each status shown per model")
	calPath := fs.String("calibration", "", "add both models' hallucination rates corrected for the judge's error measured in calibration `FILE` (calibrate --calibration-out), and the probability that the candidate's true rate is below the baseline's; see docs/judge-error.md")
	var iv leaderboard.IntervalOptions
	addIntervalFlags(fs, &iv)
	// --bootstrap-seed is the project-wide name of the resampling seed;
	// --seed, compare's name for it before, stays as an alias. Defined only
	// where the shared interval flags do not already.
	if fs.Lookup("bootstrap-seed") == nil {
		fs.Uint64Var(&iv.Seed, "bootstrap-seed", iv.Seed, "bootstrap seed; the same seed gives the same intervals")
	}
	if f := fs.Lookup("seed"); f != nil {
		f.Usage = "deprecated alias of --bootstrap-seed"
	} else {
		fs.Uint64Var(&iv.Seed, "seed", iv.Seed, "deprecated alias of --bootstrap-seed")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu compare [flags] BASE CAND

Compares a candidate model's results with a baseline's on the same
documents. BASE and CAND are result files, run directories or "-" (one of
them), read as 'hallu report' reads them; each must hold one model unless
--base-model / --cand-model picks one (then BASE and CAND may be the same
directory).

Records are paired by document id. The report gives both models' rates on
the shared documents, the change in hallucination rate on the documents both
answered validly and both have scores for, and the change in answer rate,
each with a 95%% paired bootstrap interval and McNemar's exact test, and lists
the documents that flipped from consistent to hallucinated.

Both sides must have been made the same way but for the model: judged by
the same scorer (name, version, options, weights), generated with the same
prompt and sampling settings (--allow-settings-change relaxes the settings),
on the same document texts. Records made by an older hallu are checked on
what they carry, with a warning.

A gate fails when the change is larger than its limit AND significant:
McNemar's exact two-sided p < --alpha. Exit status: 0 no regression,
1 regression, 2 bad input or failed output (unreadable files, different
scorers, prompts, settings or datasets, fewer than --min-docs shared
documents, unscored results, a --calibration of another scorer, an output
that could not be written), each with a one-line reason.

--calibration FILE adds both rates corrected for the judge's measured error
and the probability that the candidate's true rate is below the baseline's
(docs/judge-error.md); the gates still judge the observed rates. When $GITHUB_STEP_SUMMARY is set, a Markdown
summary is appended to it.

Flags:
`)
		fs.PrintDefaults()
	}
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(paths) != 2 {
		fs.Usage()
		return exitCode(2, fmt.Errorf("want two result sets, BASE and CAND; got %d arguments", len(paths)))
	}
	gates := compare.Gates{MaxHRIncrease: float64(maxHR), MaxARDecrease: float64(maxAR), Alpha: *alpha}
	var bad error
	switch {
	case *format == "csv":
		bad = errors.New("--format csv: a comparison (two rates, gates, flipped documents) has no one-table form; use --format json to read it with a program")
	case !slices.Contains([]string{"table", "text", "markdown", "json", "html"}, *format):
		bad = fmt.Errorf("--format %q: want table, markdown, json or html", *format)
	case paths[0] == "-" && paths[1] == "-":
		bad = errors.New(`only one of BASE and CAND can be "-" (standard input)`)
	case *minDocs < 1:
		bad = fmt.Errorf("--min-docs %d: want 1 or more", *minDocs)
	case *alpha <= 0:
		// Gates read 0 as "the default level"; given on the command line it
		// is out of range.
		bad = fmt.Errorf("--alpha %v: want a level in (0, 1)", *alpha)
	}
	if bad == nil {
		bad = gates.Check()
	}
	if bad == nil {
		bad = checkIntervalFlags(iv)
	}
	if bad != nil {
		return exitCode(2, bad)
	}

	// From here on, a problem is reported to CI too.
	suite := "hallu compare: " + paths[0] + " vs " + paths[1]
	inputError := func(err error) error {
		vs := []compare.Verdict{{Gate: "input", Status: compare.StatusError, Message: err.Error()}}
		for _, werr := range writeCompareReports(nil, suite, vs, *junit) {
			fmt.Fprintf(stderr, "hallu compare: %v\n", werr)
		}
		return exitCode(2, err)
	}
	skipped := func(path string) {
		fmt.Fprintf(stderr, "hallu compare: skipping %s: not hallu result records\n", path)
	}
	base, err := readCompareSide("base", "--base-model", paths[0], *baseModel, stdin, skipped)
	if err != nil {
		return inputError(err)
	}
	cand, err := readCompareSide("candidate", "--cand-model", paths[1], *candModel, stdin, skipped)
	if err != nil {
		return inputError(err)
	}
	suite = "hallu compare: " + base.Model + " vs " + cand.Model
	res, err := compare.Compare(base, cand, compare.Options{MinDocs: *minDocs, Intervals: iv, AllowSettings: *allowSettings})
	if err != nil {
		return inputError(err)
	}
	if *calPath != "" {
		f, err := calibration.Read(*calPath)
		if err == nil {
			err = res.Calibrate(f, *calPath, iv.Seed)
		}
		if err != nil {
			return inputError(err)
		}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "hallu compare: warning: %s\n", w)
	}
	vs := res.Check(gates, *minDocs)

	// Every output is attempted; any that fails makes the exit status 2,
	// whatever the gates say: CI must not read a lost report as a verdict.
	var outErrs []error
	srcs := [2]string{paths[0], paths[1]}
	writeMain := func(w io.Writer) error {
		switch *format {
		case "json":
			return res.WriteJSON(w, vs)
		case "markdown":
			return res.WriteMarkdown(w, vs)
		case "html":
			return writeCompareHTML(ctx, w, srcs, res, maxDocs(*htmlMax))
		default:
			return res.WriteText(w, vs)
		}
	}
	if out != "" {
		if err := atomicfile.Write(out, writeMain); err != nil {
			outErrs = append(outErrs, fmt.Errorf("writing --out %s: %w", out, err))
		}
	} else if err := writeMain(stdout); err != nil {
		outErrs = append(outErrs, fmt.Errorf("writing standard output: %w", err))
	}
	outErrs = append(outErrs, writeCompareReports(res, suite, vs, *junit)...)
	if *htmlOut != "" {
		err := atomicfile.Write(*htmlOut, func(w io.Writer) error {
			return writeCompareHTML(ctx, w, srcs, res, maxDocs(*htmlMax))
		})
		if err != nil {
			outErrs = append(outErrs, fmt.Errorf("writing --html %s: %w", *htmlOut, err))
		} else {
			fmt.Fprintf(stderr, "hallu compare: wrote %s\n", *htmlOut)
		}
	}
	if len(outErrs) > 0 {
		// The last failure is the one-line reason main prints; the others
		// go before it.
		for _, e := range outErrs[:len(outErrs)-1] {
			fmt.Fprintf(stderr, "hallu compare: %v\n", e)
		}
		return exitCode(2, outErrs[len(outErrs)-1])
	}
	if code := compare.ExitStatus(vs); code != 0 {
		return exitCode(code, compare.FirstProblem(vs))
	}
	return nil
}

func readCompareSide(role, flagName, path, model string, stdin io.Reader, skipped func(string)) (*compare.Side, error) {
	s, err := compare.ReadSide([]string{path}, stdin, model, skipped)
	if err == nil {
		return s, nil
	}
	if errors.Is(err, compare.ErrModels) && model == "" {
		return nil, fmt.Errorf("%s %s: %w; choose one with %s", role, path, err, flagName)
	}
	return nil, fmt.Errorf("%s %s: %w", role, path, err)
}

// writeCompareReports appends the Markdown summary to $GITHUB_STEP_SUMMARY
// when it is set and writes the JUnit file when asked, attempting both and
// returning what failed. res is nil when the input could not be compared:
// the summary then says why.
func writeCompareReports(res *compare.Result, suite string, vs []compare.Verdict, junit string) []error {
	var errs []error
	if path := os.Getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := appendStepSummary(path, res, suite, vs); err != nil {
			errs = append(errs, fmt.Errorf("writing $GITHUB_STEP_SUMMARY %s: %w", path, err))
		}
	}
	if junit != "" {
		if err := atomicfile.Write(junit, func(w io.Writer) error { return compare.WriteJUnit(w, suite, vs) }); err != nil {
			errs = append(errs, fmt.Errorf("writing --junit %s: %w", junit, err))
		}
	}
	return errs
}

func appendStepSummary(path string, res *compare.Result, suite string, vs []compare.Verdict) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if res != nil {
		err = res.WriteMarkdown(f, vs)
	} else {
		_, err = fmt.Fprintf(f, "### %s\n\n**⚠️ Could not compare.** %s\n\n", suite, strings.ReplaceAll(compare.FirstProblem(vs).Error(), "|", `\|`))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// parseInterspersed parses flags wherever they stand among the arguments
// (`hallu compare BASE CAND --max-hr-increase 2`, as CI scripts write it),
// returning the positional arguments. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
