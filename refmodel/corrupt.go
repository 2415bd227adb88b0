package refmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hallu-eval/hallu/results"
)

// Injection kinds, recorded in results.Injection.Kind.
const (
	KindNumber   = "number"
	KindDate     = "date" // a year, month or weekday
	KindName     = "name"
	KindPlace    = "place"
	KindNegation = "negation"
	// KindAdded is an appended sentence with a made-up figure, used only when
	// the summary has nothing else to corrupt. Its Original is empty.
	KindAdded = "added"
)

// kindOrder fixes the order in which kinds are offered to the random choice;
// ranging over a map would make corruption nondeterministic.
var kindOrder = []string{KindNumber, KindDate, KindName, KindPlace, KindNegation}

// tokenRE matches numbers ("3,400", "3.5", "12") and words (with inner
// apostrophes, so "wasn't" and "Smith's" stay whole).
var tokenRE = regexp.MustCompile(`\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\p{L}+(?:['’]\p{L}+)*`)

type token struct {
	text       string
	start, end int
	number     bool
	sentStart  bool // first token of a sentence
}

func tokenize(s string) []token {
	locs := tokenRE.FindAllStringIndex(s, -1)
	toks := make([]token, len(locs))
	prevEnd := 0
	for i, l := range locs {
		t := s[l[0]:l[1]]
		r, _ := utf8.DecodeRuneInString(t)
		gap := s[prevEnd:l[0]]
		toks[i] = token{
			text: t, start: l[0], end: l[1],
			number:    unicode.IsDigit(r),
			sentStart: i == 0 || strings.ContainsAny(gap, ".!?"),
		}
		prevEnd = l[1]
	}
	return toks
}

var (
	months   = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	weekdays = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	// functionWords are capitalised at a sentence start or in titles but are
	// not names.
	functionWords = wordSet(`a an the and but or nor so yet for of in on at to from by with as into
		he she it they we you i his her its their our your my this that these those there here
		after before when while if then than since until during about over under between
		what which who whom whose where why how all some many most more one two no not
		mr mrs ms dr sir police officials according however meanwhile also`)
	placePreps = wordSet(`in at from near to across outside inside towards toward via`)
	// negatable auxiliaries; "has/have/had" only before a participle.
	auxiliaries = wordSet(`is was are were will would can could should must has have had`)
	negations   = wordSet(`not never no cannot`)

	madeUpPeople = []string{"Maria Lopez", "Daniel Okafor", "Helen Brandt", "Tomas Novak", "Priya Raman",
		"Lucas Moreau", "Ingrid Solberg", "Kenji Watanabe", "Amara Mensah", "Victor Halloran",
		"Elena Petrova", "Samuel Achterberg", "Nadia Karimi", "Oliver Quist", "Rosa Delgado", "Felix Brenner"}
	madeUpPlaces = []string{"Lisbon", "Winnipeg", "Tbilisi", "Valparaiso", "Gdansk", "Mombasa", "Tromso",
		"Adelaide", "Cordoba", "Leipzig", "Nagoya", "Asuncion", "Halifax", "Kumasi", "Tampere", "Porto Alegre"}
)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// vocab is what the article already says, so that a replacement is never
// something the source supports by accident.
type vocab struct {
	words   map[string]bool // lower-cased
	numbers map[string]bool // normalised, see normNumber
}

func newVocab(texts ...string) vocab {
	v := vocab{words: map[string]bool{}, numbers: map[string]bool{}}
	for _, text := range texts {
		for _, t := range tokenize(text) {
			if t.number {
				v.numbers[normNumber(t.text)] = true
			} else {
				v.words[strings.ToLower(t.text)] = true
			}
		}
	}
	return v
}

func (v vocab) hasAnyWord(phrase string) bool {
	for _, w := range strings.Fields(phrase) {
		if v.words[strings.ToLower(w)] {
			return true
		}
	}
	return false
}

// normNumber drops thousands separators and trailing decimal zeros, so that
// "3,400" and "3400.0" are the same number.
func normNumber(s string) string {
	s = strings.ReplaceAll(s, ",", "")
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// candidate is a span of the summary that can be corrupted.
type candidate struct {
	kind       string
	start, end int
	orig       string
}

// candidates lists what can be corrupted in summary, by kind. Only the first
// occurrence of a string is offered, so that an Injection (which carries no
// offset) names exactly one place: the first occurrence of Original.
func candidates(summary string) map[string][]candidate {
	toks := tokenize(summary)
	out := map[string][]candidate{}
	add := func(kind string, start, end int) {
		orig := summary[start:end]
		if strings.Index(summary, orig) == start {
			out[kind] = append(out[kind], candidate{kind, start, end, orig})
		}
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.number:
			if gluedToWord(summary, t) {
				continue
			}
			if isYear(t.text) {
				add(KindDate, t.start, t.end)
			} else {
				add(KindNumber, t.start, t.end)
			}
		case slices.Contains(months, t.text) && !(t.text == "May" && t.sentStart) || slices.Contains(weekdays, t.text):
			add(KindDate, t.start, t.end)
		case isNameWord(t.text):
			// A run of capitalised words separated by single spaces.
			j := i
			for j+1 < len(toks) && isNameWord(toks[j+1].text) && summary[toks[j].end:toks[j+1].start] == " " && !possessive(toks[j].text) {
				j++
			}
			if t.sentStart && j == i {
				continue // a lone capitalised word opening a sentence may be any word
			}
			end := toks[j].end
			if possessive(toks[j].text) {
				end -= len(toks[j].text) - len(trimPossessive(toks[j].text))
			}
			kind := KindName
			if i > 0 && placePreps[strings.ToLower(toks[i-1].text)] {
				kind = KindPlace
			}
			add(kind, t.start, end)
			i = j
		case auxiliaries[t.text] && i+1 < len(toks):
			next := strings.ToLower(toks[i+1].text)
			if negations[next] || strings.HasSuffix(next, "n't") || strings.HasSuffix(next, "n’t") {
				continue
			}
			if strings.HasPrefix(t.text, "ha") && next != "been" && !strings.HasSuffix(next, "ed") && !strings.HasSuffix(next, "en") {
				continue
			}
			add(KindNegation, t.start, t.end)
		}
	}
	return out
}

// gluedToWord reports a number that is part of a code such as "MH17" or
// "COVID-19", which reads oddly when changed.
func gluedToWord(s string, t token) bool {
	if t.start > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:t.start])
		if unicode.IsLetter(r) || r == '-' {
			return true
		}
	}
	if t.end < len(s) {
		r, _ := utf8.DecodeRuneInString(s[t.end:])
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

func isYear(s string) bool {
	if len(s) != 4 {
		return false
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1800 && n <= 2099
}

func isNameWord(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	if !unicode.IsUpper(r) {
		return false
	}
	base := trimPossessive(w)
	return !functionWords[strings.ToLower(base)] && !slices.Contains(months, base) && !slices.Contains(weekdays, base)
}

func possessive(w string) bool { return trimPossessive(w) != w }

func trimPossessive(w string) string {
	for _, suf := range []string{"'s", "’s"} {
		if strings.HasSuffix(w, suf) && len(w) > len(suf) {
			return strings.TrimSuffix(w, suf)
		}
	}
	return w
}

// replacement returns what a candidate becomes, or false when no replacement
// exists that the article does not already contain.
func replacement(c candidate, rng *rand.Rand, v vocab) (string, bool) {
	switch c.kind {
	case KindNumber:
		return alterNumber(c.orig, rng, v)
	case KindDate:
		if isYear(c.orig) {
			y, _ := strconv.Atoi(c.orig)
			for _, d := range rng.Perm(10) {
				shift := d/2 + 1
				if d%2 == 1 {
					shift = -shift
				}
				if s := strconv.Itoa(y + shift); !v.numbers[s] {
					return s, true
				}
			}
			return "", false
		}
		list := months
		if slices.Contains(weekdays, c.orig) {
			list = weekdays
		}
		return pick(list, rng, v)
	case KindName:
		if len(strings.Fields(c.orig)) == 1 {
			surnames := make([]string, len(madeUpPeople))
			for i, p := range madeUpPeople {
				surnames[i] = p[strings.LastIndexByte(p, ' ')+1:]
			}
			return pick(surnames, rng, v)
		}
		return pick(madeUpPeople, rng, v)
	case KindPlace:
		return pick(madeUpPlaces, rng, v)
	case KindNegation:
		if c.orig == "can" {
			return "cannot", true
		}
		return c.orig + " not", true
	}
	return "", false
}

// pick chooses an entry of list that shares no word with the article.
func pick(list []string, rng *rand.Rand, v vocab) (string, bool) {
	for _, i := range rng.Perm(len(list)) {
		if !v.hasAnyWord(list[i]) {
			return list[i], true
		}
	}
	return "", false
}

// alterNumber changes a number to a plausible different one of the same
// shape: small integers move by a few, larger ones scale by 0.4-0.8 or
// 1.2-1.9 and keep their significant digits ("3,400" -> "4,100", "12" ->
// "17"); decimals keep their decimal places.
func alterNumber(orig string, rng *rand.Rand, v vocab) (string, bool) {
	plain := strings.ReplaceAll(orig, ",", "")
	val, err := strconv.ParseFloat(plain, 64)
	if err != nil {
		return "", false
	}
	decimals := 0
	if i := strings.IndexByte(plain, '.'); i >= 0 {
		decimals = len(plain) - i - 1
	}
	for range 12 {
		var nv float64
		if decimals == 0 && val < 10 {
			nv = val + float64(1+rng.IntN(6))
		} else {
			f := 1.2 + 0.7*rng.Float64()
			if rng.IntN(3) == 0 {
				f = 0.4 + 0.4*rng.Float64()
			}
			nv = val * f
			if decimals == 0 {
				nv = roundSignificant(nv, significantDigits(plain))
			}
		}
		s := formatNumber(nv, decimals, strings.Contains(orig, ","))
		if n := normNumber(s); n != normNumber(orig) && !v.numbers[n] {
			return s, true
		}
	}
	return "", false
}

func significantDigits(integer string) int {
	n := len(strings.TrimRight(strings.TrimLeft(integer, "0"), "0"))
	return min(max(n, 1), 3)
}

func roundSignificant(x float64, digits int) float64 {
	if x <= 0 {
		return x
	}
	p := math.Pow(10, math.Floor(math.Log10(x))-float64(digits)+1)
	return math.Max(1, math.Round(x/p)*p)
}

func formatNumber(x float64, decimals int, commas bool) string {
	s := strconv.FormatFloat(x, 'f', decimals, 64)
	if !commas {
		return s
	}
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

// addedSentence makes up a sentence with a figure the article does not
// contain.
func addedSentence(rng *rand.Rand, v vocab) string {
	for {
		n := 1000 + 10*rng.IntN(900)
		if !v.numbers[strconv.Itoa(n)] {
			return fmt.Sprintf("Officials said the total cost came to %s dollars.", formatNumber(float64(n), 0, true))
		}
	}
}

// corrupt injects one or two errors into summary, a lead of article. The
// injections, applied in order (see Apply), turn summary into the result.
func corrupt(article, summary string, rng *rand.Rand) (string, []results.Injection) {
	v := newVocab(article, summary)
	pool := candidates(summary)
	want := 1 + rng.IntN(2)
	var chosen []candidate
	var repl []string
	for len(chosen) < want {
		var kinds []string
		for _, k := range kindOrder {
			if len(pool[k]) > 0 {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) == 0 {
			break
		}
		k := kinds[rng.IntN(len(kinds))]
		i := rng.IntN(len(pool[k]))
		c := pool[k][i]
		pool[k] = slices.Delete(pool[k], i, i+1)
		if slices.ContainsFunc(chosen, func(o candidate) bool {
			return o.orig == c.orig || o.start < c.end && c.start < o.end
		}) {
			continue
		}
		r, ok := replacement(c, rng, v)
		if !ok {
			continue
		}
		chosen = append(chosen, c)
		repl = append(repl, r)
	}
	if len(chosen) == 0 {
		s := addedSentence(rng, v)
		if summary != "" {
			s = " " + s
		}
		return summary + s, []results.Injection{{Kind: KindAdded, Replaced: s}}
	}

	order := make([]int, len(chosen))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return chosen[a].start - chosen[b].start })
	inj := make([]results.Injection, len(order))
	var b strings.Builder
	at := 0
	for n, i := range order {
		c := chosen[i]
		b.WriteString(summary[at:c.start])
		b.WriteString(repl[i])
		at = c.end
		inj[n] = results.Injection{Kind: c.kind, Original: c.orig, Replaced: repl[i]}
	}
	b.WriteString(summary[at:])
	out := b.String()
	// An earlier replacement can contain a later Original ("12" -> "17",
	// then "7"); then the injections would not describe the change, so keep
	// only the first, which always does.
	if Apply(summary, inj) != out {
		c := chosen[order[0]]
		inj = inj[:1]
		out = summary[:c.start] + repl[order[0]] + summary[c.end:]
	}
	return out, inj
}

// Apply replays injections on a lead summary: each replaces the first
// occurrence of its Original with Replaced, in order; an empty Original
// appends Replaced. Apply(lead, Annotate(article, model)) is the summary the
// model returned.
func Apply(summary string, inj []results.Injection) string {
	for _, in := range inj {
		if in.Original == "" {
			summary += in.Replaced
		} else {
			summary = strings.Replace(summary, in.Original, in.Replaced, 1)
		}
	}
	return summary
}
