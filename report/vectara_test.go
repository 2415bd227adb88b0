package report

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/testutil"
	"github.com/hallu-eval/hallu/leaderboard"
)

// The leaderboard's published judgments, aggregated by us, must give the
// published table's figures digit for digit.
func TestVectaraReproducesLeaderboard(t *testing.T) {
	dir := testutil.SharedTestdata(t, "vectara-lb")
	want, err := os.ReadFile(filepath.Join(dir, "expected.csv"))
	require.NoError(t, err)

	a := leaderboard.NewAggregator()
	require.NoError(t, a.ReadVectara(filepath.Join(dir, "output")))
	var buf bytes.Buffer
	require.NoError(t, writeCSV(&buf, a.Stats(), nil))
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
