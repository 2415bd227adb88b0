package scorers

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wordScorer gives a summary 0.2 when it holds "wrong", 0.6 when it holds
// "odd", else 0.9, and fails on "fail"; it records every call.
type wordScorer struct {
	mu    sync.Mutex
	calls [][]Pair
}

func (*wordScorer) Name() string    { return "words" }
func (*wordScorer) Version() string { return "2" }
func (*wordScorer) Close() error    { return nil }
func (w *wordScorer) Score(_ context.Context, pairs []Pair) ([]Result, error) {
	w.mu.Lock()
	w.calls = append(w.calls, pairs)
	w.mu.Unlock()
	out := make([]Result, len(pairs))
	for i, p := range pairs {
		out[i] = Result{Score: 0.9, Explanation: "fine", Usage: &Usage{PromptTokens: 5}, Repeats: []float64{0.9, 0.9}}
		switch {
		case strings.Contains(p.Summary, "fail"):
			out[i] = Result{Err: errors.New("cannot judge"), Usage: &Usage{PromptTokens: 5}}
		case strings.Contains(p.Summary, "wrong"):
			out[i].Score, out[i].Explanation, out[i].Repeats = 0.2, "unsupported", []float64{0.2, 0.7, 0.1}
		case strings.Contains(p.Summary, "odd"):
			out[i].Score = 0.6
		}
	}
	return out, nil
}

func TestBySentenceScoresEachSentenceInOneCall(t *testing.T) {
	inner := &wordScorer{}
	s := &BySentence{Inner: inner}
	sum1 := "The council met on Monday. It voted the wrong way on the bridge. The mayor was odd about it all."
	sum2 := "One single sentence about the town hall."
	pairs := []Pair{
		{ID: "a", Source: "src a", Summary: sum1},
		{ID: "b", Source: "src b", Summary: sum2},
		{ID: "c", Source: "src c", Summary: "  "},
	}
	res, err := s.Score(context.Background(), pairs)
	require.NoError(t, err)
	require.Len(t, res, 3)

	require.Len(t, inner.calls, 1, "every sentence of the batch goes to the inner scorer in one call")
	var ids, sums []string
	for _, p := range inner.calls[0] {
		ids = append(ids, p.ID)
		sums = append(sums, p.Summary)
		assert.Equal(t, "src "+p.ID[:1], p.Source, "each sentence is judged against its own document's source")
	}
	assert.Equal(t, []string{"a#s1", "a#s2", "a#s3", "b", "c"}, ids)
	assert.Equal(t, []string{"The council met on Monday.", "It voted the wrong way on the bridge.", "The mayor was odd about it all.", sum2, "  "}, sums)

	a := res[0]
	assert.Equal(t, 0.2, a.Score, "the document's score is its lowest sentence's")
	assert.Equal(t, "sentence 2 of 3 lowest: unsupported", a.Explanation)
	assert.Equal(t, []float64{0.2, 0.7, 0.1}, a.Repeats, "the lowest sentence's repeated verdicts")
	assert.Equal(t, &Usage{PromptTokens: 15}, a.Usage, "usage of every sentence")
	require.Len(t, a.Sentences, 3)
	for k, want := range []float64{0.9, 0.2, 0.6} {
		sp := a.Sentences[k]
		assert.Equal(t, want, sp.Score)
		assert.Equal(t, sums[k], sum1[sp.Start:sp.End], "spans are byte offsets into the summary")
	}

	b := res[1]
	assert.Equal(t, 0.9, b.Score)
	assert.Equal(t, []SentenceScore{{Start: 0, End: len(sum2), Score: 0.9}}, b.Sentences, "a single sentence is still a sentence")

	c := res[2]
	assert.Equal(t, 0.9, c.Score, "a summary with no sentence is judged whole")
	assert.Nil(t, c.Sentences)
}

func TestBySentenceFailsPairWhenOneSentenceFails(t *testing.T) {
	s := &BySentence{Inner: &wordScorer{}}
	res, err := s.Score(context.Background(), []Pair{
		{ID: "a", Source: "s", Summary: "This first sentence is fine. But this one will fail to be judged. The last is wrong here."},
		{ID: "b", Source: "s", Summary: "This one is fine and stays fine."},
	})
	require.NoError(t, err)
	require.Error(t, res[0].Err)
	assert.Equal(t, "sentence 2 of 3 (bytes 29-65): cannot judge", res[0].Err.Error())
	assert.Nil(t, res[0].Sentences, "no partial verdict")
	assert.Equal(t, &Usage{PromptTokens: 15}, res[0].Usage, "tokens spent count even when the pair failed")
	assert.NoError(t, res[1].Err, "the other pairs of the batch keep their verdicts")
	assert.Equal(t, 0.9, res[1].Score)
}

type badCountScorer struct{ wordScorer }

func (*badCountScorer) Score(context.Context, []Pair) ([]Result, error) { return []Result{{}}, nil }

func TestBySentenceRefusesWrongResultCount(t *testing.T) {
	s := &BySentence{Inner: &badCountScorer{}}
	_, err := s.Score(context.Background(), []Pair{{Summary: "Two sentences of four words. And another four words here."}})
	assert.EqualError(t, err, "scorer returned 1 results for 2 sentences")
}

// Registered once for the package, so that -count=N reruns do not
// register twice.
func init() {
	Register(Info{Name: "granularity-test", Description: "d", Open: func(_ context.Context, o Options) (Scorer, error) {
		if err := o.Check("granularity-test", "mode"); err != nil {
			return nil, err
		}
		return &wordScorer{}, nil
	}})
}

func TestOpenGranularity(t *testing.T) {
	ctx := context.Background()

	doc, err := Open(ctx, "granularity-test", Options{"mode": "x", GranularityOption: "document"})
	require.NoError(t, err)
	assert.Equal(t, Identity{Name: "words", Version: "2", Options: map[string]string{"mode": "x"}}, IdentityOf(doc),
		"the default granularity is no option: judgments made before it existed keep their identity")

	sent, err := Open(ctx, "granularity-test", Options{"mode": "x", GranularityOption: "sentence"})
	require.NoError(t, err)
	require.IsType(t, &BySentence{}, sent)
	id := IdentityOf(sent)
	assert.Equal(t, Identity{Name: "words", Version: "2+sentence", Options: map[string]string{"mode": "x", "granularity": "sentence"}}, id)
	assert.NotEqual(t, IdentityOf(doc).Key(), id.Key(), "sentence and document judgments never count together")
	assert.Equal(t, "2+sentence", sent.Version())

	both, err := Open(ctx, "granularity-test", Options{GranularityOption: "sentence", ChunkWordsOption: "40"})
	require.NoError(t, err)
	require.IsType(t, &BySentence{}, both)
	assert.IsType(t, &Chunked{}, both.(*BySentence).Inner, "each sentence is judged against the source's windows")
	assert.Equal(t, Identity{Name: "words", Version: "2+chunk40/10+sentence",
		Options: map[string]string{"granularity": "sentence", "chunk-words": "40", "chunk-overlap": "10"}}, IdentityOf(both))

	_, err = Open(ctx, "granularity-test", Options{GranularityOption: "paragraph"})
	assert.EqualError(t, err, `scorer granularity-test: granularity "paragraph": want document or sentence`)
}
