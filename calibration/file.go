// Package calibration is hallu's calibration file, which records how often a
// scorer's verdicts are wrong on a human-labelled set, and what that error
// does to the rates a report shows: hallucination rates corrected for the
// judge's measured sensitivity and specificity, with intervals that carry
// both the documents' sampling error and the labelled set's, and the
// probability that one model's true rate is below another's.
//
// `hallu calibrate --calibration-out` writes the file; `hallu report
// --calibration` and `hallu compare --calibration` read it. The format is
// documented in docs/judge-error.md.
package calibration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hallu-eval/hallu/scorers"
)

// Kind and Version identify the file format. A reader refuses a version it
// does not know rather than guess at its fields.
const (
	Kind    = "hallu-calibration"
	Version = 1
)

// File is a calibration file: which scorer was measured, at which
// threshold, on which labelled pairs, and how its verdicts fell.
type File struct {
	Kind    string `json:"kind"`
	Version int    `json:"version"`
	// Scorer is the measured scorer's identity exactly as its judgments
	// carry it; ScorerKey is its digest (scorers.Identity.Key), kept so
	// that a hand edit of the identity is caught.
	Scorer    scorers.Identity `json:"scorer"`
	ScorerKey string           `json:"scorer_key"`
	// Threshold is the decision threshold the counts were taken at: a
	// score below it is a "hallucinated" verdict.
	Threshold float64 `json:"threshold"`
	// Confusion counts the verdicts on the labelled pairs the scorer
	// judged, hallucinated being the positive class.
	Confusion Confusion `json:"confusion"`
	// ScorerErrors counts labelled pairs the scorer failed on; they are
	// not in Confusion.
	ScorerErrors int    `json:"scorer_errors"`
	Labels       Labels `json:"labels"`
}

// Confusion is a 2×2 table of verdicts against labels with hallucinated as
// the positive class: TP hallucinated pairs judged hallucinated, FN
// hallucinated pairs judged consistent, TN consistent pairs judged
// consistent, FP consistent pairs judged hallucinated.
type Confusion struct {
	TP int `json:"tp"`
	FP int `json:"fp"`
	TN int `json:"tn"`
	FN int `json:"fn"`
}

// Positives is the number of pairs labelled hallucinated, Negatives the
// number labelled consistent.
func (c Confusion) Positives() int { return c.TP + c.FN }
func (c Confusion) Negatives() int { return c.TN + c.FP }

// Sensitivity is the share of hallucinated pairs the scorer catches,
// Specificity the share of consistent pairs it passes.
func (c Confusion) Sensitivity() float64 { return float64(c.TP) / float64(c.Positives()) }
func (c Confusion) Specificity() float64 { return float64(c.TN) / float64(c.Negatives()) }

// Labels says where the labelled pairs came from, so that a reader of a
// corrected rate can find and check them.
type Labels struct {
	Path   string `json:"path"`
	Format string `json:"format"` // calibrate.LabelFormats
	SHA256 string `json:"sha256"` // of the file at Path
	// Count is the labelled pairs read (scored or failed); Dropped those
	// the format's own rules left out before that (FaithBench's
	// Questionable), with the rule in DroppedWhy.
	Count      int    `json:"count"`
	Dropped    int    `json:"dropped,omitempty"`
	DroppedWhy string `json:"dropped_why,omitempty"`
}

// New returns a calibration file for a scorer's verdicts.
func New(id scorers.Identity, threshold float64, c Confusion, scorerErrors int, labels Labels) *File {
	return &File{Kind: Kind, Version: Version, Scorer: id, ScorerKey: id.Key(), Threshold: threshold,
		Confusion: c, ScorerErrors: scorerErrors, Labels: labels}
}

// Validate checks that the file can correct a rate: its own format, a
// scorer whose key matches it, a threshold in (0, 1], and both classes in
// the labelled set (a sensitivity without hallucinated pairs is undefined).
func (f *File) Validate() error {
	switch {
	case f.Kind != Kind:
		return fmt.Errorf("kind %q: not a hallu calibration file (want %q)", f.Kind, Kind)
	case f.Version != Version:
		return fmt.Errorf("version %d: this hallu reads calibration files of version %d (write it again with this hallu's calibrate --calibration-out)", f.Version, Version)
	case f.Scorer.Name == "":
		return errors.New("no scorer name")
	case f.ScorerKey != f.Scorer.Key():
		return fmt.Errorf("scorer_key %q does not match the scorer identity (its key is %s): the file was edited; write it again with calibrate --calibration-out", f.ScorerKey, f.Scorer.Key())
	case !(f.Threshold > 0 && f.Threshold <= 1):
		return fmt.Errorf("threshold %v: want a value in (0, 1]", f.Threshold)
	case f.Confusion.TP < 0 || f.Confusion.FP < 0 || f.Confusion.TN < 0 || f.Confusion.FN < 0 || f.ScorerErrors < 0:
		return fmt.Errorf("negative count in %+v", f.Confusion)
	case f.Confusion.Positives() == 0:
		return errors.New("no pair labelled hallucinated: the scorer's sensitivity is unknown")
	case f.Confusion.Negatives() == 0:
		return errors.New("no pair labelled consistent: the scorer's specificity is unknown")
	}
	return nil
}

// Write writes f as indented JSON.
func (f *File) Write(w io.Writer) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("calibration file: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(f)
}

// Decode reads and validates a calibration file from r; name says where it
// came from in errors.
func Decode(r io.Reader, name string) (*File, error) {
	var f File
	dec := json.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("calibration file %s: %w", name, err)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("calibration file %s: %w", name, err)
	}
	return &f, nil
}

// Read reads and validates the calibration file at path.
func Read(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("calibration file: %w", err)
	}
	defer fh.Close()
	return Decode(fh, path)
}

// MismatchError is a calibration file measured on another scorer, or at
// another threshold, than the judgments it would correct.
type MismatchError struct {
	Path  string // the calibration file
	Model string // the model whose judgments differ
	Diff  string // what differs, in scorers.Identity.Diff's words
	Hint  string // what to do about it
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("calibration %s does not describe the scorer that judged %s: %s (%s)", e.Path, e.Model, e.Diff, e.Hint)
}

// Check returns a *MismatchError when judgments of model by scorer id,
// counted at threshold, are not the ones f measured: an error rate
// measured on one scorer says nothing about another, nor about the same
// scorer's verdicts at another threshold. path names f in the error.
func (f *File) Check(path, model string, id scorers.Identity, threshold float64) error {
	var parts []string
	hint := "calibrate that scorer, or score again with the calibrated one"
	if d := f.Scorer.Diff(id); d != "" {
		parts = strings.Split(d, "; ")
	} else {
		hint = fmt.Sprintf("the judgments' verdicts are counted at %v: calibrate again with --threshold %v", threshold, threshold)
	}
	if f.Threshold != threshold {
		parts = append(parts, fmt.Sprintf("threshold %v here, %v there", f.Threshold, threshold))
	}
	if len(parts) == 0 {
		return nil
	}
	// Diff's "here" is the calibration, its "there" the judgments; say so.
	for i, p := range parts {
		p = strings.Replace(p, " here,", " in the calibration,", 1)
		parts[i] = strings.TrimSuffix(p, " there") + " in the judgments"
	}
	return &MismatchError{Path: path, Model: model, Diff: strings.Join(parts, "; "), Hint: hint}
}

// HashFile is the sha256 of the file at path, in hex, for Labels.SHA256.
func HashFile(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
