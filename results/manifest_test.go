package results

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestManifestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	m := &Manifest{
		HalluVersion:  "v0.1.0",
		Config:        map[string]any{"concurrency": 8.0, "scorer": "hhem"},
		Dataset:       "builtin",
		DatasetSHA256: "ab12",
		Documents:     50,
		StartedAt:     start,
		EndedAt:       start.Add(90 * time.Second),
		Models: map[string]ManifestCounts{
			"builtin:lead-3": {Dir: "builtin_lead-3", Generated: 50, Judged: 49, ScorerErrors: 1},
		},
	}
	require.NoError(t, WriteManifest(dir, m))
	got, err := ReadManifest(dir)
	require.NoError(t, err)
	assert.Equal(t, m, got)

	// Rewriting replaces it and leaves no temporary file behind.
	m.Documents = 51
	require.NoError(t, WriteManifest(dir, m))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	got, err = ReadManifest(dir)
	require.NoError(t, err)
	assert.Equal(t, 51, got.Documents)

	require.NoError(t, os.WriteFile(filepath.Join(dir, ManifestFile), []byte("{"), 0o644))
	_, err = ReadManifest(dir)
	assert.ErrorContains(t, err, ManifestFile)
}
