package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// benchText is a deterministic ~20,000-word English-like document with
// punctuation, numbers and the odd non-ASCII word, the size of a long HHEM
// premise.
func benchText(words int) string {
	vocab := strings.Fields(`the of and to in a is that for it as was with be by on not he this are or
		his from at which but have an they you were her she there been one all we their has would
		when if so no will more can who said about also its into than them only other new some
		could time these two may then do first any my now such like our over man me even most made
		after well where through back years much before good great people should because each
		government company summary hallucination model evaluation premise hypothesis consistent
		Straße café naïve résumé coöperate Zürich São Paulo 1990s 3.14 42% $5.99 e-mail
		state-of-the-art U.S. Dr. Mr. don't won't it's "quoted" (aside) [ref] — – … ﬁne`)
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for i := 0; i < words; i++ {
		if i > 0 {
			switch r.IntN(20) {
			case 0:
				b.WriteString(". ")
			case 1:
				b.WriteString(", ")
			case 2:
				b.WriteString("\n\n")
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteString(vocab[r.IntN(len(vocab))])
	}
	return b.String()
}

func BenchmarkEncode20KWords(b *testing.B) {
	tok := tokenizers(b)["spiece.model"]
	text := benchText(20000)
	n := len(tok.Encode(text))
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tok.Encode(text)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
	b.ReportMetric(float64(n), "tokens/op")
}

func BenchmarkLoadSentencePiece(b *testing.B) {
	dir := sharedDir(b, "t5")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := LoadSentencePiece(dir + "/spiece.model"); err != nil {
			b.Fatal(err)
		}
	}
}
