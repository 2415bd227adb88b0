// Package agree measures how far consistency scorers agree when they judge
// the same generations: percent agreement, Cohen's kappa for two judges and
// Fleiss' kappa for more, each with a 95% interval, the confusion matrix,
// and the documents they disagree on, which a person can label and feed
// back to `hallu calibrate --labels`.
//
// Judgments are matched by generation, not by document id alone: two
// judgments are of the same thing only when they judged the same model's
// summary of the same document, made the same way. A set of files that
// judged different generations is refused (see MismatchError).
package agree

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// Judge is one input: one scorer identity's judgments.
type Judge struct {
	Path     string           // the input as named
	Identity scorers.Identity // the scorer, as the judgments carry it
	// FallbackFor is the scorer asked for when Identity stood in for it.
	FallbackFor string
	// Judged counts the records this judge gave a score; Failed those it
	// failed on (a scorer error), Unjudged those it passed over (invalid
	// summaries, generation errors, records without a judgment).
	Judged, Failed, Unjudged int
}

// Label is the judge as people read it: the scorer's identity, and what it
// stood in for.
func (j Judge) Label() string {
	l := j.Identity.String()
	if j.FallbackFor != "" {
		l += " (standing in for " + j.FallbackFor + ")"
	}
	return l
}

// Doc is one generation with every judge's score.
type Doc struct {
	Model, DocID string
	// Source and Summary are the first input's, for the labelling file.
	Source, Summary string
	Scores          []float64 // by judge, in input order
}

// Hallucinated reports judge i's verdict: a score below the consistency
// threshold, as everywhere in hallu.
func (d Doc) Hallucinated(i int) bool { return d.Scores[i] < results.ConsistentThreshold }

// Set is the judgments of the generations every judge scored.
type Set struct {
	Judges []Judge
	// Docs are the generations every judge gave a score, ordered by model
	// and document id.
	Docs []Doc
	// Partial counts the generations some judges scored and others did not
	// (a scorer error, a record missing from one file), left out of Docs.
	Partial int
}

// MismatchError is returned when the inputs cannot be compared: they judged
// different generations, or one input holds several scorers' judgments.
// `hallu agree` exits 2 on it.
type MismatchError struct{ msg string }

func (e *MismatchError) Error() string { return e.msg }

func mismatch(format string, args ...any) error {
	return &MismatchError{msg: fmt.Sprintf(format, args...)}
}

// ErrMixedScorers marks an input that holds judgments by more than one
// scorer identity.
var ErrMixedScorers = errors.New("holds judgments by more than one scorer")

// entry is one judge's view of one generation.
type entry struct {
	genHash string
	gen     *results.Record // the generation fields, for naming differences
	score   float64
	scored  bool
}

type key struct{ model, doc string }

// Read reads one input per path (a result file, "-" for stdin, or a run
// directory, as `hallu report` reads them) and matches their judgments by
// generation: the model as requested, the document id and the generation
// record itself (results.GenerationHash), so a document regenerated,
// retried or generated with other settings in one input is not taken for
// the same generation. It refuses, with a *MismatchError, inputs that
// judged different generations of the same document, inputs that share no
// scored generation, and an input whose judgments come from more than one
// scorer identity. skipped sees files found in a directory that are not
// hallu records.
func Read(paths []string, stdin io.Reader, skipped func(string)) (*Set, error) {
	if len(paths) < 2 {
		return nil, fmt.Errorf("want the judgments of two or more scorers, got %d input(s)", len(paths))
	}
	set := &Set{Judges: make([]Judge, len(paths))}
	views := make([]map[key]*entry, len(paths))
	texts := map[key][2]string{}
	for i, p := range paths {
		j, view, err := readOne(p, stdin, skipped, texts)
		if err != nil {
			return nil, err
		}
		set.Judges[i] = j
		views[i] = view
	}
	if err := checkGenerations(paths, views); err != nil {
		return nil, err
	}
	all := map[key]bool{}
	for _, v := range views {
		for k, e := range v {
			if e.scored {
				all[k] = true
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(all), func(a, b key) int {
		return cmp.Or(strings.Compare(a.model, b.model), strings.Compare(a.doc, b.doc))
	})
	for _, k := range keys {
		d := Doc{Model: k.model, DocID: k.doc, Scores: make([]float64, len(views))}
		ok := true
		for i, v := range views {
			e := v[k]
			if e == nil || !e.scored {
				ok = false
				break
			}
			d.Scores[i] = e.score
		}
		if !ok {
			set.Partial++
			continue
		}
		t := texts[k]
		d.Source, d.Summary = t[0], t[1]
		set.Docs = append(set.Docs, d)
	}
	if len(set.Docs) == 0 {
		var parts []string
		for i, v := range views {
			parts = append(parts, fmt.Sprintf("%s: %d scored (%s)", paths[i], set.Judges[i].Judged, modelsOf(v)))
		}
		return nil, mismatch("no generation was scored by all %d scorers, so the inputs judge different generations: %s", len(paths), strings.Join(parts, "; "))
	}
	return set, nil
}

// readOne reads one judge's input.
func readOne(path string, stdin io.Reader, skipped func(string), texts map[key][2]string) (Judge, map[key]*entry, error) {
	j := Judge{Path: path}
	view := map[key]*entry{}
	var idKey string
	err := leaderboard.ReadRecords([]string{path}, stdin, skipped, func(rec *results.Record) error {
		k := key{rec.Model, rec.DocID}
		if _, dup := view[k]; dup {
			return fmt.Errorf("%w: model %q document %q was already read (give one scorer's judgments per input: judgments supersede generations)", leaderboard.ErrDuplicate, rec.Model, rec.DocID)
		}
		// Only the generation fields that name a difference are kept.
		e := &entry{genHash: results.GenerationHash(rec), gen: &results.Record{DocID: rec.DocID, DocHash: rec.DocHash,
			Model: rec.Model, PromptHash: rec.PromptHash, Params: rec.Params, Endpoint: rec.Endpoint, GenKey: rec.GenKey,
			Summary: rec.Summary, Error: rec.Error}}
		view[k] = e
		jd := rec.Judgment
		if jd == nil {
			j.Unjudged++
			return nil
		}
		id := scorers.Identity{Name: jd.Scorer, Version: jd.Version, Options: jd.Options, Weights: jd.Weights}
		switch {
		case idKey == "":
			idKey, j.Identity, j.FallbackFor = id.Key(), id, jd.FallbackFor
		case id.Key() != idKey:
			return fmt.Errorf("%w: judged by %s, earlier records by %s (%s); give each scorer's judgments as a separate input",
				ErrMixedScorers, id, j.Identity, id.Diff(j.Identity))
		}
		switch {
		case jd.Error != nil:
			j.Failed++
		case jd.Score != nil:
			j.Judged++
			e.score, e.scored = *jd.Score, true
			if _, ok := texts[k]; !ok {
				texts[k] = [2]string{rec.Source, rec.Summary}
			}
		default:
			j.Unjudged++
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrMixedScorers) {
			return j, nil, &MismatchError{msg: err.Error()}
		}
		return j, nil, err
	}
	if idKey == "" {
		return j, nil, mismatch("%s holds no judgments (%d generation records): score it first, e.g. hallu score --scorer NAME --in %s", path, len(view), path)
	}
	return j, view, nil
}

// maxNamed is how many differing generations a mismatch names.
const maxNamed = 3

// checkGenerations refuses inputs that hold different generations under
// the same model and document id, naming what differs.
func checkGenerations(paths []string, views []map[key]*entry) error {
	for i := 1; i < len(views); i++ {
		var named []string
		n := 0
		for _, k := range sortedKeys(views[i]) {
			a, b := views[0][k], views[i][k]
			if a == nil || a.genHash == b.genHash {
				continue
			}
			n++
			if len(named) < maxNamed {
				named = append(named, fmt.Sprintf("%s %s: %s", k.model, k.doc, genDiff(b.gen, a.gen, paths[i], paths[0])))
			}
		}
		if n > 0 {
			more := ""
			if n > len(named) {
				more = "; …"
			}
			return mismatch("%s and %s judge different generations of %d documents (%s%s): agreement is measured only on judgments of the same generations; score one generations file with each scorer",
				paths[0], paths[i], n, strings.Join(named, "; "), more)
		}
	}
	return nil
}

// genDiff names what differs between two generations of one document, a
// read from input an and b from bn.
func genDiff(a, b *results.Record, an, bn string) string {
	var d []string
	if a.DocHash != b.DocHash {
		d = append(d, "the document text differs")
	}
	for _, s := range results.SettingsDiff(a, b) {
		// SettingsDiff words it "X here, Y in the file".
		d = append(d, strings.ReplaceAll(strings.ReplaceAll(s, " here,", " in "+an+","), " in the file", " in "+bn))
	}
	if len(d) == 0 {
		switch {
		case (a.Error == nil) != (b.Error == nil):
			d = append(d, "a generation error in one input, a summary in the other")
		case a.Summary != b.Summary:
			d = append(d, "the summary differs (generated again)")
		default:
			d = append(d, "the generation records differ")
		}
	}
	return strings.Join(d, ", ")
}

func sortedKeys(m map[key]*entry) []key {
	return slices.SortedFunc(maps.Keys(m), func(a, b key) int {
		return cmp.Or(strings.Compare(a.model, b.model), strings.Compare(a.doc, b.doc))
	})
}

func modelsOf(v map[key]*entry) string {
	ms := map[string]bool{}
	for k := range v {
		ms[k.model] = true
	}
	if len(ms) == 0 {
		return "no models"
	}
	return "models " + strings.Join(slices.Sorted(maps.Keys(ms)), ", ")
}
