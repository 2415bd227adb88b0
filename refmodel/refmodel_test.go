package refmodel

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/results"
)

func TestSentences(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string
	}{
		{"basic", "One fell. Two rose! Three? Four.", []string{"One fell.", "Two rose!", "Three?", "Four."}},
		{"decimal", "Growth was 3.5 percent. It slowed.", []string{"Growth was 3.5 percent.", "It slowed."}},
		{"abbreviation", "Mr. Smith met Dr. Jones in the U.S. on Monday. They talked.", []string{"Mr. Smith met Dr. Jones in the U.S. on Monday.", "They talked."}},
		{"initials", "J. K. Rowling wrote it. Fans cheered.", []string{"J. K. Rowling wrote it.", "Fans cheered."}},
		{"quotes", `"We won," he said. "It was hard." The end.`, []string{`"We won," he said.`, `"It was hard."`, "The end."}},
		{"lowercase after period", "It cost 5 dollars. and more. Then it ended.", []string{"It cost 5 dollars. and more.", "Then it ended."}},
		{"digit start", "Prices rose. 12 shops closed.", []string{"Prices rose.", "12 shops closed."}},
		{"blank line", "Headline without stop\n\nBody  text\nwraps here. Next one.", []string{"Headline without stop", "Body text wraps here.", "Next one."}},
		{"no final stop", "First. Second without stop", []string{"First.", "Second without stop"}},
		{"empty", "  \n ", nil},
		{"ellipsis", "Wait... What happened?", []string{"Wait...", "What happened?"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, Sentences(c.text))
		})
	}
}

func TestLead3(t *testing.T) {
	article := "  The council met on Monday. It approved a budget of 3.5 million dollars.\nDr. Ada Price voted against it! " +
		"Residents will vote in May. Nobody objected."
	want := "The council met on Monday. It approved a budget of 3.5 million dollars. Dr. Ada Price voted against it!"
	assert.Equal(t, want, Lead(article, 3))
	got, inj, err := Summarize(Lead3, article)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Nil(t, inj)
	assert.Nil(t, Annotate(article, Lead3))
	assert.Equal(t, "Short one.", Lead("Short one.", 3))
}

func TestParseModel(t *testing.T) {
	for _, name := range []string{"builtin:lead-3", "lead-3", "builtin:corrupt", "corrupt", "builtin:corrupt@0.3", "builtin:corrupt@1", "builtin:corrupt@0"} {
		_, err := parseModel(name)
		assert.NoError(t, err, name)
	}
	for _, name := range []string{"builtin:gpt", "builtin:corrupt@1.5", "builtin:corrupt@x", "builtin:lead-3@0.5", ""} {
		_, err := parseModel(name)
		assert.Error(t, err, name)
	}
}

// replay applies injections independently of Apply: each Original must occur
// in the text as it stands, and its first occurrence is the one replaced.
func replay(t *testing.T, lead string, inj []results.Injection) string {
	s := lead
	for _, in := range inj {
		if in.Original == "" {
			require.Equal(t, KindAdded, in.Kind)
			s += in.Replaced
			continue
		}
		i := strings.Index(s, in.Original)
		require.GreaterOrEqual(t, i, 0, "original %q not in %q", in.Original, s)
		s = s[:i] + in.Replaced + s[i+len(in.Original):]
	}
	return s
}

var numberRE = regexp.MustCompile(`\d[\d,]*(\.\d+)?`)

func TestCorruptShare(t *testing.T) {
	const docs = 2000
	for _, share := range []struct {
		model string
		want  float64
	}{{Corrupt, 0.5}, {Corrupt + "@0.3", 0.3}, {Corrupt + "@0", 0}, {Corrupt + "@1", 1}} {
		// Count distinct articles: the decision is per text, so a repeated
		// text would count its one draw twice.
		seen := map[string]bool{}
		n := 0
		for i := range docs {
			a := SampleArticle(i)
			if seen[a] {
				continue
			}
			seen[a] = true
			if Annotate(a, share.model) != nil {
				n++
			}
		}
		got := float64(n) / float64(len(seen))
		t.Logf("%s: corrupted %d of %d distinct articles (%.1f%%)", share.model, n, len(seen), 100*got)
		assert.Greater(t, len(seen), docs*9/10)
		assert.InDelta(t, share.want, got, 0.04, "%s corrupted %d of %d", share.model, n, len(seen))
	}
}

func TestCorruptInjections(t *testing.T) {
	kinds := map[string]int{}
	for i := range 800 {
		article := SampleArticle(i)
		lead := Lead(article, 3)
		got, inj, err := Summarize(Corrupt+"@1", article)
		require.NoError(t, err)
		require.NotEmpty(t, inj, "doc %d: every document is corrupted at share 1", i)
		assert.NotEqual(t, lead, got)
		assert.LessOrEqual(t, len(inj), 2)
		assert.Equal(t, got, replay(t, lead, inj), "doc %d: injections %+v do not describe the change", i, inj)
		assert.Equal(t, inj, Annotate(article, Corrupt+"@1"), "Annotate must agree with the server")

		lower := strings.ToLower(article)
		for _, in := range inj {
			kinds[in.Kind]++
			assert.NotEqual(t, in.Original, in.Replaced)
			switch in.Kind {
			case KindName, KindPlace:
				for _, w := range strings.Fields(in.Replaced) {
					assert.NotContains(t, lower, strings.ToLower(w), "doc %d: replacement %q is in the article", i, in.Replaced)
				}
			case KindNumber, KindDate, KindAdded:
				for _, n := range numberRE.FindAllString(in.Replaced, -1) {
					assert.False(t, slices.Contains(normNumbers(article), normNumber(n)), "doc %d: %q is in the article", i, n)
				}
			case KindNegation:
				assert.True(t, in.Replaced == in.Original+" not" || in.Replaced == "cannot", in.Replaced)
			default:
				t.Errorf("unknown kind %q", in.Kind)
			}
		}
	}
	for _, k := range []string{KindNumber, KindDate, KindName, KindPlace, KindNegation, KindAdded} {
		assert.Greater(t, kinds[k], 20, "kind %s used %d times: %v", k, kinds[k], kinds)
	}
}

func normNumbers(s string) []string {
	var out []string
	for _, n := range numberRE.FindAllString(s, -1) {
		out = append(out, normNumber(strings.TrimRight(n, ",")))
	}
	return out
}

func TestCorruptFallback(t *testing.T) {
	article := "Rain fell. Wind blew. Birds sang. Night came."
	got, inj, err := Summarize(Corrupt+"@1", article)
	require.NoError(t, err)
	require.Len(t, inj, 1)
	assert.Equal(t, KindAdded, inj[0].Kind)
	assert.Equal(t, "", inj[0].Original)
	assert.Equal(t, "Rain fell. Wind blew. Birds sang."+inj[0].Replaced, got)
	assert.Regexp(t, `^ Officials said .* \d,\d{3} dollars\.$`, inj[0].Replaced)
}

func TestCorruptIsDeterministicAndTextDependent(t *testing.T) {
	a := SampleArticle(3)
	s1, i1, _ := Summarize(Corrupt+"@1", a)
	s2, i2, _ := Summarize(Corrupt+"@1", "\n"+a+"  ")
	assert.Equal(t, s1, s2, "surrounding white space must not change the result")
	assert.Equal(t, i1, i2)
}

func TestAlterNumber(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	v := newVocab("The plan cost 4,100 dollars and 17 people came.")
	for range 200 {
		got, ok := alterNumber("3,400", rng, v)
		require.True(t, ok)
		assert.Regexp(t, `^\d{1,3}(,\d{3})*$`, got)
		assert.NotEqual(t, "3,400", got)
		assert.NotEqual(t, "4,100", got, "must not pick a number the article has")

		got, ok = alterNumber("12", rng, v)
		require.True(t, ok)
		assert.Regexp(t, `^\d+$`, got)
		assert.NotContains(t, []string{"12", "17"}, got)

		got, ok = alterNumber("3.5", rng, v)
		require.True(t, ok)
		assert.Regexp(t, `^\d+\.\d$`, got)
		assert.NotEqual(t, "3.5", got)
	}
}

func TestArticle(t *testing.T) {
	prompt := "You are a chat bot. Summarize.\nHere is the passage:\n  The text. More text.\n"
	assert.Equal(t, "The text. More text.", Article(prompt))
	assert.Equal(t, "Just text.", Article(" Just text. "))
}

func BenchmarkSummarizeCorrupt(b *testing.B) {
	article := SampleArticle(1)
	b.SetBytes(int64(len(article)))
	for b.Loop() {
		if _, _, err := Summarize(Corrupt+"@1", article); err != nil {
			b.Fatal(err)
		}
	}
}
