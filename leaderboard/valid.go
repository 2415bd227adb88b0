package leaderboard

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/results"
)

// RefusalSentence is what the leaderboard prompt asks a model to answer when
// it cannot summarize; such an answer is not a summary.
const RefusalSentence = "I am unable to summarize this passage."

// MinWords: the leaderboard treats a summary of this many words or fewer
// (whitespace split) as invalid.
const MinWords = 5

// WordCount splits on whitespace, as the leaderboard does (Python's
// str.split()). It counts without allocating, because the report counts the
// words of every summary; besides Unicode white space it treats the ASCII
// separators U+001C..U+001F as Python does.
func WordCount(s string) int {
	n := 0
	prev := uint8(1) // 1 when the previous character was space
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			// Branch-free: a word starts at a non-space after a space.
			sp := asciiSpace[c]
			n += int(^sp & prev & 1)
			prev = sp
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		var sp uint8
		if unicode.IsSpace(r) {
			sp = 1
		}
		n += int(^sp & prev & 1)
		prev = sp
		i += size
	}
	return n
}

var asciiSpace = [utf8.RuneSelf]uint8{'\t': 1, '\n': 1, '\v': 1, '\f': 1, '\r': 1, ' ': 1,
	0x1c: 1, 0x1d: 1, 0x1e: 1, 0x1f: 1}

// Reasons a summary does not count, as returned by InvalidReason.
const (
	InvalidError   = "error"   // generation failed
	InvalidEmpty   = "empty"   // nothing but white space
	InvalidRefusal = "refusal" // the prompt's refusal sentence
	InvalidShort   = "short"   // MinWords words or fewer
	// InvalidUnstated: the input marked the summary invalid without saying
	// why (the leaderboard's is_valid flag).
	InvalidUnstated = "unstated"
)

// Valid reports whether a record holds a summary that counts: it has no
// generation error, is not empty, is not the refusal sentence, and has more
// than MinWords words.
func Valid(rec *results.Record) bool { return InvalidReason(rec) == "" }

// InvalidReason says why a record's summary does not count, or "" when it
// does. A record-level error of class errclass.Scorer is not a generation
// error: the summary itself may still count.
func InvalidReason(rec *results.Record) string { return invalidReason(rec.Error, rec.Summary) }

func invalidReason(err *results.Error, summary string) string {
	if err != nil && err.Class != errclass.Scorer {
		return InvalidError
	}
	return summaryInvalidReason(summary)
}

func summaryInvalidReason(summary string) string {
	s := strings.TrimSpace(summary)
	switch {
	case s == "":
		return InvalidEmpty
	case isRefusal(s):
		return InvalidRefusal
	case WordCount(s) <= MinWords:
		return InvalidShort
	}
	return ""
}

// isRefusal matches the refusal sentence exactly, as the leaderboard does
// (summary.strip() == the sentence): a quoted or reworded refusal is a
// seven-word summary there, judged like any other, and so it is here.
func isRefusal(s string) bool {
	return strings.TrimSpace(s) == RefusalSentence
}
