package results

import (
	"github.com/hallu-eval/hallu/internal/testutil"
	"testing"
)

func sharedTestdata(t testing.TB, sub string) string { return testutil.SharedTestdata(t, sub) }

func ptr[T any](v T) *T { return &v }

// rec builds a judged record.
func rec(model, doc, summary string, score *float64) *Record {
	r := &Record{Schema: SchemaVersion, Model: model, DocID: doc, Summary: summary}
	if score != nil {
		r.Judgment = &Judgment{Scorer: "test", Score: score}
	}
	return r
}
