package leaderboard

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/results"
)

// Records asked for as "tiny" and "TINY" that the server resolved to one
// model are one row, under the server's name, whichever reader is used.
func TestRowsGroupByCanonicalName(t *testing.T) {
	score := 0.9
	var buf bytes.Buffer
	w := results.NewWriter(&buf)
	for i, asked := range []string{"tiny", "TINY", "tiny:latest", "other"} {
		rec := &results.Record{Schema: results.SchemaVersion, DocID: string(rune('a' + i)), Model: asked,
			Summary: "one two three four five six", Judgment: &results.Judgment{Scorer: "s", Score: &score},
			LatencyMS: 10, LatencyQueued: asked == "TINY"}
		if asked != "other" && asked != "tiny:latest" {
			rec.ModelCanonical = "tiny:latest"
		}
		require.NoError(t, w.Write(rec))
	}
	require.NoError(t, w.Sync())
	path := filepath.Join(t.TempDir(), "j.jsonl")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	rows, err := Load([]string{path}, nil, nil, Options{})
	require.NoError(t, err)
	byModel := map[string]ModelStats{}
	for _, r := range rows {
		byModel[r.Model] = r
	}
	require.Len(t, byModel, 2, "rows: %v", byModel)
	assert.Equal(t, 3, byModel["tiny:latest"].Documents)
	assert.Equal(t, 1, byModel["tiny:latest"].LatencyQueued)

	ws := Warnings(rows)
	require.NotEmpty(t, ws)
	assert.Contains(t, ws[len(ws)-1], "tiny:latest: latency and time to first token of 1 records include time queued")
}
