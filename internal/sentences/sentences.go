// Package sentences cuts a summary into the sentences a scorer judges one by
// one. It is written for model summaries in English: prose, short
// paragraphs and bullet lists, not hard-wrapped text.
//
// Offsets are byte offsets into the UTF-8 text, End exclusive, and always
// fall on rune boundaries of valid UTF-8: Go slices the text with them
// directly, and they are what hallu's records carry.
package sentences

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MinWords is the fewest words a sentence keeps on its own: a shorter
// fragment ("Yes.", a heading, "Key points:") says too little to be judged
// alone, so it is merged into a neighbour.
const MinWords = 4

// Span is one sentence of a text: text[Start:End], with no white space at
// either end.
type Span struct {
	Start, End int
}

// Split returns the sentences of text in order. Together they cover every
// character of text that is not white space; what lies between two spans is
// white space only. A text without any non-space character has none.
//
// A sentence ends at '.', '!', '?' or '…' (any run of them, then any
// closing quotes or brackets) followed by the end of the text or by white
// space and something that can open a sentence (a capital, a digit, an
// opening quote or bracket, a list marker); at a blank line; and before a
// line that starts a list item. A period does not end a sentence after a
// title such as "Dr." or an initial ("J. K. Rowling"), after "e.g." or
// "i.e.", after "No." before a number, nor after a dotted acronym ("U.S.")
// unless a common sentence opener follows ("the U.S. The next day").
// "3.5" and "1.2.3" are never cut, since no space follows their periods.
// Fragments of fewer than MinWords words are merged into a neighbour: the
// next sentence when they end in ':' (a list's lead-in) or open the text,
// else the previous one.
func Split(text string) []Span {
	return merge(text, cut(text))
}

// cut returns the raw sentence spans, trimmed, before short fragments are
// merged.
func cut(text string) []Span {
	var out []Span
	emit := func(from, to int) {
		if sp, ok := trim(text, from, to); ok {
			out = append(out, sp)
		}
	}
	start := 0
	lineStart := true // at the first non-space character of a line
	// The last non-space character since start, kept as the scan goes:
	// looking back from each line end would be quadratic on text of many
	// space-only lines.
	var last rune
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) {
			last = r
		}
		if lineStart && !unicode.IsSpace(r) {
			lineStart = false
			// A list marker opens an item: it is no sentence end ("1.")
			// and the item is a sentence of its own.
			if n := listMarker(text[i:]); n > 0 {
				emit(start, i)
				start = i
				i += n
				continue
			}
		}
		switch {
		case r == '\n':
			j := i + size
			for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r') {
				j++
			}
			switch {
			case j < len(text) && text[j] == '\n':
				// A blank line ends a paragraph, punctuated or not.
				emit(start, i)
				start = j
			case last == ':':
				// "Key points:" then the list on the next lines.
				emit(start, i)
				start = i
			}
			last = 0
			lineStart = true
			i = j
			continue
		case isTerminal(r):
			end := i + size
			for end < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[end:])
				if !isTerminal(r2) && !isCloser(r2) {
					break
				}
				end += s2
			}
			if end == len(text) || boundary(text[start:i], text[i:end], text[end:]) {
				emit(start, end)
				start = end
			}
			i = end
			continue
		}
		i += size
	}
	emit(start, len(text))
	return out
}

func isTerminal(r rune) bool { return r == '.' || r == '!' || r == '?' || r == '…' }

func isCloser(r rune) bool { return strings.ContainsRune("\"'”’»)]}", r) }

func isOpener(r rune) bool { return strings.ContainsRune("\"'“‘«([{", r) }

// listMarker returns the length of the list marker and the white space
// after it at the start of line ("- ", "* ", "• ", "12. ", "3) "), or 0.
func listMarker(line string) int {
	n := 0
	r, size := utf8.DecodeRuneInString(line)
	switch {
	case r == '-' || r == '*' || r == '•' || r == '·' || r == '–' || r == '—':
		n = size
	case '0' <= r && r <= '9':
		for n < len(line) && n < 3 && '0' <= line[n] && line[n] <= '9' {
			n++
		}
		if n == len(line) || (line[n] != '.' && line[n] != ')') {
			return 0
		}
		n++
	default:
		return 0
	}
	if n == len(line) || (line[n] != ' ' && line[n] != '\t') {
		return 0 // "-5 degrees", "3.5", "2020."
	}
	for n < len(line) && (line[n] == ' ' || line[n] == '\t') {
		n++
	}
	return n
}

// boundary reports whether mark, a run of terminal marks and closers
// between the sentence so far and rest, ends the sentence.
func boundary(before, mark, rest string) bool {
	trimmed := strings.TrimLeftFunc(rest, unicode.IsSpace)
	if len(trimmed) == len(rest) {
		return false // "3.5", "e.g.x", "Yahoo!Inc": no space, no boundary
	}
	if trimmed == "" {
		return true
	}
	next, _ := utf8.DecodeRuneInString(trimmed)
	if !unicode.IsUpper(next) && !unicode.IsDigit(next) && !isOpener(next) && listMarker(trimmed) == 0 {
		return false // "e.g. the", "wait... and then"
	}
	if strings.TrimRightFunc(mark, isCloser) != "." {
		// "!", "?", and an ellipsis before a capital end a sentence.
		return true
	}
	return !abbreviation(lastWord(before), trimmed)
}

// lastWord is the word just before a period: what follows the last space,
// opening quote or bracket.
func lastWord(s string) string {
	k := strings.LastIndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || isOpener(r) })
	return s[k+1:]
}

// titles precede a name and never end a sentence. Lower-cased, without
// their final period.
var titles = wordSet(`mr mrs ms dr prof st gen col lt sgt capt cpt maj cmdr adm rep sen gov pres rev hon
	fr mt ft vs jan feb mar apr jun jul aug sep sept oct nov dec approx dept fig eq vol pp ch sec art`)

// openers are words that commonly start a sentence: after a dotted acronym
// they mean the acronym ended it ("moved to the U.S. The company ...").
var openers = wordSet(`the a an it he she they we i this that these those there in on at but and
	however meanwhile after before when while its his her their our as by for from`)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// abbreviation reports whether the period after word is an abbreviation's,
// next being the text after the white space that follows it.
func abbreviation(word, next string) bool {
	if word == "" {
		return false
	}
	lw := strings.ToLower(word)
	switch {
	case titles[lw]:
		return true
	case lw == "e.g" || lw == "i.e" || lw == "cf" || lw == "viz":
		return true
	case lw == "no" || lw == "nos" || lw == "op" || lw == "p":
		r, _ := utf8.DecodeRuneInString(next)
		return unicode.IsDigit(r) // "No. 5", "p. 12"
	}
	if utf8.RuneCountInString(word) == 1 {
		r, _ := utf8.DecodeRuneInString(word)
		return unicode.IsUpper(r) // an initial: "J. K. Rowling"
	}
	if dottedAcronym(word) {
		w := next
		if k := strings.IndexFunc(next, func(r rune) bool { return !unicode.IsLetter(r) }); k >= 0 {
			w = next[:k]
		}
		return !openers[strings.ToLower(w)]
	}
	return false
}

// dottedAcronym reports single letters joined by periods: "U.S", "a.m",
// "U.K".
func dottedAcronym(w string) bool {
	parts := strings.Split(w, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if utf8.RuneCountInString(p) != 1 {
			return false
		}
		r, _ := utf8.DecodeRuneInString(p)
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// trim narrows text[from:to] to its non-space part; false when there is
// none.
func trim(text string, from, to int) (Span, bool) {
	s := text[from:to]
	t := strings.TrimLeftFunc(s, unicode.IsSpace)
	from += len(s) - len(t)
	t = strings.TrimRightFunc(t, unicode.IsSpace)
	if t == "" {
		return Span{}, false
	}
	return Span{from, from + len(t)}, true
}

// words counts the words of s that hold a letter or a digit, so that a
// dash or a list marker is no word.
func words(s string) int {
	n := 0
	for _, f := range strings.Fields(s) {
		if strings.IndexFunc(f, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			n++
		}
	}
	return n
}

// merge joins each fragment of fewer than MinWords words to a neighbour.
func merge(text string, raw []Span) []Span {
	out := make([]Span, 0, len(raw))
	// A fragment waiting for the next sentence: its start and words,
	// counted once, so a long run of fragments is not counted again and
	// again.
	pending, pendingWords := -1, 0
	for k, sp := range raw {
		seg := text[sp.Start:sp.End]
		n := words(seg)
		if pending >= 0 {
			sp.Start, n = pending, n+pendingWords
			pending = -1
		}
		if n >= MinWords {
			out = append(out, sp)
			continue
		}
		switch {
		case k < len(raw)-1 && (len(out) == 0 || strings.HasSuffix(seg, ":")):
			pending, pendingWords = sp.Start, n
		case len(out) > 0:
			out[len(out)-1].End = sp.End
		default:
			out = append(out, sp) // the whole text is one short fragment
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
