package leaderboard

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/results"
)

func TestInvalidReason(t *testing.T) {
	cases := []struct {
		name    string
		rec     *results.Record
		invalid string
	}{
		{"six words", &results.Record{Summary: "one two three four five six"}, ""},
		{"five words", &results.Record{Summary: "one two three four five"}, InvalidShort},
		{"five words spread by newlines", &results.Record{Summary: "one\ntwo\tthree  four\r\nfive"}, InvalidShort},
		{"empty", &results.Record{Summary: ""}, InvalidEmpty},
		{"blank", &results.Record{Summary: " \n\t"}, InvalidEmpty},
		{"refusal", &results.Record{Summary: RefusalSentence}, InvalidRefusal},
		{"refusal with surrounding space", &results.Record{Summary: "\n I am unable to summarize this passage.  "}, InvalidRefusal},
		// The leaderboard compares the stripped text exactly: anything else
		// has seven words and counts as a summary.
		{"quoted refusal counts, as on the leaderboard", &results.Record{Summary: `"I am unable to summarize this passage."`}, ""},
		{"reworded refusal counts, as on the leaderboard", &results.Record{Summary: "i am unable to summarize this passage"}, ""},
		{"longer refusal-like text counts", &results.Record{Summary: "I am unable to summarize this passage because it is empty."}, ""},
		{"generation error", &results.Record{Summary: "one two three four five six", Error: &results.Error{Class: errclass.Timeout}}, InvalidError},
		{"scorer error is not a generation error", &results.Record{Summary: "one two three four five six", Error: &results.Error{Class: errclass.Scorer}}, ""},
	}
	for _, c := range cases {
		assert.Equal(t, c.invalid, InvalidReason(c.rec), c.name)
		assert.Equal(t, c.invalid == "", Valid(c.rec), c.name)
	}
}

func TestWordCountMatchesFields(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "bc", " ", "\t", "\n", "\u00a0", "\u2003", "é", "\u3000", "x\u0085y", "\xff"}
	for range 5000 {
		var b strings.Builder
		for range rng.IntN(20) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		assert.Equal(t, len(strings.Fields(s)), WordCount(s), "%q", s)
	}
	// Python's str.split() also splits on the ASCII information separators.
	assert.Equal(t, 4, WordCount("a\x1cb\x1dc\x1fd"))
}
