package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestNumericFlagsOutOfRange runs every command with one numeric flag out
// of its range: each must stop with exit 2 before doing anything, naming
// the flag, instead of reading the value as "the default" or running with
// a nonsense setting.
func TestNumericFlagsOutOfRange(t *testing.T) {
	gen := []string{"generate", "--dataset", "builtin", "--model", "builtin:lead-3"}
	sc := []string{"score", "--scorer", "overlap", "--in", "missing.jsonl"}
	rep := []string{"report", "missing.jsonl"}
	cmp := []string{"compare", "a.jsonl", "b.jsonl"}
	cal := []string{"calibrate", "--scorer", "overlap", "--labels", "missing.csv"}
	cases := []struct {
		base []string
		args []string
		flag string
	}{
		{gen, []string{"--limit", "-1"}, "--limit"},
		{gen, []string{"--retries", "-1"}, "--retries"},
		{gen, []string{"--timeout", "0s"}, "--timeout"},
		{gen, []string{"--timeout", "-5s"}, "--timeout"},
		{gen, []string{"--concurrency", "0"}, "--concurrency"},
		{gen, []string{"--max-fatal", "0"}, "--max-fatal"},
		{gen, []string{"--max-tokens", "-1"}, "--max-tokens"},
		{gen, []string{"--rpm", "-1"}, "--rpm"},
		{gen, []string{"--max-doc-bytes", "-1"}, "--max-doc-bytes"},
		{sc, []string{"--batch", "0"}, "--batch"},
		{sc, []string{"--concurrency", "0"}, "--concurrency"},
		{rep, []string{"--ci", "bootstrap", "--bootstrap-samples", "0"}, "--bootstrap-samples"},
		{rep, []string{"--ci", "bootstrap", "--bootstrap-samples", "-1"}, "--bootstrap-samples"},
		{rep, []string{"--bootstrap-samples", "-3"}, "--bootstrap-samples"},
		{cmp, []string{"--min-docs", "-1"}, "--min-docs"},
		{cmp, []string{"--min-docs", "0"}, "--min-docs"},
		{cmp, []string{"--alpha", "0"}, "--alpha"},
		{cmp, []string{"--alpha", "1.5"}, "--alpha"},
		{cmp, []string{"--alpha", "-0.1"}, "--alpha"},
		{cmp, []string{"--ci", "bootstrap", "--bootstrap-samples", "0"}, "--bootstrap-samples"},
		{cal, []string{"--batch", "0"}, "--batch"},
		{cal, []string{"--concurrency", "0"}, "--concurrency"},
		{cal, []string{"--threshold", "-0.1"}, "--threshold"},
		{cal, []string{"--threshold", "1.5"}, "--threshold"},
	}
	for _, c := range cases {
		args := append(append([]string{}, c.base...), c.args...)
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := runHallu(t, args...)
			assert.Equal(t, 2, code, stderr)
			first, _, _ := strings.Cut(stderr, "\n")
			assert.Contains(t, first, c.flag+" ", "the error names the flag: %s", stderr)
			for _, other := range []string{"--max-tokens", "--rpm", "--max-doc-bytes", "--batch", "--concurrency"} {
				if other != c.flag {
					assert.NotContains(t, first, other, "the error names only the flag at fault")
				}
			}
		})
	}
}
