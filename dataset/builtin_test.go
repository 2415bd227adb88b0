package dataset

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	// A sentence ends at . ! or ? (maybe before a closing quote) followed by
	// whitespace and a capital or digit: the naive splitter a lead-3
	// baseline uses, which the sample is written to suit.
	sentenceEnd = regexp.MustCompile(`[.!?]["']?\s+[A-Z0-9"]`)
	// Two capitalised words in a row, as in a person's or place's name.
	fullName = regexp.MustCompile(`\b[A-Z][a-z]+ [A-Z][a-z]+\b`)
	// A capitalised word inside a sentence: a name, place, month or day.
	properNoun = regexp.MustCompile(`[a-z0-9,] ([A-Z][a-z]+)`)
	digits     = regexp.MustCompile(`[0-9]`)
)

func TestBuiltin(t *testing.T) {
	docs := openAll(t, "builtin", Options{IDField: "ignored", TextField: "ignored"})
	require.GreaterOrEqual(t, len(docs), 60)
	for i, d := range docs {
		assert.Equal(t, fmt.Sprintf("hallu-%03d", i+1), d.ID)
		assert.Equal(t, "builtin", d.Dataset, d.ID)
		sentences := len(sentenceEnd.FindAllStringIndex(d.Text, -1)) + 1
		assert.GreaterOrEqual(t, sentences, 3, "%s: sentences", d.ID)
		assert.True(t, strings.HasSuffix(d.Text, "."), "%s ends mid-sentence", d.ID)
		assert.True(t, digits.MatchString(d.Text), "%s has no numbers", d.ID)
		assert.GreaterOrEqual(t, len(fullName.FindAllString(d.Text, -1)), 2, "%s: full names", d.ID)
		nouns := map[string]bool{}
		for _, m := range properNoun.FindAllStringSubmatch(d.Text, -1) {
			nouns[m[1]] = true
		}
		assert.GreaterOrEqual(t, len(nouns), 5, "%s: proper nouns", d.ID)
		paras := strings.Split(d.Text, "\n\n")
		assert.True(t, len(paras) >= 3 && len(paras) <= 5, "%s: %d paragraphs", d.ID, len(paras))
		words := len(strings.Fields(d.Text))
		assert.True(t, words >= 150 && words <= 300, "%s: %d words", d.ID, words)
		// Abbreviations with a full stop would break naive sentence splitting.
		assert.NotRegexp(t, `\b(Dr|Mr|Mrs|Ms|St|Jr|Inc|Co|vs|etc|U\.S|a\.m|p\.m)\.`, d.Text, d.ID)
	}
	// Leads differ: each document's first sentence is its own.
	firsts := map[string]string{}
	for _, d := range docs {
		first := d.Text[:sentenceEnd.FindStringIndex(d.Text)[0]]
		prev, dup := firsts[first]
		assert.False(t, dup, "%s repeats the lead of %s", d.ID, prev)
		firsts[first] = d.ID
	}
}

// The sample loads under the default size limit and under a tight one that
// still fits every article.
func TestBuiltinMaxBytes(t *testing.T) {
	docs := openAll(t, "builtin", Options{MaxBytes: 4096})
	assert.GreaterOrEqual(t, len(docs), 60)

	src, err := Open("builtin", Options{MaxBytes: 100})
	require.NoError(t, err)
	_, recErrs, final := drain(t, src)
	require.ErrorIs(t, final, ErrNoDocuments) // every article is over 100 bytes
	require.NotEmpty(t, recErrs)
	assert.ErrorContains(t, recErrs[0], `dataset builtin line 1: text too large for id "hallu-001"`)
}
