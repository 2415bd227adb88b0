package pipeline

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hallu-eval/hallu/internal/atomicfile"
	"github.com/hallu-eval/hallu/leaderboard"
	htmlreport "github.com/hallu-eval/hallu/report/html"
	"github.com/hallu-eval/hallu/results"
)

// CollectDocs reads the whole records of paths (standard input, which
// cannot be read twice, is left out: report collects it as it reads) into
// the HTML report's drill-down, and returns notes about files it skipped.
func CollectDocs(ctx context.Context, paths []string, col *htmlreport.Collector) ([]string, error) {
	var notes []string
	skipped := func(path string) { notes = append(notes, "Skipped "+path+": not hallu result records.") }
	n := 0
	err := leaderboard.ReadRecords(paths, strings.NewReader(""), skipped, func(rec *results.Record) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		col.Add(rec)
		return nil
	})
	return notes, err
}

// Manifests reads the manifest.json of every directory among paths: the
// parameter counts of all of them, and the manifest itself when there is
// exactly one (the page's header describes one run).
func Manifests(paths []string) (*results.Manifest, map[string]float64, []string) {
	params := map[string]float64{}
	var found []*results.Manifest
	var notes []string
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			continue
		}
		m, err := results.ReadManifest(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			// The report does not need the manifest; say why it lacks it.
			notes = append(notes, "Ignored "+filepath.Join(p, results.ManifestFile)+": "+err.Error())
			continue
		}
		found = append(found, m)
		for k, v := range htmlreport.ParamsFromManifest(m) {
			params[k] = v
		}
	}
	if len(found) == 1 {
		return found[0], params, notes
	}
	return nil, params, notes
}

// WriteHTML writes a run's HTML report to path from its statistics, its
// judgment files and its manifest.
func WriteHTML(ctx context.Context, path string, files []string, man *results.Manifest, rows []leaderboard.ModelStats) error {
	col := htmlreport.NewCollector(htmlreport.DefaultMaxDocs)
	notes, err := CollectDocs(ctx, files, col)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		return htmlreport.Write(w, htmlreport.Input{
			Generated: time.Now(), Stats: rows, Params: htmlreport.ParamsFromManifest(man), Manifest: man,
			Notes: notes, Docs: col.Models(), MaxDocs: htmlreport.DefaultMaxDocs,
		})
	})
}
