package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/served"
)

// RunConfig is the file `hallu run --config` reads: one dataset, one
// scorer, several models, one output directory. docs/config.md documents
// every key.
type RunConfig struct {
	Dataset     string `yaml:"dataset"`
	IDField     string `yaml:"id_field"`
	TextField   string `yaml:"text_field"`
	MaxDocBytes int    `yaml:"max_doc_bytes"`
	Limit       int    `yaml:"limit"`
	Shard       string `yaml:"shard"`
	// Strict (default true) stops the run at the first unusable dataset
	// record instead of skipping it: a leaderboard over "all but a few"
	// documents is not the leaderboard.
	Strict *bool `yaml:"strict"`

	Output string `yaml:"output"`

	// Defaults for every model; a model entry may override each.
	Endpoint    string         `yaml:"endpoint"`
	APIKeyEnv   string         `yaml:"api_key_env"`
	Concurrency int            `yaml:"concurrency"`
	RPM         int            `yaml:"rpm"`
	Timeout     *time.Duration `yaml:"timeout"`
	Retries     *int           `yaml:"retries"`
	MaxFatal    *int           `yaml:"max_fatal"`
	Temperature *float64       `yaml:"temperature"`
	MaxTokens   int            `yaml:"max_tokens"`
	// MaxTokensField forces the request field of the token limit
	// (max_tokens or max_completion_tokens); "" chooses by endpoint.
	MaxTokensField string         `yaml:"max_tokens_field"`
	Seed           *int           `yaml:"seed"`
	Stream         bool           `yaml:"stream"`
	ExtraBody      map[string]any `yaml:"extra_body"`
	PromptFile     string         `yaml:"prompt_file"`

	Models []ModelConfig `yaml:"models"`

	Scorer        string            `yaml:"scorer"`
	ScorerOptions map[string]string `yaml:"scorer_options"`
	// FallbackScorer stands in, with a notice carried into every output,
	// when Scorer's parts are absent (HHEM's weights not pulled).
	FallbackScorer string `yaml:"fallback_scorer"`
	ScoreBatch     int    `yaml:"score_batch"`

	Report struct {
		// Formats written into the output directory as leaderboard.EXT.
		Formats []string `yaml:"formats"`
	} `yaml:"report"`

	path string // where the config was read from, for messages
}

// ModelConfig is one entry of models.
type ModelConfig struct {
	Name        string   `yaml:"name"`
	Label       string   `yaml:"label"` // directory name; defaults to a file-safe form of Name
	Endpoint    string   `yaml:"endpoint"`
	APIKeyEnv   string   `yaml:"api_key_env"`
	Concurrency int      `yaml:"concurrency"`
	RPM         int      `yaml:"rpm"`
	Temperature *float64 `yaml:"temperature"`
	MaxTokens   int      `yaml:"max_tokens"`
	// MaxTokensField overrides the top-level max_tokens_field.
	MaxTokensField string         `yaml:"max_tokens_field"`
	ExtraBody      map[string]any `yaml:"extra_body"`
	// PriceIn and PriceOut are the model's prices per million input and
	// output tokens: the dry run estimates cost from them, and the run's
	// report and manifest show the measured tokens' cost.
	PriceIn  float64 `yaml:"price_in"`
	PriceOut float64 `yaml:"price_out"`
	// Params is the model's parameter count, for size-versus-quality plots.
	Params float64 `yaml:"params"`

	endpointSet bool // Endpoint came from the config, not the environment
}

// LoadRunConfig reads and validates a run config. Errors speak the
// config's words: the file, the line, the key.
func LoadRunConfig(path string) (*RunConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, inputErr(fmt.Errorf("config: %w", err))
	}
	var c RunConfig
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a misspelt key is an error, not a silent default
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, errEOF) || strings.Contains(err.Error(), "EOF") {
			return nil, inputErrf("config %s: the file is empty", path)
		}
		return nil, inputErrf("config %s: %s", path, yamlMessage(err))
	}
	c.path = path
	if err := c.validate(); err != nil {
		return nil, inputErrf("config %s: %w", path, err)
	}
	return &c, nil
}

var errEOF = errors.New("EOF")

var (
	reUnknown = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)
	reType    = regexp.MustCompile("line (\\d+): cannot unmarshal !!(\\w+) `([^`]*)` into (\\S+)")
)

// yamlMessage rewrites the YAML decoder's Go-flavoured messages ("field
// concurency not found in type pipeline.RunConfig") in the config's terms.
func yamlMessage(err error) string {
	var lines []string
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		if g := reUnknown.FindStringSubmatch(m); g != nil {
			msg := fmt.Sprintf("line %s: unknown key %q", g[1], g[2])
			if s := closestKey(g[2]); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			lines = append(lines, msg)
			continue
		}
		if g := reType.FindStringSubmatch(m); g != nil {
			lines = append(lines, fmt.Sprintf("line %s: %q is not %s", g[1], g[3], goTypeWords(g[4])))
			continue
		}
		lines = append(lines, strings.TrimPrefix(m, "yaml: "))
	}
	return strings.Join(lines, "; ")
}

func goTypeWords(t string) string {
	switch {
	case strings.HasPrefix(t, "*"):
		return goTypeWords(t[1:])
	case t == "int" || t == "int64":
		return "a whole number"
	case t == "float64" || t == "float32":
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "time.Duration":
		return "a duration such as 90s or 2m"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping of keys to values"
	default:
		return "a mapping (key: value lines)"
	}
}

// configKeys lists every key of the config, for "did you mean".
func configKeys() []string {
	var keys []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			keys = append(keys, name)
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Time{}) {
				walk(ft)
			}
		}
	}
	walk(reflect.TypeOf(RunConfig{}))
	return keys
}

// closestKey is the known key within two edits of k, if any.
func closestKey(k string) string {
	best, bestD := "", 3
	for _, c := range configKeys() {
		if d := served.EditDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func (c *RunConfig) validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.Dataset == "" {
		bad("dataset is required (a CSV/JSONL path or \"builtin\")")
	}
	if c.Output == "" {
		bad("output (the results directory) is required")
	}
	if len(c.Models) == 0 {
		bad("models: at least one model is required")
	}
	if c.Scorer == "" {
		c.Scorer = "overlap"
	}
	if c.Strict == nil {
		t := true
		c.Strict = &t
	}
	nonNeg := func(key string, v int) {
		if v < 0 {
			bad("%s: %d must not be negative", key, v)
		}
	}
	nonNeg("limit", c.Limit)
	nonNeg("max_doc_bytes", c.MaxDocBytes)
	nonNeg("concurrency", c.Concurrency)
	nonNeg("rpm", c.RPM)
	nonNeg("max_tokens", c.MaxTokens)
	nonNeg("score_batch", c.ScoreBatch)
	if c.Retries != nil {
		nonNeg("retries", *c.Retries)
	}
	if c.MaxFatal != nil && *c.MaxFatal < 1 {
		bad("max_fatal: %d must be at least 1", *c.MaxFatal)
	}
	if c.Timeout != nil && *c.Timeout <= 0 {
		bad("timeout: %v must be positive", *c.Timeout)
	}
	if c.Temperature != nil && (*c.Temperature < 0 || *c.Temperature > 2) {
		bad("temperature: %v is outside [0,2]", *c.Temperature)
	}
	// The top-level endpoint defaults to $OPENAI_BASE_URL, as generate's
	// --endpoint does.
	topSet := c.Endpoint != ""
	if !topSet {
		c.Endpoint = os.Getenv("OPENAI_BASE_URL")
	}
	seen := map[string]bool{}
	for i := range c.Models {
		m := &c.Models[i]
		where := fmt.Sprintf("models[%d]", i)
		if m.Name == "" {
			bad("%s: name is required", where)
			continue
		}
		where += " " + m.Name
		if m.Label == "" {
			m.Label = safeName(m.Name)
		}
		if seen[m.Label] {
			bad("%s: appears twice (give one a distinct label)", where)
		}
		seen[m.Label] = true
		m.endpointSet = m.Endpoint != "" || topSet
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
		if m.ExtraBody == nil {
			m.ExtraBody = c.ExtraBody
		}
		if m.MaxTokensField == "" {
			m.MaxTokensField = c.MaxTokensField
		}
		switch m.MaxTokensField {
		case "", eval.MaxTokensField, eval.MaxCompletionTokens:
		default:
			bad("%s: max_tokens_field %q: want %s or %s", where, m.MaxTokensField, eval.MaxTokensField, eval.MaxCompletionTokens)
		}
		if m.PriceIn < 0 || m.PriceOut < 0 {
			bad("%s: price_in and price_out must not be negative", where)
		}
		nonNeg(where+": concurrency", m.Concurrency)
		nonNeg(where+": rpm", m.RPM)
		nonNeg(where+": max_tokens", m.MaxTokens)
		if m.Temperature != nil && (*m.Temperature < 0 || *m.Temperature > 2) {
			bad("%s: temperature %v is outside [0,2]", where, *m.Temperature)
		}
		if m.Endpoint == "" && !strings.HasPrefix(m.Name, "builtin:") {
			bad("%s: no endpoint (set endpoint for the model or at the top level, or OPENAI_BASE_URL)", where)
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
