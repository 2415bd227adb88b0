package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/internal/atomicfile"
	"github.com/hallu-eval/hallu/internal/httpretry"
	"github.com/hallu-eval/hallu/internal/lock"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/refmodel"
	"github.com/hallu-eval/hallu/report"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// RunHTMLFile is the HTML report's name in a run directory.
const RunHTMLFile = "report.html"

// RunOptions are the command-line side of `hallu run`.
type RunOptions struct {
	Version string // hallu's, for the manifest
	// Replace discards records made differently from this config (another
	// dataset text, prompt, setting or scorer) instead of refusing.
	Replace bool
	// DryRun prints what each model would be sent, with estimated tokens
	// and cost, and sends and writes nothing.
	DryRun bool
	Stdout io.Writer // the final table
	Log    io.Writer // notices and progress
}

// Run generates, scores and reports every model of c. Everything that can
// be checked is checked before the first request: the dataset, the prompt,
// the report formats, the scorer, every model's endpoint and key.
func Run(ctx context.Context, c *RunConfig, opt RunOptions) error {
	log := orDiscard(opt.Log)
	started := time.Now().UTC()
	if _, err := dataset.DescribeContext(ctx, c.Dataset, dataset.Options{IDField: c.IDField, TextField: c.TextField}); err != nil {
		return inputErrf("dataset %s: %w", c.Dataset, err)
	}
	if c.Shard != "" {
		i, n, err := dataset.ParseShard(c.Shard)
		if err != nil {
			return inputErrf("shard: %w", err)
		}
		c.Shard = fmt.Sprintf("%d/%d", i, n)
	}
	prompt := ""
	if c.PromptFile != "" {
		b, err := os.ReadFile(c.PromptFile)
		if err != nil {
			return inputErrf("prompt_file: %w", err)
		}
		if !strings.Contains(string(b), eval.ArticlePlaceholder) {
			return inputErrf("prompt_file %s has no %s placeholder", c.PromptFile, eval.ArticlePlaceholder)
		}
		prompt = string(b)
	}
	for _, f := range c.Report.Formats {
		if err := report.Check(f); err != nil {
			return inputErrf("report.formats: %w", err)
		}
	}
	jobs := make([]GenerateJob, len(c.Models))
	for i, m := range c.Models {
		job, err := c.generateJob(m, prompt)
		if err != nil {
			return inputErr(err)
		}
		job.Replace, job.ReplaceFlag, job.Log = opt.Replace, "--replace", log
		if job.Config.Endpoint != "" {
			// NewGenerator checks every setting without sending anything.
			g, err := eval.NewGenerator(job.Config)
			if err != nil {
				return inputErrf("%s: %w", m.Name, err)
			}
			g.Close()
			// Every model must exist before the first is asked for
			// anything.
			if !refmodel.IsBuiltin(m.Name) {
				if err := prepare(ctx, &job, log); err != nil {
					return fmt.Errorf("%s: %w", m.Name, err)
				}
			}
		}
		job.DryRun, job.Stdout = opt.DryRun, opt.Stdout
		jobs[i] = job
	}
	// Two entries answered by one served model (tiny and TINY on Ollama)
	// would be one row of the report, with every document twice.
	byName := map[string]string{}
	for i, m := range c.Models {
		n := canonical(jobs[i])
		if other, ok := byName[n]; ok {
			return inputErrf("models %s and %s are the same served model %s; list it once", other, m.Name, n)
		}
		byName[n] = m.Name
	}
	if opt.DryRun {
		for i := range jobs {
			if _, err := Generate(ctx, jobs[i]); err != nil {
				return fmt.Errorf("%s: %w", c.Models[i].Name, err)
			}
		}
		return nil
	}
	if err := os.MkdirAll(c.Output, 0o755); err != nil {
		return inputErrf("output: %w", err)
	}
	l, err := lock.AcquireDir(c.Output)
	if err != nil {
		return inputErr(err)
	}
	defer l.Release()
	// Open the scorer before generating: a configuration that cannot score
	// should fail before any model is asked for anything.
	sc, fallbackFor, err := OpenScorer(ctx, c.Scorer, scorers.Options(c.ScorerOptions), c.FallbackScorer, log)
	if err != nil {
		return inputErr(err)
	}
	defer sc.Close()

	var judgmentFiles []string
	dirs := map[string]string{}
	scorerFailed := 0
	for i, m := range c.Models {
		dir := filepath.Join(c.Output, m.Label)
		fmt.Fprintf(log, "hallu run: %s: generating\n", m.Name)
		gst, err := Generate(ctx, jobs[i])
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		fmt.Fprintf(log, "hallu run: %s: %s\n", m.Name, gst)
		WarnTruncation(log, gst)
		fmt.Fprintf(log, "hallu run: %s: scoring with %s\n", m.Name, scorers.IdentityOf(sc))
		sst, err := Score(ctx, ScoreJob{
			In: filepath.Join(dir, results.GenerationsFile), Out: filepath.Join(dir, results.JudgmentsFile),
			Scorer: sc, FallbackFor: fallbackFor, Batch: c.ScoreBatch,
			Replace: opt.Replace, ReplaceFlag: "--replace", Log: log,
		})
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if sst.Failed > 0 {
			fmt.Fprintf(log, "hallu run: %s: the scorer failed on %d records (see judgment.error); rerun to retry them\n", m.Name, sst.Failed)
			scorerFailed += sst.Failed
		}
		dirs[canonical(jobs[i])] = m.Label
		judgmentFiles = append(judgmentFiles, filepath.Join(dir, results.JudgmentsFile))
	}

	// Everything below is computed from the records, not from this config:
	// the files are the truth a rerun or a reader sees.
	rows, err := leaderboard.Load(judgmentFiles, nil, nil, leaderboard.Options{})
	if err != nil {
		return err
	}
	for _, w := range leaderboard.Warnings(rows) {
		fmt.Fprintf(log, "hallu run: WARNING: %s\n", w)
	}
	man := &results.Manifest{
		HalluVersion: opt.Version,
		Config:       c.manifestConfig(),
		Dataset:      c.Dataset,
		StartedAt:    started,
		EndedAt:      time.Now().UTC(),
	}
	describe(man, rows, dirs)
	costs := priceRows(c, jobs, rows, man)
	if err := results.WriteManifest(c.Output, man); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	for _, f := range c.Report.Formats {
		if f == "html" {
			continue // report.html is always written
		}
		path := filepath.Join(c.Output, "leaderboard."+report.Ext(f))
		err := atomicfile.Write(path, func(w io.Writer) error { return report.Write(w, f, rows, report.Options{}) })
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "hallu run: wrote %s\n", path)
	}
	htmlPath := filepath.Join(c.Output, RunHTMLFile)
	if err := WriteHTML(ctx, htmlPath, judgmentFiles, man, rows); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	fmt.Fprintf(log, "hallu run: wrote %s\n", htmlPath)
	fmt.Fprintf(opt.Stdout, "\ndataset: %s   results: %s\n", c.Dataset, c.Output)
	if err := report.Write(opt.Stdout, "table", rows, report.Options{}); err != nil {
		return err
	}
	if len(costs) > 0 {
		fmt.Fprintf(opt.Stdout, "\nCost (measured tokens at the config's prices per million):\n")
		for _, l := range costs {
			fmt.Fprintf(opt.Stdout, "  %s\n", l)
		}
	}
	fmt.Fprintf(opt.Stdout, "\nHTML report: %s\n", htmlPath)
	if scorerFailed > 0 {
		// The reports are written, but their rates leave those records
		// out: the run is not done.
		return fmt.Errorf("the scorer failed on %d records, which the rates leave out; rerun the same command to retry them", scorerFailed)
	}
	return nil
}

// canonical is the name a job's records are reported under.
func canonical(job GenerateJob) string {
	if job.Config.ModelCanonical != "" {
		return job.Config.ModelCanonical
	}
	return job.Config.Model
}

// priceRows records, for every model the config prices, its measured
// token use and cost in the manifest, and returns one line per model for
// the printed report.
func priceRows(c *RunConfig, jobs []GenerateJob, rows []leaderboard.ModelStats, man *results.Manifest) []string {
	var lines []string
	for i, m := range c.Models {
		if m.PriceIn == 0 && m.PriceOut == 0 {
			continue
		}
		name := canonical(jobs[i])
		for _, r := range rows {
			if r.Model != name {
				continue
			}
			cost := Cost(r.TokensIn, r.TokensOut, m.PriceIn, m.PriceOut)
			mc := man.Models[name]
			mc.PriceIn, mc.PriceOut, mc.TokensIn, mc.TokensOut, mc.Cost = m.PriceIn, m.PriceOut, r.TokensIn, r.TokensOut, &cost
			man.Models[name] = mc
			l := fmt.Sprintf("%s: %d input + %d output tokens = %s", name, r.TokensIn, r.TokensOut, money(cost))
			if r.UsageDocs < r.Documents {
				l += fmt.Sprintf(" (%d of %d records reported usage)", r.UsageDocs, r.Documents)
			}
			lines = append(lines, l)
		}
	}
	return lines
}

// generateJob builds one model's generation stage from the config.
func (c *RunConfig) generateJob(m ModelConfig, prompt string) (GenerateJob, error) {
	env := m.APIKeyEnv
	key := ""
	if env != "" {
		key = os.Getenv(env)
		if key == "" {
			return GenerateJob{}, fmt.Errorf("%s: api_key_env %s: the environment variable is empty or unset", m.Name, env)
		}
	} else {
		env = "OPENAI_API_KEY"
		key = os.Getenv(env)
	}
	job := GenerateJob{
		Dataset:     c.Dataset,
		DatasetOpts: dataset.Options{IDField: c.IDField, TextField: c.TextField, MaxBytes: c.MaxDocBytes},
		Limit:       c.Limit,
		Shard:       c.Shard,
		Strict:      *c.Strict,
		Out:         filepath.Join(c.Output, m.Label, results.GenerationsFile),
		EndpointSet: m.endpointSet,
		PriceIn:     m.PriceIn,
		PriceOut:    m.PriceOut,
		Config: eval.GenerateConfig{
			Endpoint:          m.Endpoint,
			Model:             m.Name,
			APIKey:            key,
			APIKeyEnv:         env,
			Prompt:            prompt,
			MaxTokens:         m.MaxTokens,
			MaxTokensField:    m.MaxTokensField,
			Seed:              c.Seed,
			Stream:            c.Stream,
			ExtraBody:         m.ExtraBody,
			Concurrency:       m.Concurrency,
			RequestsPerMinute: m.RPM,
		},
	}
	if m.Temperature != nil {
		job.Config.Temperature = float32(*m.Temperature)
	}
	if c.Timeout != nil {
		job.Config.Timeout = *c.Timeout
	}
	if c.Retries != nil {
		job.Config.MaxRetries = *c.Retries
		if *c.Retries == 0 {
			job.Config.MaxRetries = -1 // eval reads 0 as "the default"
		}
	}
	if c.MaxFatal != nil {
		job.Config.MaxFatal = *c.MaxFatal
	}
	return job, nil
}

// manifestConfig is the configuration as given, for the record: API keys
// appear only as the names of their variables.
func (c *RunConfig) manifestConfig() map[string]any {
	models := make([]map[string]any, 0, len(c.Models))
	for _, m := range c.Models {
		mm := map[string]any{"name": m.Name, "label": m.Label, "endpoint": httpretry.RedactURL(m.Endpoint), "concurrency": m.Concurrency}
		if m.APIKeyEnv != "" {
			mm["api_key_env"] = m.APIKeyEnv
		}
		if m.Params > 0 {
			mm["params"] = m.Params
		}
		if m.PriceIn > 0 || m.PriceOut > 0 {
			mm["price_in"], mm["price_out"] = m.PriceIn, m.PriceOut
		}
		models = append(models, mm)
	}
	cfg := map[string]any{
		"config": c.path, "dataset": c.Dataset, "limit": c.Limit, "shard": c.Shard, "output": c.Output,
		"models": models, "scorer": c.Scorer, "fallback_scorer": c.FallbackScorer,
		"scorer_options": c.ScorerOptions, "prompt_file": c.PromptFile,
	}
	return cfg
}
