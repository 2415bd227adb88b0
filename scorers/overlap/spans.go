package overlap

// Span is one stretch of a summary that the source does not support, as byte
// offsets into the summary: summary[Start:End] is the number, date, name or
// negation the overlap scorer penalised.
type Span struct {
	Start, End int
	Kind       string // number, date, name, negation
}

// Unsupported returns the spans of summary that sourceText does not support,
// in order and disjoint, every occurrence rather than once per text
// as in Judge's explanation: a report highlights them where they stand. It
// is the same check Judge scores, so it runs in the same time.
func Unsupported(sourceText, summary string) []Span {
	var spans []Span
	check(indexSource(sourceText), tokenize(summary), func(kind string, span []token) {
		if kind == "negation" {
			// Judge explains a negation with the words around it; only the
			// negation itself is marked, so that its neighbours stay free to
			// be marked for what they are.
			for _, t := range span {
				if isNegation(t.lower) {
					span = []token{t}
					break
				}
			}
		}
		last := span[len(span)-1]
		spans = append(spans, Span{Start: span[0].start, End: last.start + len(last.text), Kind: kind})
	})
	return spans
}
