package htmlreport

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/results"
)

// A judgment with sentence scores outlines the unsupported sentences with
// their scores, keeps the overlap marks inside them, and leaves the
// supported ones plain; byte offsets past a multi-byte character land
// where they should.
func TestDrillDownShowsUnsupportedSentences(t *testing.T) {
	src := "Zoë Brandt opened 5 parks in Paris on Monday. The city paid for them."
	sum := "Zoë Brandt opened 7 parks in Paris on Monday. The city paid for them."
	r := judged("m", "d1", src, sum, 0.12)
	r.Judgment.Sentences = []results.SentenceScore{{Start: 0, End: 46, Score: 0.12}, {Start: 47, End: len(sum), Score: 0.93}}
	require.Equal(t, "Zoë Brandt opened 7 parks in Paris on Monday.", sum[:46])
	page := render(t, input(t, 10, r))
	page = page[strings.Index(page, `<section id="documents">`):]

	assert.Contains(t, page, `<span class="sent low" title="sentence score 0.120: unsupported">Zoë Brandt opened <mark class="number" title="number not in the source">7</mark> parks in Paris on Monday.<small class="sscore">0.120</small></span>`)
	assert.Contains(t, page, ` <span class="sent" title="sentence score 0.930">The city paid for them.</span>`)
	assert.Contains(t, page, "1 of 2 sentences unsupported")
	assert.Contains(t, page, "outlined with their score")
}

func TestBySentenceCutsMarksAtSpans(t *testing.T) {
	sum := "Alpha beta gamma delta. Epsilon zeta eta theta."
	segs := []segment{{Text: "Alpha beta gamma "}, {Text: "delta. Epsilon", Kind: "name"}, {Text: " zeta eta theta."}}
	got := bySentence(sum, segs, []results.SentenceScore{{Start: 0, End: 23, Score: 0.8}, {Start: 24, End: len(sum), Score: 0.2}})
	require.Len(t, got, 3)
	assert.Equal(t, sentenceView{Parts: []segment{{Text: "Alpha beta gamma "}, {Text: "delta.", Kind: "name"}}, Score: "0.800"}, got[0],
		"a mark across a sentence end is cut in two")
	assert.Equal(t, sentenceView{Parts: []segment{{Text: " ", Kind: "name"}}}, got[1], "the space between is no sentence, and keeps its mark")
	assert.Equal(t, sentenceView{Parts: []segment{{Text: "Epsilon", Kind: "name"}, {Text: " zeta eta theta."}}, Score: "0.200", Low: true}, got[2])

	var whole strings.Builder
	for _, sv := range got {
		for _, p := range sv.Parts {
			whole.WriteString(p.Text)
		}
	}
	assert.Equal(t, sum, whole.String(), "no text lost or repeated")
}

// Spans that do not fit the summary (a hand-edited record, another tool's
// offsets) are not drawn: the summary is shown as without them.
func TestBySentenceIgnoresSpansThatDoNotFit(t *testing.T) {
	sum := "Zoë went home early. She slept well there."
	segs := []segment{{Text: sum}}
	for name, sents := range map[string][]results.SentenceScore{
		"past the end":     {{Start: 0, End: len(sum) + 1, Score: 0.1}},
		"inside a rune":    {{Start: 0, End: 3, Score: 0.1}},
		"overlapping":      {{Start: 0, End: 20, Score: 0.1}, {Start: 10, End: 30, Score: 0.1}},
		"empty":            {{Start: 5, End: 5, Score: 0.1}},
		"negative":         {{Start: -1, End: 5, Score: 0.1}},
		"out of order":     {{Start: 22, End: 30, Score: 0.1}, {Start: 0, End: 5, Score: 0.1}},
		"no sentences set": nil,
	} {
		assert.Nil(t, bySentence(sum, segs, sents), name)
	}
	r := judged("m", "d1", "", sum, 0.1)
	r.Judgment.Sentences = []results.SentenceScore{{Start: 0, End: 99, Score: 0.1}}
	page := render(t, input(t, 10, r))
	assert.NotContains(t, page, `class="sent`)
	assert.Contains(t, page, sum)
}
