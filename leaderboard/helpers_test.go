package leaderboard

import (
	"testing"

	"github.com/hallu-eval/hallu/internal/testutil"
	"github.com/hallu-eval/hallu/results"
)

func sharedTestdata(t testing.TB, sub string) string { return testutil.SharedTestdata(t, sub) }

func ptr[T any](v T) *T { return &v }

// rec builds a judged record.
func rec(model, doc, summary string, score *float64) *results.Record {
	r := &results.Record{Schema: results.SchemaVersion, Model: model, DocID: doc, Summary: summary}
	if score != nil {
		r.Judgment = &results.Judgment{Scorer: "test", Score: score}
	}
	return r
}
