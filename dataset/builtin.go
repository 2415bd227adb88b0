package dataset

import (
	_ "embed"
	"io"
	"strings"
)

// builtinData is a sample of short, fictional news articles written for this
// project. Each is a few paragraphs dense with names, dates, places and
// figures, so that a summary which changes one of them is easy to catch.
// Ids are hallu-001, hallu-002, ...; every document's dataset label is
// "builtin".
//
//go:embed builtin/news.jsonl
var builtinData string

// openBuiltin reads the embedded sample. Field-name options are ignored
// (the file's own names are fixed); MaxBytes still applies.
func openBuiltin(opts Options) (Source, error) {
	return openJSONL(io.NopCloser(strings.NewReader(builtinData)), BuiltinSpec, Options{MaxBytes: opts.MaxBytes})
}
