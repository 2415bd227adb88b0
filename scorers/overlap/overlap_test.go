package overlap

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/refmodel"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

const article = `The Harbor Trust said on Tuesday that it will spend 3,400 dollars on twelve new benches in Portsmouth.
Director Anna Weller said the benches were not ordered before March 2021. The project costs 3.4 million dollars in total.
Residents had asked for 12 benches.`

func TestJudge(t *testing.T) {
	cases := []struct {
		name, summary string
		consistent    bool
		explains      string // substring of the explanation
	}{
		{"extractive", "Director Anna Weller said the benches were not ordered before March 2021.", true, "all supported"},
		{"number formats", "The trust will spend 3400 dollars on 12 benches; the project costs 3,400,000 dollars.", true, "all supported"},
		{"number word", "Residents had asked for twelve benches in Portsmouth.", true, "all supported"},
		{"changed number", "The Harbor Trust will spend 4,100 dollars on new benches.", false, `number "4,100"`},
		{"changed year", "The benches were not ordered before March 2019, Anna Weller said.", false, `date "2019"`},
		{"changed month", "The benches were not ordered before June 2021, Anna Weller said.", false, `date "June"`},
		{"changed weekday", "The Harbor Trust said on Friday that it will buy benches.", false, `date "Friday"`},
		{"new name", "Director Maria Lopez said the benches were not ordered before March 2021.", false, `name "Maria Lopez"`},
		{"new place", "The Harbor Trust will spend 3,400 dollars on benches in Lisbon.", false, `name "Lisbon"`},
		{"injected negation", "The Harbor Trust said on Tuesday that it will not spend 3,400 dollars on benches.", false, `negation "will not spend"`},
		{"contraction negation", "Residents hadn't asked for 12 benches in Portsmouth.", false, `negation "Residents hadn't asked"`},
		{"paraphrase", "According to director Anna Weller, the trust plans twelve new benches for Portsmouth residents.", true, "content words"},
		{"unrelated", "A volcano erupted violently yesterday, covering distant villages with thick grey ash.", false, "content words not in source"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			score, why := Judge(article, c.summary)
			assert.GreaterOrEqual(t, score, 0.0)
			assert.LessOrEqual(t, score, 1.0)
			assert.Equal(t, c.consistent, score >= results.ConsistentThreshold, "score %.3f: %s", score, why)
			assert.Contains(t, why, c.explains)
		})
	}
}

func TestJudgeListsEveryUnsupportedItemOnce(t *testing.T) {
	// Content words: "dollars" (in the source), "spent" twice (the source
	// has "spend", a different stem); "said" and "more" are stop words.
	score, why := Judge(article, "Maria Lopez said 4,100 dollars were spent. Maria Lopez said 4,100 more were spent in 2019.")
	assert.Equal(t, `unsupported: name "Maria Lopez"; number "4,100"; date "2019"; 2 of 3 content words not in source`, why)
	assert.Less(t, score, 0.1)
}

func TestJudgeExtractiveIsPerfect(t *testing.T) {
	score, _ := Judge(article, article)
	assert.Equal(t, 1.0, score)
}

func TestRegistered(t *testing.T) {
	info, ok := scorers.Lookup(Name)
	require.True(t, ok)
	assert.Contains(t, info.Description, "not a substitute for HHEM")
	s, err := scorers.Open(context.Background(), Name, nil)
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, Version, s.Version())
	res, err := s.Score(context.Background(), []scorers.Pair{
		{ID: "a", Source: article, Summary: "The Harbor Trust will spend 3,400 dollars on twelve new benches."},
		{ID: "b", Source: article, Summary: "The Harbor Trust will spend 9,999 dollars on twelve new benches."},
	})
	require.NoError(t, err)
	require.Len(t, res, 2)
	assert.GreaterOrEqual(t, res[0].Score, 0.5)
	assert.Less(t, res[1].Score, 0.5)

	_, err = scorers.Open(context.Background(), Name, scorers.Options{"treshold": "0.3"})
	assert.ErrorContains(t, err, `unknown option "treshold"`)
	_, err = scorers.Open(context.Background(), Name, scorers.Options{"bacth": "8"})
	assert.ErrorContains(t, err, `unknown option "bacth" (overlap takes no options)`)

	s, err = scorers.Open(context.Background(), Name, nil)
	require.NoError(t, err)
	assert.Equal(t, scorers.Identity{Name: Name, Version: Version}, scorers.IdentityOf(s))
	c, err := scorers.Open(context.Background(), Name, scorers.Options{"chunk-words": "400"})
	require.NoError(t, err)
	assert.Equal(t, scorers.Identity{Name: Name, Version: Version + "+chunk400/50",
		Options: map[string]string{"chunk-words": "400", "chunk-overlap": "50"}}, scorers.IdentityOf(c),
		"the default overlap is filled in")
}

func TestScoreStopsOnCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Scorer{}.Score(ctx, []scorers.Pair{{Source: "a b c", Summary: "a b c"}})
	assert.True(t, errors.Is(err, context.Canceled))
}

// rates scores lead-3 and fully corrupted summaries of each article and
// returns the detection rate (corrupted judged < 0.5) and the false-alarm
// rate (lead-3 judged < 0.5).
func rates(t *testing.T, next func() (string, bool)) (detect, falseAlarm float64, n int) {
	var caught, alarms int
	for {
		text, ok := next()
		if !ok {
			break
		}
		n++
		lead, _, err := refmodel.Summarize(refmodel.Lead3, text)
		require.NoError(t, err)
		if s, why := Judge(text, lead); s < results.ConsistentThreshold {
			alarms++
			t.Logf("false alarm %.3f: %s\n%s", s, why, lead)
		}
		bad, inj, err := refmodel.Summarize(refmodel.Corrupt+"@1", text)
		require.NoError(t, err)
		if s, why := Judge(text, bad); s < results.ConsistentThreshold {
			caught++
		} else {
			t.Logf("missed %.3f: %s; injected %+v", s, why, inj)
		}
	}
	require.Positive(t, n)
	return float64(caught) / float64(n), float64(alarms) / float64(n), n
}

func TestRanksCorruptBelowLead3Synthetic(t *testing.T) {
	i := 0
	detect, alarm, n := rates(t, func() (string, bool) {
		i++
		return refmodel.SampleArticle(i), i <= 1000
	})
	t.Logf("synthetic articles: %d docs, detection %.1f%%, false alarms %.1f%%", n, 100*detect, 100*alarm)
	assert.GreaterOrEqual(t, detect, 0.9)
	assert.LessOrEqual(t, alarm, 0.02)
}

func TestRanksCorruptBelowLead3Builtin(t *testing.T) {
	src, err := dataset.Open(dataset.BuiltinSpec, dataset.Options{})
	require.NoError(t, err)
	defer src.Close()
	detect, alarm, n := rates(t, func() (string, bool) {
		d, err := src.Next()
		if errors.Is(err, io.EOF) {
			return "", false
		}
		require.NoError(t, err)
		return d.Text, true
	})
	t.Logf("builtin sample: %d docs, detection %.1f%%, false alarms %.1f%%", n, 100*detect, 100*alarm)
	assert.GreaterOrEqual(t, detect, 0.8)
	assert.LessOrEqual(t, alarm, 0.05)
}

func BenchmarkJudge(b *testing.B) {
	text := refmodel.SampleArticle(1)
	summary, _, _ := refmodel.Summarize(refmodel.Corrupt+"@1", text)
	b.SetBytes(int64(len(text) + len(summary)))
	for b.Loop() {
		Judge(text, summary)
	}
}

func TestTokenize(t *testing.T) {
	var got []string
	for _, tk := range tokenize(`He said: "Smith's 3,400 (12.5%) wasn't 2,10 or 1.x" — Zoë’s café.`) {
		got = append(got, tk.text)
	}
	assert.Equal(t, []string{"He", "said", "Smith's", "3,400", "12.5", "wasn't", "2", "10", "or", "1", "x", "Zoë’s", "café"}, got)
}

// Faithful abstractive summaries (paraphrase, reordering, "7-4" for "7 to
// 4") must stay consistent; a negation the source does not make must not.
func TestAbstractiveSummariesOfBuiltinDocs(t *testing.T) {
	src, err := dataset.Open(dataset.BuiltinSpec, dataset.Options{})
	require.NoError(t, err)
	defer src.Close()
	texts := map[string]string{}
	for {
		d, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		texts[d.ID] = d.Text
	}
	cases := []struct {
		doc, summary string
		consistent   bool
	}{
		{"hallu-001", "Marlow Ridge's council approved a $48.6 million budget for 2025 by a 7-4 vote, about 5 percent more than last year. " +
			"Mayor Helen Okafor said the increase would fund road repairs and six more firefighters, while Councillor Dennis Varga opposed it over tax concerns. " +
			"The property tax rate will rise to 11.7 mills, and $1.4 million was set aside for the Elm Street water main.", true},
		{"hallu-001", "The Marlow Ridge council did not approve the budget.", false},
		{"hallu-001", "The Marlow Ridge council approved a $52 million budget for road repairs.", false},
		{"hallu-002", "Fenwick Appliances will build a second factory in Ashgrove County, expected to open in 2026 with about 320 workers. " +
			"Demand for its water heaters has doubled, and sales rose to $212 million. The $75 million plant is backed by a tax abatement " +
			"and a state training grant; no jobs will leave Dunmore.", true},
		{"hallu-002", "Fenwick Appliances, led by chief executive Maria Fenwick, will build a second factory in Ashgrove.", false},
	}
	for _, c := range cases {
		text, ok := texts[c.doc]
		require.True(t, ok, "builtin sample has no %s", c.doc)
		score, why := Judge(text, c.summary)
		assert.Equal(t, c.consistent, score >= results.ConsistentThreshold, "%s %.3f %s: %s", c.doc, score, why, c.summary)
	}
}
