package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/pipeline"
)

func init() {
	register(command{
		name:  "generate",
		usage: "ask a model (OpenAI-compatible endpoint) to summarize every document",
		run:   runGenerate,
	})
}

// jsonObject is a flag holding a JSON object.
type jsonObject map[string]any

func (j *jsonObject) String() string {
	if j == nil || *j == nil {
		return ""
	}
	b, _ := json.Marshal(*j)
	return string(b)
}

func (j *jsonObject) Set(s string) error {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return errors.New(`want a JSON object such as {"top_p":0.9}`)
	}
	*j = m
	return nil
}

func runGenerate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("generate", stderr)
	var (
		job        = pipeline.GenerateJob{Stdout: stdout, Log: stderr}
		cfg        = &job.Config
		apiKeyEnv  = fs.String("api-key-env", "OPENAI_API_KEY", "environment variable holding the API key (keys are never read from flags or written out)")
		promptFile = fs.String("prompt-file", "", "prompt template file; must contain {article} (default: the leaderboard's prompt)")
		timeout    = fs.Duration("timeout", eval.DefaultTimeout, "per-request timeout")
		retries    = fs.Int("retries", eval.DefaultRetries, "retries per document on rate limits, 5xx, timeouts and dropped connections")
		temp       = fs.Float64("temperature", 0, "sampling temperature (sent even when 0)")
		seed       = fs.Int("seed", 0, "sampling seed (sent only when given)")
		extra      jsonObject
	)
	fs.Var(&extra, "extra-body", "JSON object merged into every request body, e.g. '{\"top_p\":0.9}' (recorded in each record's params)")
	fs.StringVar(&job.Dataset, "dataset", "", "dataset: builtin, FILE.csv, FILE.jsonl[.gz], FILE.parquet, hf:ORG/NAME[@REV]/PATH, FORMAT:PATH, or - for stdin")
	fs.StringVar(&job.DatasetOpts.IDField, "id-field", "", "dataset field holding the document id (default id / article_id)")
	fs.StringVar(&job.DatasetOpts.TextField, "text-field", "", "dataset field holding the document text (default text)")
	fs.IntVar(&job.DatasetOpts.MaxBytes, "max-doc-bytes", 0, "largest document accepted, in bytes (0 = the default limit)")
	fs.BoolVar(&job.Strict, "strict", false, "stop at the first unusable dataset record instead of skipping it with a warning")
	fs.IntVar(&job.Limit, "limit", 0, "only the first N documents (0 = all); applied before --shard")
	fs.StringVar(&job.Shard, "shard", "", "only shard i of n (e.g. 2/4) of the documents, split by id hash; index:k/n counts k from 0 (Kubernetes' JOB_COMPLETION_INDEX)")
	outFlagVar(fs, &job.Out, "write records to `FILE` and resume from it when rerun (default: standard output)")
	fs.BoolVar(&job.Replace, "replace", false, "when --out holds records made differently (other document texts, prompt or settings), discard and redo them instead of refusing")
	fs.StringVar(&cfg.Model, "model", "", "model name as the endpoint knows it, or builtin:lead-3 / builtin:corrupt[@SHARE]")
	fs.StringVar(&cfg.Endpoint, "endpoint", os.Getenv("OPENAI_BASE_URL"), "OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1 (default $OPENAI_BASE_URL)")
	fs.IntVar(&cfg.Concurrency, "concurrency", eval.DefaultConcurrency, "requests in flight")
	fs.IntVar(&cfg.RequestsPerMinute, "rpm", 0, "at most N requests per minute, retries included (0 = unlimited)")
	fs.IntVar(&cfg.MaxTokens, "max-tokens", 0, "maximum tokens per summary (0 = endpoint default)")
	fs.IntVar(&cfg.MaxFatal, "max-fatal", eval.DefaultMaxFatal, "stop after N consecutive failures no retry can fix (HTTP 401/403/404, refused connections)")
	fs.BoolVar(&cfg.Stream, "stream", false, "stream replies and record time to first token")
	fs.StringVar(&cfg.MaxTokensField, "max-tokens-field", "", "request field for --max-tokens: max_tokens or max_completion_tokens (default: max_completion_tokens only for OpenAI's API and its reasoning models)")
	fs.BoolVar(&job.DryRun, "dry-run", false, "print the documents, the first request, estimated input tokens and cost; send and write nothing")
	fs.Float64Var(&job.PriceIn, "price-in", 0, "price per million input tokens, for --dry-run's cost estimate")
	fs.Float64Var(&job.PriceOut, "price-out", 0, "price per million output tokens, for --dry-run's cost estimate")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu generate --dataset SPEC --model M [flags]

Sends each document, in the leaderboard's prompt, to an OpenAI-compatible chat
completions endpoint and writes one JSON record per document: the summary, or
the error that prevented one. With --out the run can be interrupted (Ctrl-C)
and resumed by rerunning the same command: finished documents are kept,
failed ones are tried again. A finished record is kept only when it answers
the same request (document text, model, prompt, sampling settings,
endpoint); otherwise generate stops with exit 2 and says what differs, or,
with --replace, redoes those documents.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if job.Dataset == "" || cfg.Model == "" {
		return usageError(errors.New("--dataset and --model are required"))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *timeout <= 0:
		return usageError(fmt.Errorf("--timeout %v: must be positive", *timeout))
	case *retries < 0:
		return usageError(fmt.Errorf("--retries %d: must not be negative", *retries))
	case cfg.Concurrency < 1:
		return usageError(fmt.Errorf("--concurrency %d: must be at least 1", cfg.Concurrency))
	case job.Limit < 0:
		return usageError(fmt.Errorf("--limit %d: must not be negative", job.Limit))
	case cfg.MaxFatal < 1:
		return usageError(fmt.Errorf("--max-fatal %d: must be at least 1", cfg.MaxFatal))
	case cfg.MaxTokens < 0:
		return usageError(fmt.Errorf("--max-tokens %d: must not be negative", cfg.MaxTokens))
	case cfg.RequestsPerMinute < 0:
		return usageError(fmt.Errorf("--rpm %d: must not be negative", cfg.RequestsPerMinute))
	case job.DatasetOpts.MaxBytes < 0:
		return usageError(fmt.Errorf("--max-doc-bytes %d: must not be negative", job.DatasetOpts.MaxBytes))
	case cfg.MaxTokensField != "" && cfg.MaxTokensField != eval.MaxTokensField && cfg.MaxTokensField != eval.MaxCompletionTokens:
		return usageError(fmt.Errorf("--max-tokens-field %q: want %s or %s", cfg.MaxTokensField, eval.MaxTokensField, eval.MaxCompletionTokens))
	case job.PriceIn < 0 || job.PriceOut < 0:
		return usageError(errors.New("--price-in and --price-out must not be negative"))
	}
	job.EndpointSet = set["endpoint"]
	cfg.Temperature = float32(*temp)
	cfg.Timeout = *timeout
	cfg.MaxRetries = *retries
	if *retries == 0 {
		cfg.MaxRetries = -1 // eval reads 0 as "default"
	}
	if set["seed"] {
		cfg.Seed = seed
	}
	cfg.ExtraBody = extra
	key, err := apiKey(*apiKeyEnv, set["api-key-env"])
	if err != nil {
		return exitCode(2, err)
	}
	cfg.APIKey, cfg.APIKeyEnv = key, *apiKeyEnv
	if *promptFile != "" {
		b, err := os.ReadFile(*promptFile)
		if err != nil {
			return exitCode(2, fmt.Errorf("--prompt-file: %w", err))
		}
		if !strings.Contains(string(b), eval.ArticlePlaceholder) {
			return exitCode(2, fmt.Errorf("--prompt-file %s has no %s placeholder for the document text", *promptFile, eval.ArticlePlaceholder))
		}
		cfg.Prompt = string(b)
	}
	if job.Shard != "" {
		i, n, err := dataset.ParseShard(job.Shard)
		if err != nil {
			return exitCode(2, fmt.Errorf("--shard: %w", err))
		}
		// One spelling per shard, so index:0/4 and 1/4 describe their
		// output the same way.
		job.Shard = fmt.Sprintf("%d/%d", i, n)
	}
	cfg.Progress = stderr

	st, err := pipeline.Generate(ctx, job)
	if err != nil || job.DryRun {
		return err
	}
	msg := "generate: " + st.String()
	if st.Rejected > 0 {
		msg += fmt.Sprintf(", %d bad dataset records skipped", st.Rejected)
	}
	if st.Failed > 0 && job.Out != "" {
		msg += "; rerun the same command to retry the failed ones"
	}
	fmt.Fprintln(stderr, msg)
	pipeline.WarnTruncation(stderr, st)
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
