package sentences

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func texts(s string, spans []Span) []string {
	if spans == nil {
		return nil
	}
	out := make([]string, len(spans))
	for i, sp := range spans {
		out[i] = s[sp.Start:sp.End]
	}
	return out
}

func TestSplit(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"space only", " \n\t ", nil},
		{"one sentence, no period", "The council voted seven to four", []string{"The council voted seven to four"}},
		{"plain", "The council voted on Monday. The mayor was absent from the meeting! Why did she stay away?",
			[]string{"The council voted on Monday.", "The mayor was absent from the meeting!", "Why did she stay away?"}},
		{"titles and initials", "Dr. Jane Smith met Mr. J. K. Brown in the hall. They spoke for an hour.",
			[]string{"Dr. Jane Smith met Mr. J. K. Brown in the hall.", "They spoke for an hour."}},
		{"e.g. and i.e.", "Some costs rose, e.g. fuel and rent. Others, i.e. Wages, stayed flat all year.",
			[]string{"Some costs rose, e.g. fuel and rent.", "Others, i.e. Wages, stayed flat all year."}},
		{"acronym inside", "The U.S. Senate passed the bill on Friday. It goes to the president next.",
			[]string{"The U.S. Senate passed the bill on Friday.", "It goes to the president next."}},
		{"acronym ends sentence", "The firm moved its offices to the U.S. The move cost 3 million dollars.",
			[]string{"The firm moved its offices to the U.S.", "The move cost 3 million dollars."}},
		{"etc. before a capital", "They sold apples, pears, plums etc. Prices fell by a third.",
			[]string{"They sold apples, pears, plums etc.", "Prices fell by a third."}},
		{"decimals and versions", "Growth was 3.5 percent in 2023. Version 1.2.3 of the tool fixed it. Sales hit 4.1 million units.",
			[]string{"Growth was 3.5 percent in 2023.", "Version 1.2.3 of the tool fixed it.", "Sales hit 4.1 million units."}},
		{"number ends sentence", "The vote was won by 12. 40 members did not attend at all.",
			[]string{"The vote was won by 12.", "40 members did not attend at all."}},
		{"No. before a number", "The ship No. 5 sank near the coast. All crew were rescued by noon.",
			[]string{"The ship No. 5 sank near the coast.", "All crew were rescued by noon."}},
		{"ellipsis", "He paused for a while... and then went on speaking. The whole crowd waited there… Nobody moved at all.",
			[]string{"He paused for a while... and then went on speaking.", "The whole crowd waited there…", "Nobody moved at all."}},
		{"quote closes", `She said "the plan is dead." Then she left the room quickly.`,
			[]string{`She said "the plan is dead."`, "Then she left the room quickly."}},
		{"bracket closes", "The fund grew quickly (by a third.) Its managers were pleased with it.",
			[]string{"The fund grew quickly (by a third.)", "Its managers were pleased with it."}},
		{"quote opens the next", `The mayor spoke at noon. "We will rebuild the bridge," she said.`,
			[]string{"The mayor spoke at noon.", `"We will rebuild the bridge," she said.`}},
		{"paragraphs without periods", "Council votes on new bridge plan\n\nThe town council voted on Monday to fund it",
			[]string{"Council votes on new bridge plan", "The town council voted on Monday to fund it"}},
		{"soft line wrap", "The town council voted on Monday\nto fund the new bridge over the river.",
			[]string{"The town council voted on Monday\nto fund the new bridge over the river."}},
		{"bullets", "Key points:\n- The council voted seven to four\n- The bridge will cost 3.4 million\n* Work starts in May 2025",
			[]string{"Key points:\n- The council voted seven to four", "- The bridge will cost 3.4 million", "* Work starts in May 2025"}},
		{"numbered list", "The report makes three claims here.\n1. Rents rose by 12 percent.\n2. Wages fell in the same period.",
			[]string{"The report makes three claims here.", "1. Rents rose by 12 percent.", "2. Wages fell in the same period."}},
		{"short fragment merged back", "The council approved the plan on Monday. Yes. It starts in June next year.",
			[]string{"The council approved the plan on Monday. Yes.", "It starts in June next year."}},
		{"short first fragment merged forward", "Summary. The council approved the plan on Monday.",
			[]string{"Summary. The council approved the plan on Monday."}},
		{"all short", "Yes. No. Maybe.", []string{"Yes. No. Maybe."}},
		{"no space after period", "See example.com for details. It opened in 2020.",
			[]string{"See example.com for details.", "It opened in 2020."}},
		{"lower case after period", "The plan cost 3 million dollars. and nobody objected to it.",
			[]string{"The plan cost 3 million dollars. and nobody objected to it."}},
		{"unicode", "Zoë Müller won the race in Zürich. Die Zeit reported it first.",
			[]string{"Zoë Müller won the race in Zürich.", "Die Zeit reported it first."}},
		{"surrounding space", "  The council voted on Monday.   The mayor was absent again.  ",
			[]string{"The council voted on Monday.", "The mayor was absent again."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Split(c.in)
			assert.Equal(t, c.want, texts(c.in, got))
			checkSpans(t, c.in, got)
		})
	}
}

func TestSplitByteOffsets(t *testing.T) {
	s := "Zoë won the race today. Ärzte were there at the end."
	got := Split(s)
	require.Len(t, got, 2)
	assert.Equal(t, Span{0, 24}, got[0], "ë is two bytes, so the period is byte 23")
	assert.Equal(t, Span{25, len(s)}, got[1])
}

// checkSpans asserts the contract of Split: spans in order, not
// overlapping, inside the text, trimmed, on rune boundaries, and covering
// every non-space character.
func checkSpans(t *testing.T, text string, spans []Span) {
	t.Helper()
	at := 0
	for i, sp := range spans {
		if sp.Start < at || sp.End <= sp.Start || sp.End > len(text) {
			t.Fatalf("span %d %v: out of order, empty or outside text of %d bytes (previous end %d)", i, sp, len(text), at)
		}
		if gap := text[at:sp.Start]; strings.TrimFunc(gap, unicode.IsSpace) != "" {
			t.Fatalf("span %d %v: non-space text %q before it is in no span", i, sp, gap)
		}
		seg := text[sp.Start:sp.End]
		if strings.TrimFunc(seg, unicode.IsSpace) != seg {
			t.Fatalf("span %d %q: not trimmed", i, seg)
		}
		if utf8.ValidString(text) && (!utf8.RuneStart(text[sp.Start]) || sp.End < len(text) && !utf8.RuneStart(text[sp.End])) {
			t.Fatalf("span %d %v: not on rune boundaries", i, sp)
		}
		at = sp.End
	}
	if rest := text[at:]; strings.TrimFunc(rest, unicode.IsSpace) != "" {
		t.Fatalf("non-space text %q after the last span is in no span", rest)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"", "Dr. Smith went home. He slept.", "3.5 and 1.2.3... Yes! No?", "Key points:\n- one two three four\n1. five",
		"\"Quoted.\" (Bracket.) Next one here.", "a\n\n\nb", "U.S. The end of it all.", "Zoë… Ärzte. ”", "\xff. \xfe\n\n- ", "x\n\u3000\n\u3000\n", "- :\n- :\n- :\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSpans(t, s, Split(s))
	})
}

// Text built to make a scan that looks back, or recounts merged
// fragments, quadratic: space-only lines (U+3000 is not skipped as a
// blank line) and a long run of wordless list items.
func BenchmarkSplitPathological(b *testing.B) {
	for _, c := range []struct{ name, unit string }{
		{"space lines", "\u3000\n"},
		{"wordless items", "- :\n"},
		{"colon lines", "a:\n"},
	} {
		text := "x" + strings.Repeat(c.unit, 20000)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				Split(text)
			}
		})
	}
}

func BenchmarkSplit(b *testing.B) {
	text := strings.Repeat("The U.S. council voted 7 to 4 on Monday, e.g. to fund the 3.5 million dollar bridge. Dr. Smith said \"it is time.\" ", 20)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		Split(text)
	}
}
