package results

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The leaderboard's published judgments, aggregated by us, must give the
// published table's figures digit for digit.
func TestVectaraReproducesLeaderboard(t *testing.T) {
	dir := sharedTestdata(t, "vectara-lb")
	want, err := os.ReadFile(filepath.Join(dir, "expected.csv"))
	require.NoError(t, err)

	a := NewAggregator()
	require.NoError(t, a.ReadVectara(filepath.Join(dir, "output")))
	var buf bytes.Buffer
	require.NoError(t, writeCSV(&buf, a.Stats()))
	got := firstColumns(t, buf.String(), 5)

	assert.Equal(t, sortedRows(string(want)), sortedRows(got))
	// The header is the leaderboard's, in its order.
	assert.True(t, strings.HasPrefix(got, CSVHeader+"\n"))
}

func firstColumns(t *testing.T, csv string, n int) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(csv, "\n"), "\n") {
		f := strings.Split(line, ",")
		require.GreaterOrEqual(t, len(f), n, line)
		b.WriteString(strings.Join(f[:n], ","))
		b.WriteByte('\n')
	}
	return b.String()
}

// sortedRows keeps the header first and sorts the data rows.
func sortedRows(csv string) []string {
	lines := strings.Split(strings.TrimSuffix(strings.ReplaceAll(csv, "\r\n", "\n"), "\n"), "\n")
	sort.Strings(lines[1:])
	return lines
}

func TestVectaraBadInput(t *testing.T) {
	dir := t.TempDir()
	mdir := filepath.Join(dir, "output", "org", "model")
	require.NoError(t, os.MkdirAll(mdir, 0o755))
	good := `{"summary_uid":"a","hhem_score":0.9,"is_valid":true,"word_count":40}`
	cases := map[string]string{
		`no "is_valid"`:              `{"summary_uid":"b","hhem_score":0.9,"word_count":40}`,
		"outside [0,1]":              `{"summary_uid":"b","hhem_score":1.5,"is_valid":true,"word_count":40}`,
		"not a leaderboard judgment": `{"summary_uid":`,
		"duplicate":                  good,
	}
	for want, bad := range cases {
		require.NoError(t, os.WriteFile(filepath.Join(mdir, JudgmentsFile), []byte(good+"\n\n"+bad+"\n"), 0o644))
		err := NewAggregator().ReadVectara(dir)
		require.Error(t, err, want)
		assert.Contains(t, err.Error(), "judgments.jsonl line 3", want)
		assert.Contains(t, err.Error(), want)
	}
	require.NoError(t, os.WriteFile(filepath.Join(mdir, JudgmentsFile), []byte(good+"\n"), 0o644))
	a := NewAggregator()
	require.NoError(t, a.ReadVectara(dir))
	assert.Equal(t, "org/model", a.Stats()[0].Model)

	assert.ErrorContains(t, NewAggregator().ReadVectara(t.TempDir()), "no ORG/MODEL/judgments.jsonl")
}
