package results

import (
	"encoding/json"
	"fmt"
	"github.com/hallu-eval/hallu/internal/atomicfile"
	"io"
	"os"
	"path/filepath"
	"time"
)

// ManifestFile is the name of the manifest in a run directory.
const ManifestFile = "manifest.json"

// Manifest records how a run directory's results were produced, so that a
// report can be traced back to its inputs and settings.
type Manifest struct {
	HalluVersion string `json:"hallu_version"`
	// Config is the run's effective configuration, with secrets left out by
	// the writer: API keys are named by environment variable, never stored.
	Config map[string]any `json:"config,omitempty"`

	Dataset       string `json:"dataset"`                  // as given: a path, "builtin", ...
	DatasetSHA256 string `json:"dataset_sha256,omitempty"` // of the documents as read
	Documents     int    `json:"documents,omitempty"`      // documents in the dataset after limit/shard

	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`

	// Models holds per-model record counts, keyed by model name.
	Models map[string]ManifestCounts `json:"models,omitempty"`
}

// ManifestCounts is what a run produced for one model.
type ManifestCounts struct {
	Dir              string `json:"dir,omitempty"` // directory under the run, e.g. the model's label
	Generated        int    `json:"generated"`     // records written by generate
	GenerationErrors int    `json:"generation_errors"`
	Judged           int    `json:"judged"`
	ScorerErrors     int    `json:"scorer_errors"`
}

// WriteManifest writes m as dir/manifest.json, atomically: a crash leaves the
// old manifest or the new one, never half of one.
func WriteManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	b = append(b, '\n')
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, ManifestFile), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}
