package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// runConfig is the file `hallu run --config` reads: one dataset, one scorer,
// several models, one output directory.
type runConfig struct {
	Dataset     string `yaml:"dataset"`
	IDField     string `yaml:"id_field"`
	TextField   string `yaml:"text_field"`
	MaxDocBytes int    `yaml:"max_doc_bytes"`
	Limit       int    `yaml:"limit"`
	Shard       string `yaml:"shard"`

	Output string `yaml:"output"`

	// Defaults for every model; a model entry may override each.
	Endpoint    string        `yaml:"endpoint"`
	APIKeyEnv   string        `yaml:"api_key_env"`
	Concurrency int           `yaml:"concurrency"`
	RPM         int           `yaml:"rpm"`
	Timeout     time.Duration `yaml:"timeout"`
	Retries     int           `yaml:"retries"`
	Temperature *float64      `yaml:"temperature"`
	MaxTokens   int           `yaml:"max_tokens"`
	Seed        *int          `yaml:"seed"`
	Stream      bool          `yaml:"stream"`
	PromptFile  string        `yaml:"prompt_file"`

	Models []modelConfig `yaml:"models"`

	Scorer        string            `yaml:"scorer"`
	ScorerOptions map[string]string `yaml:"scorer_options"`
	// FallbackScorer is used, with a notice, when Scorer cannot be opened
	// (for example HHEM's weights have not been pulled).
	FallbackScorer string `yaml:"fallback_scorer"`
	ScoreBatch     int    `yaml:"score_batch"`

	Report struct {
		// Formats written into the output directory as leaderboard.EXT.
		Formats []string `yaml:"formats"`
	} `yaml:"report"`
}

type modelConfig struct {
	Name        string   `yaml:"name"`
	Label       string   `yaml:"label"` // directory name; defaults to a file-safe form of Name
	Endpoint    string   `yaml:"endpoint"`
	APIKeyEnv   string   `yaml:"api_key_env"`
	Concurrency int      `yaml:"concurrency"`
	RPM         int      `yaml:"rpm"`
	Temperature *float64 `yaml:"temperature"`
	MaxTokens   int      `yaml:"max_tokens"`
	// Params is the model's parameter count, for size-versus-quality plots.
	Params float64 `yaml:"params"`
}

func loadRunConfig(path string) (*runConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c runConfig
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a misspelt key is an error, not a silent default
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

func (c *runConfig) validate() error {
	var errs []string
	if c.Dataset == "" {
		errs = append(errs, "dataset is required (a CSV/JSONL path or \"builtin\")")
	}
	if c.Output == "" {
		errs = append(errs, "output (the results directory) is required")
	}
	if len(c.Models) == 0 {
		errs = append(errs, "models: at least one model is required")
	}
	if c.Scorer == "" {
		c.Scorer = "overlap"
	}
	seen := map[string]bool{}
	for i := range c.Models {
		m := &c.Models[i]
		if m.Name == "" {
			errs = append(errs, fmt.Sprintf("models[%d]: name is required", i))
			continue
		}
		if m.Label == "" {
			m.Label = safeName(m.Name)
		}
		if seen[m.Label] {
			errs = append(errs, fmt.Sprintf("models[%d]: %q appears twice (give one a distinct label)", i, m.Name))
		}
		seen[m.Label] = true
		if m.Endpoint == "" {
			m.Endpoint = c.Endpoint
		}
		if m.APIKeyEnv == "" {
			m.APIKeyEnv = c.APIKeyEnv
		}
		if m.Concurrency == 0 {
			m.Concurrency = c.Concurrency
		}
		if m.RPM == 0 {
			m.RPM = c.RPM
		}
		if m.Temperature == nil {
			m.Temperature = c.Temperature
		}
		if m.MaxTokens == 0 {
			m.MaxTokens = c.MaxTokens
		}
		if m.Endpoint == "" && !strings.HasPrefix(m.Name, "builtin:") {
			errs = append(errs, fmt.Sprintf("models[%d] %s: no endpoint (set endpoint for the model or at the top level)", i, m.Name))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// safeName turns a model name such as "org/model:7b" into a directory name.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return strings.Trim(b.String(), ".")
}
