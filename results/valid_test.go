package results

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestInvalidReason(t *testing.T) {
	cases := []struct {
		name    string
		rec     *Record
		invalid string
	}{
		{"six words", &Record{Summary: "one two three four five six"}, ""},
		{"five words", &Record{Summary: "one two three four five"}, InvalidShort},
		{"five words spread by newlines", &Record{Summary: "one\ntwo\tthree  four\r\nfive"}, InvalidShort},
		{"empty", &Record{Summary: ""}, InvalidEmpty},
		{"blank", &Record{Summary: " \n\t"}, InvalidEmpty},
		{"refusal", &Record{Summary: RefusalSentence}, InvalidRefusal},
		{"refusal with surrounding space", &Record{Summary: "\n I am unable to summarize this passage.  "}, InvalidRefusal},
		// The leaderboard compares the stripped text exactly: anything else
		// has seven words and counts as a summary.
		{"quoted refusal counts, as on the leaderboard", &Record{Summary: `"I am unable to summarize this passage."`}, ""},
		{"reworded refusal counts, as on the leaderboard", &Record{Summary: "i am unable to summarize this passage"}, ""},
		{"longer refusal-like text counts", &Record{Summary: "I am unable to summarize this passage because it is empty."}, ""},
		{"generation error", &Record{Summary: "one two three four five six", Error: &Error{Class: ErrClassTimeout}}, InvalidError},
		{"scorer error is not a generation error", &Record{Summary: "one two three four five six", Error: &Error{Class: ErrClassScorer}}, ""},
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
