package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/internal/httpretry"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/report"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

func init() {
	register(command{
		name:  "run",
		usage: "generate, score and report every model of a config file (resumable)",
		run:   runRun,
	})
}

func runRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	cfgPath := fs.String("config", "", "run configuration (YAML); see examples/")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu run --config run.yaml

Runs generate, score and report for every model in the config, writing
OUTPUT/MODEL/generations.jsonl, OUTPUT/MODEL/judgments.jsonl,
OUTPUT/manifest.json and OUTPUT/leaderboard.*. Rerunning resumes: finished
documents and judgments are kept, failed ones are tried again.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitCode(2, errors.New("--config FILE is required and takes no other arguments"))
	}
	cfg, err := loadRunConfig(*cfgPath)
	if err != nil {
		return exitCode(2, err)
	}
	return cfg.run(ctx, stdout, stderr)
}

func (c *runConfig) run(ctx context.Context, stdout, stderr io.Writer) error {
	started := time.Now().UTC()
	info, err := dataset.Describe(c.Dataset)
	if err != nil {
		return exitCode(2, fmt.Errorf("dataset %s: %w", c.Dataset, err))
	}
	if c.Shard != "" {
		if _, _, err := dataset.ParseShard(c.Shard); err != nil {
			return exitCode(2, err)
		}
	}
	prompt := ""
	if c.PromptFile != "" {
		b, err := os.ReadFile(c.PromptFile)
		if err != nil {
			return exitCode(2, fmt.Errorf("prompt file: %w", err))
		}
		if !strings.Contains(string(b), eval.ArticlePlaceholder) {
			return exitCode(2, fmt.Errorf("prompt file %s has no %s placeholder", c.PromptFile, eval.ArticlePlaceholder))
		}
		prompt = string(b)
	}
	for _, f := range c.Report.Formats {
		if err := report.Check(f); err != nil {
			return exitCode(2, fmt.Errorf("report.formats: %w", err))
		}
	}
	// Open the scorer first: a configuration that cannot score should fail
	// before any model is asked for anything.
	sc, err := c.openScorer(ctx, stderr)
	if err != nil {
		return exitCode(2, err)
	}
	defer sc.Close()

	man := &results.Manifest{
		HalluVersion:  version,
		Config:        c.manifestConfig(sc),
		Dataset:       c.Dataset,
		DatasetSHA256: info.SHA256,
		StartedAt:     started,
		Models:        map[string]results.ManifestCounts{},
	}
	var judgmentFiles []string
	for _, m := range c.Models {
		dir := filepath.Join(c.Output, m.Label)
		counts := results.ManifestCounts{Dir: m.Label}
		fmt.Fprintf(stderr, "hallu run: %s: generating\n", m.Name)
		gst, err := c.generate(ctx, m, prompt, dir, stdout, stderr)
		counts.Generated, counts.GenerationErrors = gst.Done, gst.Failed
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		fmt.Fprintf(stderr, "hallu run: %s: scoring with %s\n", m.Name, sc.Name())
		sst, err := scoreFile(ctx, sc, filepath.Join(dir, results.GenerationsFile), filepath.Join(dir, results.JudgmentsFile), c.ScoreBatch, stderr)
		counts.Judged, counts.ScorerErrors = sst.Judged, sst.Failed
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		man.Models[m.Name] = counts
		if docs := gst.Done + gst.Failed + gst.Skipped; docs > man.Documents {
			man.Documents = docs
		}
		judgmentFiles = append(judgmentFiles, filepath.Join(dir, results.JudgmentsFile))
	}

	stats, err := aggregateFiles(judgmentFiles)
	if err != nil {
		return err
	}
	man.EndedAt = time.Now().UTC()
	if err := results.WriteManifest(c.Output, man); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	for _, f := range c.Report.Formats {
		path := filepath.Join(c.Output, "leaderboard."+report.Ext(f))
		if err := writeFileAtomic(path, func(w io.Writer) error { return report.Write(w, f, stats, report.Options{}) }); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "hallu run: wrote %s\n", path)
	}
	htmlPath, err := writeRunHTML(ctx, c.Output, judgmentFiles, man, stats)
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	fmt.Fprintf(stderr, "hallu run: wrote %s\n", htmlPath)
	fmt.Fprintf(stdout, "\nscorer: %s %s   dataset: %s   results: %s\n\n", sc.Name(), sc.Version(), c.Dataset, c.Output)
	if err := report.Write(stdout, "table", stats, report.Options{}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nHTML report: %s\n", htmlPath)
	return nil
}

// openScorer opens the configured scorer, or the fallback with a notice when
// the configured one cannot be opened (HHEM without its weights, say).
func (c *runConfig) openScorer(ctx context.Context, stderr io.Writer) (scorers.Scorer, error) {
	return openWithFallback(ctx, c.Scorer, scorers.Options(c.ScorerOptions), c.FallbackScorer, stderr, "run")
}

// generate runs one model's generation into dir/generations.jsonl.
func (c *runConfig) generate(ctx context.Context, m modelConfig, prompt, dir string, stdout, stderr io.Writer) (eval.Stats, error) {
	key := ""
	if m.APIKeyEnv != "" {
		key = os.Getenv(m.APIKeyEnv)
		if key == "" {
			return eval.Stats{}, exitCode(2, fmt.Errorf("api_key_env %s: the environment variable is empty or unset", m.APIKeyEnv))
		}
	} else {
		key = os.Getenv("OPENAI_API_KEY")
	}
	job := generateJob{
		Dataset:     c.Dataset,
		DatasetOpts: dataset.Options{IDField: c.IDField, TextField: c.TextField, MaxBytes: c.MaxDocBytes},
		Limit:       c.Limit,
		Shard:       c.Shard,
		Out:         filepath.Join(dir, results.GenerationsFile),
		Config: eval.Config{
			Endpoint:          m.Endpoint,
			Model:             m.Name,
			APIKey:            key,
			Prompt:            prompt,
			MaxTokens:         m.MaxTokens,
			Seed:              c.Seed,
			Stream:            c.Stream,
			Timeout:           c.Timeout,
			Concurrency:       m.Concurrency,
			RequestsPerMinute: m.RPM,
			Progress:          stderr,
		},
	}
	if m.Temperature != nil {
		job.Config.Temperature = float32(*m.Temperature)
	}
	switch {
	case c.Retries < 0:
		job.Config.MaxRetries = -1
	case c.Retries > 0:
		job.Config.MaxRetries = c.Retries
	}
	st, err := job.run(ctx, stdout, stderr)
	if err == nil {
		fmt.Fprintf(stderr, "hallu run: %s: %d summaries, %d failed, %d already done\n", m.Name, st.Done, st.Failed, st.Skipped)
	}
	return st, err
}

// scoreFile judges the records of in into out, resuming out. A judgments
// file left by another scorer is moved aside (not deleted): it is finished
// work, and the new scorer's judgments must not mix with it.
func scoreFile(ctx context.Context, sc scorers.Scorer, in, out string, batch int, stderr io.Writer) (eval.ScoreStats, error) {
	if err := checkScorerOfOutput(out, sc.Name()); err != nil {
		aside := fmt.Sprintf("%s.%s.old", strings.TrimSuffix(out, ".jsonl"), time.Now().UTC().Format("20060102T150405"))
		if rerr := os.Rename(out, aside); rerr != nil {
			return eval.ScoreStats{}, fmt.Errorf("%v; and moving it aside failed: %w", err, rerr)
		}
		fmt.Fprintf(stderr, "hallu run: NOTICE: %v; moved it to %s and judging again with %s\n", err, aside, sc.Name())
	}
	f, err := os.Open(in)
	if err != nil {
		return eval.ScoreStats{}, err
	}
	defer f.Close()
	done, w, err := results.Resume(out, eval.ScoreKeep)
	if err != nil {
		return eval.ScoreStats{}, fmt.Errorf("resume %s: %w", out, err)
	}
	st, err := eval.ScoreStream(ctx, results.NewReader(f, in), w, eval.ScoreConfig{
		Scorer: sc, Batch: batch, Done: done, Progress: stderr, Total: countLines(in)})
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", out, cerr)
	}
	if err == nil && st.Failed > 0 {
		fmt.Fprintf(stderr, "hallu run: the scorer failed on %d records of %s (see judgment.error); rerun to retry them\n", st.Failed, in)
	}
	return st, err
}

// countLines counts the records of a JSONL file for the progress display; 0
// (unknown) when it cannot be read.
func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n, buf := 0, make([]byte, 256<<10)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err != nil {
			return n
		}
	}
}

// aggregateFiles reads result files into leaderboard rows.
func aggregateFiles(paths []string) ([]leaderboard.ModelStats, error) {
	agg := leaderboard.NewAggregator()
	for _, p := range paths {
		if err := agg.ReadInput(leaderboard.Input{Path: p}, nil); err != nil {
			return nil, err
		}
	}
	return agg.Stats(), nil
}

// manifestConfig is the effective configuration as recorded in the
// manifest: API keys appear only as the names of their variables.
func (c *runConfig) manifestConfig(sc scorers.Scorer) map[string]any {
	models := make([]map[string]any, 0, len(c.Models))
	for _, m := range c.Models {
		mm := map[string]any{"name": m.Name, "label": m.Label, "endpoint": httpretry.RedactURL(m.Endpoint), "concurrency": m.Concurrency}
		if m.APIKeyEnv != "" {
			mm["api_key_env"] = m.APIKeyEnv
		}
		if m.Params > 0 {
			mm["params"] = m.Params
		}
		if m.Temperature != nil {
			mm["temperature"] = *m.Temperature
		}
		if m.MaxTokens > 0 {
			mm["max_tokens"] = m.MaxTokens
		}
		models = append(models, mm)
	}
	cfg := map[string]any{
		"dataset": c.Dataset, "limit": c.Limit, "shard": c.Shard, "output": c.Output,
		"models": models, "scorer": sc.Name(), "scorer_version": sc.Version(),
		"scorer_options": c.ScorerOptions, "stream": c.Stream, "prompt_file": c.PromptFile,
	}
	if c.Seed != nil {
		cfg["seed"] = *c.Seed
	}
	return cfg
}
