package refmodel

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// abbreviations end in a period without ending a sentence. Lower-cased, no
// trailing period. Single letters (initials such as "J. K.") are handled
// separately.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "prof": true, "st": true,
	"jr": true, "sr": true, "gen": true, "col": true, "lt": true, "sgt": true,
	"capt": true, "rep": true, "sen": true, "gov": true, "rev": true, "hon": true,
	"no": true, "vs": true, "etc": true, "inc": true, "corp": true, "co": true,
	"ltd": true, "mt": true, "ft": true, "jan": true, "feb": true, "mar": true,
	"apr": true, "jun": true, "jul": true, "aug": true, "sep": true, "sept": true,
	"oct": true, "nov": true, "dec": true, "u.s": true, "u.k": true, "u.n": true,
	"e.g": true, "i.e": true, "a.m": true, "p.m": true, "d.c": true,
}

// Sentences splits text into sentences. A sentence ends at '.', '!' or '?'
// (with any closing quotes or brackets) followed by the end of the text, or by
// white space and a capital letter, a digit or an opening quote; or at a blank
// line, since headlines and paragraphs often lack final punctuation. A period
// after a known abbreviation or a single capital letter does not end a
// sentence, and "3.5" is never split because no space follows the period.
// White space inside each sentence is collapsed to single spaces.
func Sentences(text string) []string { return splitSentences(text, -1) }

// splitSentences stops after max sentences (max < 0: no limit), so that lead-3
// of a 24K-word article does not scan all of it.
func splitSentences(text string, max int) []string {
	var out []string
	emit := func(s string) {
		if s = strings.Join(strings.Fields(s), " "); s != "" {
			out = append(out, s)
		}
	}
	start := 0
	for i := 0; i < len(text) && len(out) != max; {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == '\n':
			// A blank line ends whatever came before it.
			j := i + size
			for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r') {
				j++
			}
			if j < len(text) && text[j] == '\n' {
				emit(text[start:i])
				start = j + 1
				i = j + 1
				continue
			}
		case r == '.' || r == '!' || r == '?':
			end := i + size
			for end < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[end:])
				if !strings.ContainsRune(".!?\"'”’)]", r2) {
					break
				}
				end += s2
			}
			if end == len(text) || (startsNewSentence(text[end:]) && !(r == '.' && abbreviationBefore(text[start:i]))) {
				emit(text[start:end])
				start, i = end, end
				continue
			}
			i = end
			continue
		}
		i += size
	}
	if len(out) != max {
		emit(text[start:])
	}
	return out
}

// startsNewSentence reports whether rest (what follows a terminal mark)
// begins with white space and then something that can open a sentence.
func startsNewSentence(rest string) bool {
	trimmed := strings.TrimLeftFunc(rest, unicode.IsSpace)
	if len(trimmed) == len(rest) {
		return false // "3.5", "e.g.x": no space, no boundary
	}
	if trimmed == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(trimmed)
	return unicode.IsUpper(r) || unicode.IsDigit(r) || strings.ContainsRune("\"'“‘(", r)
}

// abbreviationBefore reports whether the sentence so far ends in a word that
// is an abbreviation or an initial, so that the period after it is not a
// sentence end.
func abbreviationBefore(s string) bool {
	k := strings.LastIndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '(' || r == '"' })
	w := s[k+1:]
	if w == "" {
		return false
	}
	if utf8.RuneCountInString(w) == 1 {
		r, _ := utf8.DecodeRuneInString(w)
		return unicode.IsUpper(r)
	}
	return abbreviations[strings.ToLower(w)]
}

// Lead returns the first n sentences of text joined by single spaces.
func Lead(text string, n int) string {
	return strings.Join(splitSentences(text, n), " ")
}
