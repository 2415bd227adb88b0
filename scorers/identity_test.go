package scorers_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
)

// idScorer knows its identity, which carries a version of its own (as a
// weights-based scorer's may) and one option.
type idScorer struct{ constScorer }

func (idScorer) Name() string    { return "identity-test" }
func (idScorer) Version() string { return "v" }
func (idScorer) Identity() scorers.Identity {
	return scorers.Identity{Name: "identity-test", Version: "v-id", Options: map[string]string{"model": "m"}}
}

func init() {
	scorers.Register(scorers.Info{Name: "identity-test", Description: "d", Open: func(context.Context, scorers.Options) (scorers.Scorer, error) {
		return idScorer{}, nil
	}})
}

func open(t *testing.T, name string, opts scorers.Options) scorers.Scorer {
	t.Helper()
	s, err := scorers.Open(context.Background(), name, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestIdentityOfScorerWithoutIdentifier(t *testing.T) {
	opts := scorers.Options{"b": "2", "a": "1", "fail": ""}
	s := open(t, "registry-test", opts)
	id := scorers.IdentityOf(s)
	assert.Equal(t, scorers.Identity{Name: "registry-test", Version: "1", Options: map[string]string{"a": "1", "b": "2"}}, id,
		"every option it was opened with, an empty one read as unset")

	opts["a"] = "changed"
	id.Options["b"] = "changed"
	assert.Equal(t, map[string]string{"a": "1", "b": "2"}, scorers.IdentityOf(s).Options,
		"neither the caller's map nor a returned identity can change the scorer's")

	bare := scorers.IdentityOf(open(t, "registry-test", nil))
	assert.Nil(t, bare.Options)
	assert.Equal(t, scorers.Identity{Name: "registry-test", Version: "1"}.Key(), bare.Key())

	c := scorers.IdentityOf(open(t, "registry-test", scorers.Options{"a": "1", "chunk-words": "10"}))
	assert.Equal(t, scorers.Identity{Name: "registry-test", Version: "1+chunk10/2",
		Options: map[string]string{"a": "1", "chunk-words": "10", "chunk-overlap": "2"}}, c,
		"chunking shows, with its default overlap filled in")
}

func TestChunkedIdentityBuildsOnInnerIdentity(t *testing.T) {
	s := open(t, "identity-test", scorers.Options{"chunk-words": "100", "chunk-overlap": "10"})
	assert.Equal(t, scorers.Identity{Name: "identity-test", Version: "v-id+chunk100/10",
		Options: map[string]string{"model": "m", "chunk-words": "100", "chunk-overlap": "10"}}, scorers.IdentityOf(s))
	assert.Equal(t, "v+chunk100/10", s.Version(), "the recorded version is still the scorer's own")
	assert.Equal(t, map[string]string{"model": "m"}, scorers.IdentityOf(idScorer{}).Options, "the inner identity is not changed")

	plain := scorers.IdentityOf(open(t, "identity-test", nil))
	assert.Equal(t, idScorer{}.Identity(), plain, "an Identifier is not wrapped")
	assert.Equal(t, "version \"v-id\" here, \"v-id+chunk100/10\" there; option chunk-overlap unset here, 10 there; option chunk-words unset here, 100 there",
		plain.Diff(scorers.IdentityOf(s)))
}

func TestIdentityKeyIsStable(t *testing.T) {
	a := scorers.Identity{Name: "hhem", Version: "2.1", Weights: "abc", Options: map[string]string{}}
	for _, k := range []string{"x", "y", "z", "mode", "chunk-words"} {
		a.Options[k] = k + "-value"
	}
	b := scorers.Identity{Name: "hhem", Version: "2.1", Weights: "abc", Options: map[string]string{}}
	for _, k := range []string{"chunk-words", "mode", "z", "y", "x"} {
		b.Options[k] = k + "-value"
	}
	assert.Equal(t, a.Key(), b.Key(), "map order does not matter")
	// Pinned: keys are written into records, so a change of encoding would
	// make every finished judgment look stale.
	assert.Equal(t, "0383850eb9c1dd16", a.Key())
	assert.Len(t, a.Key(), 16)

	assert.Equal(t, scorers.Identity{Name: "n"}.Key(), scorers.Identity{Name: "n", Options: map[string]string{}}.Key(),
		"no options and empty options are the same identity")
	b.Options["mode"] = "claims"
	assert.NotEqual(t, a.Key(), b.Key())
	for _, other := range []scorers.Identity{{Name: "hhem", Version: "2.1"}, {Name: "hhem", Version: "2.2", Weights: "abc"}, {Name: "hhem", Version: "2.1", Weights: "abd"}} {
		assert.NotEqual(t, scorers.Identity{Name: "hhem", Version: "2.1", Weights: "abc"}.Key(), other.Key(), "%+v", other)
	}
}

func TestIdentityStringAndDiff(t *testing.T) {
	a := scorers.Identity{Name: "hhem", Version: "2.1-open", Weights: "1a2b3c4d5e6f7a8b", Options: map[string]string{"mode": "claims", "chunk-words": "400"}}
	assert.Equal(t, "hhem 2.1-open (weights 1a2b3c4d5e6f) chunk-words=400 mode=claims", a.String())
	assert.Equal(t, "", a.Diff(a))

	b := scorers.Identity{Name: "hhem", Version: "2.1-open", Weights: "ffff", Options: map[string]string{"mode": "verdict", "batch": "8"}}
	assert.Equal(t, `weights "1a2b3c4d5e6f7a8b" here, "ffff" there; option batch unset here, 8 there; option chunk-words=400 here, unset there; option mode=claims here, verdict there`,
		a.Diff(b))
	assert.Equal(t, `scorer hhem here, overlap there; version "2.1-open" here, "1" there; weights "1a2b3c4d5e6f7a8b" here, "" there; option chunk-words=400 here, unset there; option mode=claims here, unset there`,
		a.Diff(scorers.Identity{Name: "overlap", Version: "1"}))
}
