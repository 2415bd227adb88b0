package results

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// sharedTestdata returns ../shared/testdata relative to the repository root
// (the directory holding go.mod), skipping the test only when it is absent.
func sharedTestdata(t testing.TB, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "no go.mod above the test directory")
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "testdata", sub)
	if _, err := os.Stat(p); os.IsNotExist(err) {
		t.Skipf("%s is absent", p)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// rec builds a judged record.
func rec(model, doc, summary string, score *float64) *Record {
	r := &Record{Schema: SchemaVersion, Model: model, DocID: doc, Summary: summary}
	if score != nil {
		r.Judgment = &Judgment{Scorer: "test", Score: score}
	}
	return r
}
