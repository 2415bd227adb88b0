package hhem

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hallu-eval/hallu/hfhub"
	"github.com/hallu-eval/hallu/scorers"
)

// The hub repositories the scorer needs. HHEM ships only the weights; its
// config names google/flan-t5-base as the foundation whose tokenizer it uses.
const (
	ModelRepo     = "vectara/hallucination_evaluation_model"
	TokenizerRepo = "google/flan-t5-base"
)

// ModelFiles and TokenizerFiles are what `hallu model pull` fetches.
var (
	ModelFiles     = []string{"config.json", "model.safetensors"}
	TokenizerFiles = []string{"spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}
)

// Files says where the scorer's inputs are.
type Files struct {
	Model        string // path of model.safetensors
	TokenizerDir string // directory holding spiece.model or tokenizer.json
	Commit       string // HHEM snapshot commit; "" when unknown
}

// Pull downloads (or finds already cached) the model and tokenizer at the
// HHEM revision (default "main"; the tokenizer always comes from main).
func Pull(ctx context.Context, c *hfhub.Client, revision string) (Files, error) {
	snap, err := c.Snapshot(ctx, ModelRepo, revision, ModelFiles)
	if err != nil {
		return Files{}, err
	}
	tok, err := c.Snapshot(ctx, TokenizerRepo, "main", TokenizerFiles)
	if err != nil {
		return Files{}, err
	}
	return Files{Model: filepath.Join(snap, "model.safetensors"), TokenizerDir: tok, Commit: filepath.Base(snap)}, nil
}

// Locate finds the model files from the options without any network
// access: model-dir / tokenizer-dir when given, otherwise the Hugging Face
// cache (cache-dir, else the HF_HUB_CACHE / HF_HOME default). A missing
// model's error says which command fetches it.
//
// Only files absent from the cache (what `hallu model pull` fixes) give an
// error wrapping scorers.ErrNotFound, the one failure a fallback scorer may
// stand in for. A model-dir, tokenizer-dir or cache-dir that the user named
// but that does not hold what it should is a mistake to fix, not an absence.
func Locate(opts scorers.Options) (Files, error) {
	var f Files
	modelDir := opts.Get("model-dir", "")
	if modelDir != "" {
		if st, err := os.Stat(modelDir); err != nil {
			return Files{}, fmt.Errorf("model-dir: %w", err)
		} else if !st.IsDir() {
			return Files{}, fmt.Errorf("model-dir %s is not a directory", modelDir)
		}
		f.Model = filepath.Join(modelDir, "model.safetensors")
		if !isFile(f.Model) {
			return Files{}, fmt.Errorf("model-dir %s has no model.safetensors (`hallu model pull` downloads one and prints where it went)", modelDir)
		}
		f.Commit = commitOf(modelDir)
	} else {
		if err := checkCacheDir(opts); err != nil {
			return Files{}, err
		}
		snap, err := cacheClient(opts).CachedSnapshot(ModelRepo, opts.Get("revision", "main"), ModelFiles)
		if err != nil {
			return Files{}, missing(opts, err)
		}
		f.Model = filepath.Join(snap, "model.safetensors")
		f.Commit = filepath.Base(snap)
	}
	switch dir := opts.Get("tokenizer-dir", ""); {
	case dir != "":
		if !hasTokenizer(dir) {
			return Files{}, fmt.Errorf("tokenizer-dir %s has neither spiece.model nor tokenizer.json", dir)
		}
		f.TokenizerDir = dir
	case modelDir != "" && hasTokenizer(modelDir):
		f.TokenizerDir = modelDir
	default:
		if err := checkCacheDir(opts); err != nil {
			return Files{}, err
		}
		snap, err := cacheClient(opts).CachedSnapshot(TokenizerRepo, "main", nil)
		if err == nil && !hasTokenizer(snap) {
			err = fmt.Errorf("%s snapshot %s has neither spiece.model nor tokenizer.json: %w", TokenizerRepo, snap, hfhub.ErrNotCached)
		}
		if err != nil {
			return Files{}, missing(opts, fmt.Errorf("tokenizer: %w", err))
		}
		f.TokenizerDir = snap
	}
	return f, nil
}

// Available reports whether Locate finds the model, so callers can fall back
// to another scorer with a notice instead of failing. Its error wraps
// scorers.ErrNotFound exactly when Locate's does.
func Available(opts scorers.Options) error {
	_, err := Locate(opts)
	return err
}

func cacheClient(opts scorers.Options) *hfhub.Client {
	c := hfhub.FromEnv()
	if d := opts.Get("cache-dir", ""); d != "" {
		c.CacheDir = d
	}
	return c
}

// checkCacheDir refuses a cache-dir option naming no directory: a typo there
// would otherwise read as "weights not downloaded" and quietly bring in the
// fallback scorer. The environment's default cache may well not exist yet;
// that is a plain absence.
func checkCacheDir(opts scorers.Options) error {
	d := opts.Get("cache-dir", "")
	if d == "" {
		return nil
	}
	st, err := os.Stat(d)
	switch {
	case err != nil:
		return fmt.Errorf("cache-dir: %w (to download HHEM there, run `%s`)", err, pullCommand(opts))
	case !st.IsDir():
		return fmt.Errorf("cache-dir %s is not a directory", d)
	}
	return nil
}

// missing wraps a cache lookup failure with the exact command that fixes
// it. Only a cache miss is marked scorers.ErrNotFound; anything else (a
// revision name that is not a valid path element) is the user's to fix.
func missing(opts scorers.Options, err error) error {
	if !errors.Is(err, hfhub.ErrNotCached) {
		return fmt.Errorf("HHEM model: %w", err)
	}
	return fmt.Errorf("HHEM model %w: %w\nrun `%s` to download it, or pass --scorer-opt model-dir=DIR for a local copy", scorers.ErrNotFound, err, pullCommand(opts))
}

func pullCommand(opts scorers.Options) string {
	cmd := "hallu model pull"
	if r := opts.Get("revision", "main"); r != "main" {
		cmd += " --revision " + r
	}
	if d := opts.Get("cache-dir", ""); d != "" {
		cmd += " --cache-dir " + d
	}
	return cmd
}

func hasTokenizer(dir string) bool {
	return isFile(filepath.Join(dir, "spiece.model")) || isFile(filepath.Join(dir, "tokenizer.json"))
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// commitOf recognises a model-dir that is itself a hub snapshot
// (.../snapshots/<commit>), so its commit still reaches the version string.
func commitOf(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	base := filepath.Base(abs)
	if filepath.Base(filepath.Dir(abs)) != "snapshots" || len(base) != 40 || strings.Trim(base, "0123456789abcdef") != "" {
		return ""
	}
	return base
}
