// Package overlap is a fast, deterministic, offline consistency scorer
// registered as "overlap". It checks what a summary asserts against the words
// of its source: numbers (with "3,400" = "3400", "twelve" = "12" and "3.4
// million" = "3400000"), years, months and weekdays, capitalised names,
// negations (a "not" in the summary with no negation near the same words in
// the same source sentence), and content words. Each unsupported number,
// date, name or negation cuts the score sharply; unsupported content words
// lower it gently, since honest summaries paraphrase.
//
// It is a baseline, not a substitute for HHEM: it cannot see a wrong relation
// between supported words (who did what to whom), a changed meaning built
// from the source's own words, or a correct paraphrase with new names (it
// penalises that). Use it for smoke tests, for a quick ranking without model
// weights, and as a sanity check on builtin:corrupt, which it separates well
// from builtin:lead-3.
//
// Options: none; an unknown --scorer-opt key is an error.
package overlap

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hallu-eval/hallu/scorers"
)

// Name and Version are recorded in every judgment; bump Version whenever a
// change can move a score.
const (
	Name    = "overlap"
	Version = "1"
)

// Score shape: each unsupported hard item (number, date, name, negation)
// multiplies the score by hardFactor, so one is enough to fall below 0.5;
// the share of unsupported content words takes off up to contentWeight.
const (
	hardFactor    = 0.4
	contentWeight = 0.6
)

func init() {
	scorers.Register(scorers.Info{
		Name:        Name,
		Description: "offline heuristic baseline: numbers, dates, names, negations and content words of the summary that the source lacks (not a substitute for HHEM)",
		Open:        open,
	})
}

func open(_ context.Context, opts scorers.Options) (scorers.Scorer, error) {
	if err := opts.Check(Name); err != nil {
		return nil, err
	}
	return Scorer{}, nil
}

// Scorer is the overlap scorer. It holds no state, so it is safe for
// concurrent use.
type Scorer struct{}

func (Scorer) Name() string    { return Name }
func (Scorer) Version() string { return Version }
func (Scorer) Close() error    { return nil }

// Identity is the name and version alone: the thresholds are constants,
// covered by Version.
func (Scorer) Identity() scorers.Identity { return scorers.Identity{Name: Name, Version: Version} }

// Score judges each pair independently; it stops early only when ctx ends.
func (Scorer) Score(ctx context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	out := make([]scorers.Result, len(pairs))
	for i, p := range pairs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i].Score, out[i].Explanation = Judge(p.Source, p.Summary)
	}
	return out, nil
}

type token struct {
	text      string // as written
	start     int    // byte offset of text in the tokenized string
	lower     string
	sentence  int  // index of the sentence the token is in
	sentStart bool // first token of a sentence, a quote or a line
	number    bool
}

// tokenize splits s into numbers ("3,400", "3.5", "12") and words (with
// inner apostrophes, so "wasn't" and "Smith's" stay whole). A hand-written
// scanner: it is several times faster than the equivalent regexp, and the
// source of every pair passes through it.
func tokenize(s string) []token {
	toks := make([]token, 0, len(s)/5)
	prevEnd, sentence := 0, 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var end int
		switch {
		case isDigit(r):
			end = scanNumber(s, i)
		case unicode.IsLetter(r):
			end = scanWord(s, i)
		default:
			i += size
			continue
		}
		gap := s[prevEnd:i]
		if strings.ContainsAny(gap, ".!?\n") {
			sentence++
		}
		t := s[i:end]
		toks = append(toks, token{
			text: t, start: i, lower: strings.ToLower(t), sentence: sentence,
			sentStart: len(toks) == 0 || strings.ContainsAny(gap, ".!?\n\"“:"),
			number:    isDigit(r),
		})
		prevEnd, i = end, end
	}
	return toks
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

// scanNumber returns the end of the number at s[i:]: digits, then groups of
// ",ddd", then one ".d+".
func scanNumber(s string, i int) int {
	digits := func(i int) int {
		for i < len(s) && isDigit(rune(s[i])) {
			i++
		}
		return i
	}
	i = digits(i)
	for i+3 < len(s) && s[i] == ',' && digits(i+1) == i+4 {
		i += 4
	}
	if i+1 < len(s) && s[i] == '.' && isDigit(rune(s[i+1])) {
		i = digits(i + 1)
	}
	return i
}

// scanWord returns the end of the word at s[i:]: letters, with apostrophes
// joined when a letter follows them.
func scanWord(s string, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) {
			i += size
			continue
		}
		if r == '\'' || r == '’' {
			if r2, _ := utf8.DecodeRuneInString(s[i+size:]); i+size < len(s) && unicode.IsLetter(r2) {
				i += size
				continue
			}
		}
		break
	}
	return i
}

// source is the index of what a source supports.
type source struct {
	words   map[string]bool // lower-cased, possessive trimmed
	stems   map[string][]int
	numbers map[string]bool
	toks    []token
}

func indexSource(text string) *source {
	s := &source{words: map[string]bool{}, stems: map[string][]int{}, numbers: map[string]bool{}, toks: tokenize(text)}
	for i, t := range s.toks {
		if t.number {
			for _, n := range numberForms(s.toks, i) {
				s.numbers[n] = true
			}
			continue
		}
		if v, ok := numberWords[t.lower]; ok {
			s.numbers[strconv.Itoa(v)] = true
		}
		w := trimPossessive(t.lower)
		s.words[w] = true
		s.stems[stem(w)] = append(s.stems[stem(w)], i)
	}
	return s
}

// numberForms returns the normalised value of the number at toks[i] and,
// when a scale word follows ("3.4 million"), the scaled value too.
func numberForms(toks []token, i int) []string {
	n := normNumber(toks[i].text)
	forms := []string{n}
	if i+1 < len(toks) {
		if scale, ok := scales[toks[i+1].lower]; ok {
			if v, err := strconv.ParseFloat(n, 64); err == nil {
				forms = append(forms, normNumber(strconv.FormatFloat(math.Round(v*scale), 'f', -1, 64)))
			}
		}
	}
	return forms
}

func normNumber(s string) string {
	s = strings.ReplaceAll(s, ",", "")
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func trimPossessive(w string) string {
	for _, suf := range []string{"'s", "’s"} {
		if strings.HasSuffix(w, suf) && len(w) > len(suf) {
			return strings.TrimSuffix(w, suf)
		}
	}
	return w
}

// stem strips common inflections so that "closed"/"closes"/"closing" and
// "companies"/"company" meet. It is crude on purpose: both sides are stemmed
// alike, so only consistency matters.
func stem(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 5 && strings.HasSuffix(w, "ing"):
		return w[:len(w)-3]
	case len(w) > 4 && strings.HasSuffix(w, "ed"):
		return w[:len(w)-2]
	case len(w) > 4 && strings.HasSuffix(w, "es"):
		return w[:len(w)-2]
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss"):
		return w[:len(w)-1]
	case len(w) > 4 && strings.HasSuffix(w, "ly"):
		return w[:len(w)-2]
	}
	return w
}

// item is one unsupported assertion.
type item struct{ kind, text string }

// Judge scores one summary against its source and explains the verdict.
func Judge(sourceText, summary string) (float64, string) {
	var bad []item
	seen := map[item]bool{}
	content, unsupported := check(indexSource(sourceText), tokenize(summary), func(kind string, span []token) {
		it := item{kind, joinText(span)}
		if !seen[it] {
			seen[it] = true
			bad = append(bad, it)
		}
	})
	return verdict(bad, content, unsupported)
}

// check walks the summary's tokens, calling flag with the tokens of each
// unsupported number, date, name or negation, and counts content words and
// the unsupported ones among them. Judge and Unsupported share it so that a
// highlighted span is exactly what the score penalised.
func check(src *source, toks []token, flag func(kind string, span []token)) (content, unsupported int) {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.number:
			if !supportedNumber(src, toks, i) {
				kind := "number"
				if isYear(t.text) {
					kind = "date"
				}
				flag(kind, toks[i:i+1])
			}
		case numberWords[t.lower] > 0:
			if !src.numbers[strconv.Itoa(numberWords[t.lower])] && !src.words[t.lower] {
				flag("number", toks[i:i+1])
			}
		case dateWords[t.lower] && (t.text != "May" || !t.sentStart):
			if !src.words[t.lower] {
				flag("date", toks[i:i+1])
			}
		case isNameWord(t) && (!t.sentStart || i+1 < len(toks) && isNameWord(toks[i+1]) && toks[i+1].sentence == t.sentence):
			// A run of capitalised words is one name; a lone capitalised
			// word opening a sentence is just a word (handled below).
			j := i
			for j+1 < len(toks) && isNameWord(toks[j+1]) && toks[j+1].sentence == t.sentence && !toks[j+1].sentStart {
				j++
			}
			// Report the unsupported part: "Maria Lopez", not "Director
			// Maria Lopez".
			first, last := -1, -1
			for k := i; k <= j; k++ {
				if !src.words[trimPossessive(toks[k].lower)] {
					if first < 0 {
						first = k
					}
					last = k
				}
			}
			if first >= 0 {
				flag("name", toks[first:last+1])
			}
			i = j
		case isNegation(t.lower):
			if !supportedNegation(src, toks, i) {
				flag("negation", negationContext(toks, i))
			}
		case !stopwords[t.lower] && utf8.RuneCountInString(t.lower) >= 3:
			content++
			if len(src.stems[stem(trimPossessive(t.lower))]) == 0 {
				unsupported++
			}
		}
	}
	return content, unsupported
}

func verdict(bad []item, content, unsupported int) (float64, string) {
	ratio := 0.0
	if content > 0 {
		ratio = float64(unsupported) / float64(content)
	}
	score := (1 - contentWeight*ratio) * math.Pow(hardFactor, float64(len(bad)))
	var b strings.Builder
	if len(bad) > 0 {
		b.WriteString("unsupported: ")
		for i, it := range bad {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s %q", it.kind, it.text)
		}
		b.WriteString("; ")
	} else {
		b.WriteString("numbers, dates, names and negations all supported; ")
	}
	fmt.Fprintf(&b, "%d of %d content words not in source", unsupported, content)
	return score, b.String()
}

func supportedNumber(src *source, toks []token, i int) bool {
	for _, n := range numberForms(toks, i) {
		if src.numbers[n] {
			return true
		}
	}
	return false
}

func isYear(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && len(s) == 4 && n >= 1800 && n <= 2099
}

func isNameWord(t token) bool {
	r, _ := utf8.DecodeRuneInString(t.text)
	if !unicode.IsUpper(r) || t.number || utf8.RuneCountInString(t.text) < 2 {
		return false
	}
	w := trimPossessive(t.lower)
	return !stopwords[w] && !dateWords[w] && numberWords[w] == 0 && !isNegation(w)
}

func isNegation(w string) bool {
	return negations[w] || strings.HasSuffix(w, "n't") || strings.HasSuffix(w, "n’t")
}

// supportedNegation accepts the summary's negation when a word near it
// occurs in the source with a negation at about the same offset (within
// slack tokens) in the same sentence: "was not closed" is supported by
// "had not been closed" but not by "were not convinced that the work was
// closed". With no content words around it there is nothing to check
// against, and it passes.
func supportedNegation(src *source, toks []token, i int) bool {
	const before, after, slack = 2, 3, 2
	anchors := 0
	for j := max(0, i-before); j <= min(len(toks)-1, i+after); j++ {
		t := toks[j]
		if j == i || t.sentence != toks[i].sentence || t.number || stopwords[t.lower] || isNegation(t.lower) {
			continue
		}
		anchors++
		for _, p := range src.stems[stem(trimPossessive(t.lower))] {
			at := p + i - j
			for q := max(0, at-slack); q <= min(len(src.toks)-1, at+slack); q++ {
				if src.toks[q].sentence == src.toks[p].sentence && isNegation(src.toks[q].lower) {
					return true
				}
			}
		}
	}
	return anchors == 0
}

func negationContext(toks []token, i int) []token {
	lo, hi := max(0, i-1), min(len(toks)-1, i+1)
	for lo < i && toks[lo].sentence != toks[i].sentence {
		lo++
	}
	for hi > i && toks[hi].sentence != toks[i].sentence {
		hi--
	}
	return toks[lo : hi+1]
}

func joinText(toks []token) string {
	s := make([]string, len(toks))
	for i, t := range toks {
		s[i] = t.text
	}
	return strings.Join(s, " ")
}

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

var (
	negations = set("not no never cannot nobody nothing neither nor none")
	dateWords = set(`january february march april may june july august september october november december
		monday tuesday wednesday thursday friday saturday sunday`)
	scales      = map[string]float64{"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
	numberWords = func() map[string]int {
		m := map[string]int{}
		for i, w := range strings.Fields("two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty") {
			m[w] = i + 2
		}
		for i, w := range strings.Fields("thirty forty fifty sixty seventy eighty ninety") {
			m[w] = 30 + 10*i
		}
		return m
	}()
	// stopwords carry no checkable content: function words, auxiliaries,
	// and words that start sentences in capitals without being names.
	stopwords = set(`a an the and but or nor so yet for of in on at to from by with as into onto upon
		he she it they we you i me him her us them his hers its their theirs our ours your yours my mine
		this that these those there here who whom whose which what where when why how
		is are was were be been being am has have had having do does did will would shall should
		can could may might must also just only even still then than too very more most much many
		some any all each every both few other such own same one about after before over under
		between through during while if because until since against among within without however
		meanwhile according said says say told added new including after also mr mrs ms dr`)
)
