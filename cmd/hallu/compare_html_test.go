package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompareWritesHTMLWithFlips(t *testing.T) {
	cfg, out := writeRunConfig(t, `
dataset: builtin
limit: 40
output: OUTDIR
models:
  - name: builtin:lead-3
  - name: builtin:corrupt
scorer: overlap
`)
	code, _, stderr := runHallu(t, "run", "--config", cfg)
	require.Equal(t, 0, code, stderr)

	page := filepath.Join(t.TempDir(), "cmp.html")
	code, stdout, stderr := runHallu(t, "compare", filepath.Join(out, "builtin_lead-3"), filepath.Join(out, "builtin_corrupt"), "--html", page)
	require.Equal(t, 0, code, stderr) // no gate set: a report, not a verdict
	require.Contains(t, stdout, "flipped to hallucinated")
	b, err := os.ReadFile(page)
	require.NoError(t, err)
	html := string(b)
	assert.Contains(t, html, `id="flips"`)
	assert.Contains(t, html, "became hallucinated")

	// Every flipped document the terminal lists appears on the page with
	// both summaries: the candidate's carries a highlighted change.
	var ids []string
	for _, line := range strings.Split(stdout, "\n") {
		if f := strings.Fields(line); len(f) == 4 && strings.HasPrefix(f[0], "hallu-") && f[2] == "->" {
			ids = append(ids, f[0])
		}
	}
	require.NotEmpty(t, ids)
	flips := html[strings.Index(html, `id="flips"`):]
	for _, id := range ids {
		assert.Contains(t, flips, `<code class="id">`+id+`</code>`)
	}
	assert.Contains(t, flips, "<mark")
}
