package scorers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyScorer scores 0.9 when the source contains the summary's first word,
// else 0.1; a summary "fail" fails on windows containing "w7".
type keyScorer struct {
	mu    sync.Mutex
	calls [][]Pair
}

func (*keyScorer) Name() string    { return "key" }
func (*keyScorer) Version() string { return "3" }
func (*keyScorer) Close() error    { return nil }
func (k *keyScorer) Score(_ context.Context, pairs []Pair) ([]Result, error) {
	k.mu.Lock()
	k.calls = append(k.calls, pairs)
	k.mu.Unlock()
	out := make([]Result, len(pairs))
	for i, p := range pairs {
		key := strings.Fields(p.Summary)[0]
		out[i] = Result{Score: 0.1, Explanation: "missing", Usage: &Usage{PromptTokens: 10, CompletionTokens: 1}}
		if key == "fail" && strings.Contains(p.Source, "w7 ") {
			out[i] = Result{Err: errors.New("window too odd")}
		} else if strings.Contains(p.Source, key) {
			out[i].Score, out[i].Explanation = 0.9, "found "+key
		}
	}
	return out, nil
}

func words(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("w%d", i)
	}
	return strings.Join(w, " \n")
}

func TestChunkedWindowsAndMax(t *testing.T) {
	inner := &keyScorer{}
	c, err := NewChunked(inner, 4, 1)
	require.NoError(t, err)
	assert.Equal(t, "key", c.Name())
	assert.Equal(t, "3+chunk4/1", c.Version())

	res, err := c.Score(context.Background(), []Pair{
		{ID: "long", Source: words(11), Summary: "w8 is here"}, // windows 0-3, 3-6, 6-9, 9-10
		{ID: "short", Source: "tiny source", Summary: "tiny"},
		{ID: "absent", Source: words(11), Summary: "zebra"},
	})
	require.NoError(t, err)
	require.Len(t, inner.calls, 1, "one inner call for every window of the batch")
	flat := inner.calls[0]
	require.Len(t, flat, 4+1+4)
	assert.Equal(t, []string{"w0 \nw1 \nw2 \nw3", "w3 \nw4 \nw5 \nw6", "w6 \nw7 \nw8 \nw9"}, []string{flat[0].Source, flat[1].Source, flat[2].Source})
	assert.Equal(t, "w9 \nw10", flat[3].Source, "the last window holds the remainder")
	assert.Equal(t, "long#w3", flat[2].ID)
	assert.Equal(t, "tiny source", flat[4].Source, "a short source is passed whole")
	assert.Equal(t, "short", flat[4].ID)

	assert.Equal(t, 0.9, res[0].Score)
	assert.Equal(t, "chunked: 4 windows of 4 words, overlap 1; best window 3 (words 7-10): found w8", res[0].Explanation)
	assert.Equal(t, &Usage{PromptTokens: 40, CompletionTokens: 4}, res[0].Usage, "usage of every window")
	assert.Equal(t, 0.9, res[1].Score)
	assert.Equal(t, 0.1, res[2].Score)
}

func TestChunkedWindowErrorFailsThePair(t *testing.T) {
	c, err := NewChunked(&keyScorer{}, 4, 1)
	require.NoError(t, err)
	res, err := c.Score(context.Background(), []Pair{{ID: "x", Source: words(11), Summary: "fail w0"}})
	require.NoError(t, err)
	require.Error(t, res[0].Err, "the max of the other windows is not reported")
	assert.Contains(t, res[0].Err.Error(), "window 3 of 4: window too odd")
}

// chunkTestGot is what the chunk-test scorer was opened with. Registered
// once for the package, so that -count=N reruns do not register twice.
var chunkTestGot Options

func init() {
	Register(Info{Name: "chunk-test", Open: func(_ context.Context, o Options) (Scorer, error) {
		chunkTestGot = o
		return &keyScorer{}, nil
	}})
}

func TestOpenAppliesChunkOptions(t *testing.T) {
	opts := Options{"chunk-words": "400", "other": "x"}
	s, err := Open(context.Background(), "chunk-test", opts)
	require.NoError(t, err)
	assert.Equal(t, Options{"other": "x"}, chunkTestGot, "the scorer does not see the chunking options")
	assert.Equal(t, "400", opts["chunk-words"], "the caller's options are not modified")
	c, ok := s.(*Chunked)
	require.True(t, ok)
	assert.Equal(t, 400, c.Words)
	assert.Equal(t, DefaultChunkOverlap, c.Overlap)

	s, err = Open(context.Background(), "chunk-test", Options{"chunk-words": "8", "chunk-overlap": "0"})
	require.NoError(t, err)
	assert.Equal(t, 0, s.(*Chunked).Overlap)

	s, err = Open(context.Background(), "chunk-test", nil)
	require.NoError(t, err)
	_, chunked := s.(*Chunked)
	assert.False(t, chunked)

	for _, bad := range []Options{{"chunk-words": "0"}, {"chunk-words": "ten"}, {"chunk-words": "10", "chunk-overlap": "10"}, {"chunk-overlap": "5"}} {
		_, err := Open(context.Background(), "chunk-test", bad)
		assert.Error(t, err, "%v", bad)
	}
}

func TestOptionsCheckAndParser(t *testing.T) {
	o := Options{"a": "1", "chunk-words": "5", "zz": "x"}
	assert.ErrorContains(t, o.Check("s", "a"), `unknown option "zz" (s takes a)`)
	assert.NoError(t, Options{"a": "1", "chunk-overlap": "2"}.Check("s", "a"))
	p := OptionParser{Opts: Options{"n": "3", "d": "2s", "b": "yes"}}
	assert.Equal(t, 3, p.Int("n", 0))
	assert.Equal(t, 7, p.Int("missing", 7))
	assert.Equal(t, "2s", p.Duration("d", 0).String())
	p.Bool("b", false)
	assert.ErrorContains(t, p.Err, `option b="yes": want true or false`)
}
