package scorers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
)

type constScorer struct{ v float64 }

func (constScorer) Name() string    { return "registry-test" }
func (constScorer) Version() string { return "1" }
func (constScorer) Close() error    { return nil }
func (c constScorer) Score(_ context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	out := make([]scorers.Result, len(pairs))
	for i := range out {
		out[i].Score = c.v
	}
	return out, nil
}

// Registered once for the package, as a scorer package would in init, so
// that -count=N reruns do not register twice.
func init() {
	scorers.Register(scorers.Info{Name: "registry-test", Description: "d", Open: func(_ context.Context, o scorers.Options) (scorers.Scorer, error) {
		if o.Get("fail", "") != "" {
			return nil, errors.New("asked to fail")
		}
		return constScorer{0.75}, nil
	}})
}

func TestRegistry(t *testing.T) {
	assert.Contains(t, scorers.Names(), "registry-test")
	info, ok := scorers.Lookup("registry-test")
	require.True(t, ok)
	assert.Equal(t, "d", info.Description)

	s, err := scorers.Open(context.Background(), "registry-test", nil)
	require.NoError(t, err)
	res, err := s.Score(context.Background(), []scorers.Pair{{ID: "a"}})
	require.NoError(t, err)
	assert.Equal(t, 0.75, res[0].Score)

	_, err = scorers.Open(context.Background(), "registry-test", scorers.Options{"fail": "1"})
	assert.EqualError(t, err, "scorer registry-test: asked to fail")

	_, err = scorers.Open(context.Background(), "no-such-scorer", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown scorer "no-such-scorer"`)
	assert.Contains(t, err.Error(), "registry-test", "the error lists what is available")

	assert.Panics(t, func() {
		scorers.Register(scorers.Info{Name: "registry-test", Open: info.Open})
	}, "a duplicate name is a programming error")
	assert.Panics(t, func() { scorers.Register(scorers.Info{Name: "nil-factory"}) })
}

func TestOptionsGet(t *testing.T) {
	o := scorers.Options{"a": "1", "empty": ""}
	assert.Equal(t, "1", o.Get("a", "x"))
	assert.Equal(t, "x", o.Get("empty", "x"))
	assert.Equal(t, "x", o.Get("missing", "x"))
	assert.Equal(t, "x", scorers.Options(nil).Get("a", "x"))
}
