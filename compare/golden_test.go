package compare

import (
	"bytes"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// -update rewrites the golden files from the current output:
// go test ./compare -update, then review the diff.
var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./compare -update to create it")
	assert.Equal(t, string(want), string(got), "%s differs; if the change is intended, go test ./compare -update", path)
}

// TestGolden pins every text rendering of a comparison: a regression judged
// by a keyed scorer (gates failing, flipped documents listed), and a pass
// over records made by an older hallu (warnings).
func TestGolden(t *testing.T) {
	hhem := scorers.Identity{Name: "hhem", Version: "2.1-open", Weights: "2f1d3c4b5a69788796a5b4c3d2e1f0a9"}
	regression := func() (*Result, []Verdict) {
		base := keyedSide(t, "base-model", 4, hhem, nil)
		cand := keyedSide(t, "cand|model", 14, hhem, func(r *results.Record) {
			if r.DocID == "doc-39" {
				r.Summary = leaderboard.RefusalSentence
			}
		})
		r, err := Compare(base, cand, Options{})
		require.NoError(t, err)
		return r, r.Check(gates(5, 1), DefaultMinDocs)
	}
	older := func() (*Result, []Verdict) {
		base := sideOf(t, 40, func(i int) *results.Record { return legacyRecord("base-model", i, 6, "overlap", "1") })
		cand := sideOf(t, 40, func(i int) *results.Record { return legacyRecord("cand-model", i, 5, "overlap", "1") })
		r, err := Compare(base, cand, Options{Intervals: leaderboard.IntervalOptions{Method: leaderboard.IntervalBootstrap, Samples: 500, Seed: 3}})
		require.NoError(t, err)
		return r, r.Check(gates(2, math.NaN()), DefaultMinDocs)
	}
	for name, mk := range map[string]func() (*Result, []Verdict){"regression": regression, "older": older} {
		r, vs := mk()
		for ext, write := range map[string]func(io.Writer, []Verdict) error{
			"txt": r.WriteText, "md": r.WriteMarkdown, "json": r.WriteJSON,
		} {
			var b bytes.Buffer
			require.NoError(t, write(&b, vs))
			golden(t, name+"."+ext, b.Bytes())
		}
		var b bytes.Buffer
		require.NoError(t, WriteJUnit(&b, "hallu compare: "+r.Base.Model+" vs "+r.Cand.Model, vs))
		golden(t, name+".junit.xml", b.Bytes())
	}
}
