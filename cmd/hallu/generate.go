package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/refmodel"
	"github.com/hallu-eval/hallu/results"
)

func init() {
	register(command{
		name:  "generate",
		usage: "ask a model (OpenAI-compatible endpoint) to summarize every document",
		run:   runGenerate,
	})
}

// generateJob is one model's generation stage as the CLI sets it up; `hallu
// run` can build one per model.
type generateJob struct {
	Dataset     string
	DatasetOpts dataset.Options
	Limit       int
	Shard       string // "i/n", "" = all
	Out         string // "" = stdout, not resumable
	Config      eval.GenerateConfig
}

func runGenerate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("generate", stderr)
	var (
		job        generateJob
		cfg        = &job.Config
		apiKeyEnv  = fs.String("api-key-env", "OPENAI_API_KEY", "environment variable holding the API key (keys are never read from flags or written out)")
		promptFile = fs.String("prompt-file", "", "prompt template file; must contain {article} (default: the leaderboard's prompt)")
		timeout    = fs.Duration("timeout", eval.DefaultTimeout, "per-request timeout")
		retries    = fs.Int("retries", eval.DefaultRetries, "retries per document on rate limits, 5xx, timeouts and dropped connections")
		temp       = fs.Float64("temperature", 0, "sampling temperature (sent even when 0)")
		seed       = fs.Int("seed", 0, "sampling seed (sent only when given)")
	)
	fs.StringVar(&job.Dataset, "dataset", "", "dataset: builtin, FILE.csv, FILE.jsonl[.gz], FORMAT:PATH, or - for stdin")
	fs.StringVar(&job.DatasetOpts.IDField, "id-field", "", "dataset field holding the document id (default id / article_id)")
	fs.StringVar(&job.DatasetOpts.TextField, "text-field", "", "dataset field holding the document text (default text)")
	fs.IntVar(&job.Limit, "limit", 0, "only the first N documents (0 = all); applied before --shard")
	fs.StringVar(&job.Shard, "shard", "", "only shard i of n (e.g. 2/4) of the documents, split by id hash")
	fs.StringVar(&job.Out, "out", "", "write records to FILE and resume from it when rerun (default: standard output)")
	fs.StringVar(&cfg.Model, "model", "", "model name as the endpoint knows it, or builtin:lead-3 / builtin:corrupt[@SHARE]")
	fs.StringVar(&cfg.Endpoint, "endpoint", os.Getenv("OPENAI_BASE_URL"), "OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1 (default $OPENAI_BASE_URL)")
	fs.IntVar(&cfg.Concurrency, "concurrency", eval.DefaultConcurrency, "requests in flight")
	fs.IntVar(&cfg.RequestsPerMinute, "rpm", 0, "at most N requests per minute, retries included (0 = unlimited)")
	fs.IntVar(&cfg.MaxTokens, "max-tokens", 0, "maximum tokens per summary (0 = endpoint default)")
	fs.BoolVar(&cfg.Stream, "stream", false, "stream replies and record time to first token")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu generate --dataset SPEC --model M [flags]

Sends each document, in the leaderboard's prompt, to an OpenAI-compatible chat
completions endpoint and writes one JSON record per document: the summary, or
the error that prevented one. With --out the run can be interrupted (Ctrl-C)
and resumed by rerunning the same command: finished documents are kept,
failed ones are tried again.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return exitCode(2, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if job.Dataset == "" || cfg.Model == "" {
		fs.Usage()
		return exitCode(2, errors.New("--dataset and --model are required"))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg.Temperature = float32(*temp)
	cfg.Timeout = *timeout
	cfg.MaxRetries = *retries
	if *retries == 0 {
		cfg.MaxRetries = -1 // eval reads 0 as "default"
	}
	if set["seed"] {
		cfg.Seed = seed
	}
	key, err := apiKey(*apiKeyEnv, set["api-key-env"])
	if err != nil {
		return exitCode(2, err)
	}
	cfg.APIKey = key
	if *promptFile != "" {
		b, err := os.ReadFile(*promptFile)
		if err != nil {
			return exitCode(2, fmt.Errorf("prompt file: %w", err))
		}
		if !strings.Contains(string(b), eval.ArticlePlaceholder) {
			return exitCode(2, fmt.Errorf("prompt file %s has no %s placeholder for the document text", *promptFile, eval.ArticlePlaceholder))
		}
		cfg.Prompt = string(b)
	}
	if job.Shard != "" {
		if _, _, err := dataset.ParseShard(job.Shard); err != nil {
			return exitCode(2, err)
		}
	}
	cfg.Progress = stderr

	st, err := job.run(ctx, stdout, stderr)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("generate: %d done, %d failed", st.Done, st.Failed)
	if st.Skipped > 0 {
		msg += fmt.Sprintf(", %d already done", st.Skipped)
	}
	if st.Rejected > 0 {
		msg += fmt.Sprintf(", %d bad dataset records skipped", st.Rejected)
	}
	if st.Failed > 0 && job.Out != "" {
		msg += "; rerun the same command to retry the failed ones"
	}
	fmt.Fprintln(stderr, msg)
	return nil
}

// apiKey reads the key from the environment. A variable the user named
// explicitly must be set; the default one may be empty (local servers).
func apiKey(env string, explicit bool) (string, error) {
	v := os.Getenv(env)
	if v == "" && explicit {
		return "", fmt.Errorf("--api-key-env %s: the environment variable is empty or unset", env)
	}
	return v, nil
}

// run opens the dataset and output, starts the builtin models when asked
// for, and generates.
func (j *generateJob) run(ctx context.Context, stdout, stderr io.Writer) (eval.GenerateStats, error) {
	cfg := j.Config
	if cfg.Endpoint == "" && refmodel.IsBuiltin(cfg.Model) {
		// Not tied to ctx: on Ctrl-C requests in flight get their grace
		// period, which needs the server up.
		url, stop, err := refmodel.Start(context.WithoutCancel(ctx))
		if err != nil {
			return eval.GenerateStats{}, err
		}
		defer stop()
		cfg.Endpoint = url
		cfg.RecordEndpoint = "builtin" // not a random loopback port, which would change every key
	}
	if cfg.Endpoint == "" {
		return eval.GenerateStats{}, exitCode(2, errors.New("no endpoint: pass --endpoint URL or set OPENAI_BASE_URL"))
	}
	if refmodel.IsBuiltin(cfg.Model) && cfg.Annotate == nil {
		cfg.Annotate = func(doc dataset.Document, rec *results.Record) {
			if rec.Endpoint == cfg.Endpoint {
				rec.Endpoint = "builtin" // not a random loopback port
			}
			if rec.Error == nil {
				rec.Injected = refmodel.Annotate(doc.Text, rec.Model)
			}
		}
	}
	cfg.OnBadRecord = func(e *dataset.RecordError) error {
		fmt.Fprintf(stderr, "hallu generate: skipping %v\n", e)
		return nil
	}
	// Fail on bad flags before touching the output file.
	g, err := eval.NewGenerator(cfg)
	if err != nil {
		return eval.GenerateStats{}, exitCode(2, err)
	}

	src, err := j.open()
	if err != nil {
		return eval.GenerateStats{}, exitCode(2, err)
	}
	defer src.Close()
	if cfg.Progress != nil && eval.IsTerminal(cfg.Progress) && j.Dataset != "-" && !strings.HasSuffix(j.Dataset, ":-") {
		cfg.Total = j.count() // an extra streaming pass, for the bar's ETA
	}

	var w *results.Writer
	if j.Out == "" {
		w = results.NewWriter(stdout)
	} else {
		var otherPrompt string
		done := map[string]string{}
		_, fw, err := results.Resume(j.Out, func(r *results.Record) bool {
			if r.Model == cfg.Model && r.PromptHash != "" && r.PromptHash != g.PromptHash() && r.Error == nil {
				otherPrompt = r.PromptHash
			}
			if r.Error == nil {
				done[results.Key(r.Model, r.DocID)] = r.GenKey
			}
			return r.Error == nil
		})
		if err != nil {
			return eval.GenerateStats{}, fmt.Errorf("resume %s: %w", j.Out, err)
		}
		if otherPrompt != "" {
			fw.Close()
			return eval.GenerateStats{}, exitCode(2, fmt.Errorf("%s holds %s summaries made with another prompt (hash %s, now %s); write to another --out file",
				j.Out, cfg.Model, otherPrompt, g.PromptHash()))
		}
		defer fw.Close()
		w, cfg.Done = fw, done
	}
	st, err := eval.Generate(ctx, src, w.Write, cfg)
	var ie *eval.InterruptedError
	if errors.As(err, &ie) && j.Out == "" {
		return st, fmt.Errorf("interrupted: %s (use --out FILE to be able to resume)", ie.Stats)
	}
	if err == nil && j.Out != "" {
		err = w.Sync()
	}
	return st, err
}

// open applies --limit, then --shard.
func (j *generateJob) open() (dataset.Source, error) {
	src, err := dataset.Open(j.Dataset, j.DatasetOpts)
	if err != nil {
		return nil, err
	}
	src = dataset.Limit(src, j.Limit)
	if j.Shard == "" {
		return src, nil
	}
	i, n, err := dataset.ParseShard(j.Shard)
	if err == nil {
		var sh dataset.Source
		if sh, err = dataset.Shard(src, i, n); err == nil {
			return sh, nil
		}
	}
	src.Close()
	return nil, err
}

// count returns the number of documents the job will see, or 0 when the
// dataset cannot be read twice or fails (the run reports that itself).
func (j *generateJob) count() int {
	src, err := j.open()
	if err != nil {
		return 0
	}
	defer src.Close()
	n := 0
	for {
		_, err := src.Next()
		var re *dataset.RecordError
		switch {
		case err == nil:
			n++
		case errors.Is(err, io.EOF):
			return n
		case !errors.As(err, &re):
			return 0
		}
	}
}
