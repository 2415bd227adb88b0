package results

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hallu-eval/hallu/internal/atomicfile"
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

	// Dataset is the dataset as the config named it (a path, "builtin").
	// Everything below it is computed from the records the run left, not
	// from the config: DatasetSHA256 fingerprints their (document id, text
	// hash) pairs, and it, Documents, Scorer and PromptHash are set when
	// every model's records agree (per-model values are in Models).
	Dataset       string   `json:"dataset"`
	DatasetSHA256 string   `json:"dataset_sha256,omitempty"`
	Documents     int      `json:"documents,omitempty"`
	Scorer        string   `json:"scorer,omitempty"`
	ScorerKey     string   `json:"scorer_key,omitempty"`
	FallbackFor   []string `json:"fallback_for,omitempty"`
	PromptHash    string   `json:"prompt_hash,omitempty"`

	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`

	// Models holds per-model record counts, keyed by model name.
	Models map[string]ManifestCounts `json:"models,omitempty"`
}

// ManifestCounts is what one model's records in a run hold.
type ManifestCounts struct {
	Dir              string `json:"dir,omitempty"` // directory under the run, e.g. the model's label
	Documents        int    `json:"documents"`
	Generated        int    `json:"generated"` // records with a summary
	GenerationErrors int    `json:"generation_errors"`
	Judged           int    `json:"judged"`
	ScorerErrors     int    `json:"scorer_errors"`
	OutputTruncated  int    `json:"output_truncated"`
	InputTruncated   int    `json:"input_truncated"`

	DatasetSHA256      string            `json:"dataset_sha256,omitempty"`
	Scorer             string            `json:"scorer,omitempty"`
	ScorerKey          string            `json:"scorer_key,omitempty"`
	FallbackFor        []string          `json:"fallback_for,omitempty"`
	PromptHashes       []string          `json:"prompt_hashes,omitempty"`
	Params             []json.RawMessage `json:"params,omitempty"` // each distinct set of sampling settings
	Endpoints          []string          `json:"endpoints,omitempty"`
	ServedModels       []string          `json:"served_models,omitempty"`
	SystemFingerprints []string          `json:"system_fingerprints,omitempty"`

	// Set when the run config gives the model's prices (per million
	// tokens): the tokens the server reported and what they cost.
	PriceIn   float64  `json:"price_in,omitempty"`
	PriceOut  float64  `json:"price_out,omitempty"`
	TokensIn  int64    `json:"tokens_in,omitempty"`
	TokensOut int64    `json:"tokens_out,omitempty"`
	Cost      *float64 `json:"cost,omitempty"`
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
