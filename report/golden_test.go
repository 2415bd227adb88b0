package report

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenFiles are the text formats' expected outputs over sampleStats.
// After a deliberate change of a format: go test ./report -update, and
// review the diff.
var goldenFiles = map[string]string{
	"table":    "sample.txt",
	"markdown": "sample.md",
	"csv":      "sample.csv",
	"json":     "sample.json",
}

func TestGolden(t *testing.T) {
	rows := sampleStats(t)
	for format, name := range goldenFiles {
		t.Run(format, func(t *testing.T) {
			got := render(t, format, rows)
			path := filepath.Join("testdata", name)
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./report -update to create it")
			assert.Equal(t, string(want), got)
		})
	}
}
