package results

import "strings"

// RefusalSentence is what the leaderboard prompt asks a model to answer when
// it cannot summarize; such an answer is not a summary.
const RefusalSentence = "I am unable to summarize this passage."

// MinWords: the leaderboard treats a summary of this many words or fewer
// (whitespace split) as invalid.
const MinWords = 5

// WordCount splits on whitespace, as the leaderboard does.
func WordCount(s string) int { return len(strings.Fields(s)) }

// Valid reports whether a record holds a summary that counts: it has no
// generation error, is not empty, is not the refusal sentence, and has more
// than MinWords words.
func Valid(rec *Record) bool {
	if rec.Error != nil {
		return false
	}
	s := strings.TrimSpace(rec.Summary)
	if s == "" || isRefusal(s) {
		return false
	}
	return WordCount(s) > MinWords
}

// isRefusal matches the refusal sentence, tolerating the quotes and case a
// model may wrap it in.
func isRefusal(s string) bool {
	s = strings.Trim(s, " \t\r\n\"'`“”")
	return strings.EqualFold(s, RefusalSentence) || strings.EqualFold(s, strings.TrimSuffix(RefusalSentence, "."))
}
