package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hallu-eval/hallu/serve"
)

func init() {
	register(command{
		name:  "serve",
		usage: "serve a scorer over HTTP, speaking Vectara's factual-consistency API",
		run:   runServe,
	})
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func runServe(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "`HOST:PORT` to listen on (0.0.0.0:8080 for every interface, as in a container)")
	sf := addScorerFlags(fs)
	fs.Lookup("scorer").Usage = "scorer to serve (see 'hallu scorers')"
	fs.Lookup("scorer").DefValue = "hhem"
	fs.Lookup("fallback-scorer").Usage = "scorer to serve, with a warning, when --scorer's parts are absent from this machine (default none: a server should not silently answer with another model)"
	var cfg serve.Config
	fs.IntVar(&cfg.MaxQueue, "max-queue", serve.DefaultMaxQueue, "most pairs waiting for a batch; past it requests are answered 429 with Retry-After")
	fs.IntVar(&cfg.MaxBatch, "max-batch", serve.DefaultMaxBatch, "most pairs per scorer call")
	fs.DurationVar(&cfg.BatchWait, "batch-wait", serve.DefaultBatchWait, "how long the oldest waiting pair waits for others to fill its batch (0: a batch leaves as soon as a worker is free)")
	fs.IntVar(&cfg.Workers, "workers", serve.DefaultWorkers, "scorer calls in flight (hhem uses every core in each)")
	fs.Int64Var(&cfg.MaxBody, "max-body", serve.DefaultMaxBody, "largest request body in `BYTES`; larger is answered 413")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", serve.DefaultReadTimeout, "time allowed to read a whole request, headers and body")
	fs.DurationVar(&cfg.Grace, "grace", serve.DefaultGrace, "on SIGTERM or SIGINT, time allowed for the requests in flight to be answered")
	apiKeyEnv := fs.String("api-key-env", "", "require clients to send the value of this environment `VAR` as x-api-key (default: no key)")
	var aliases listFlag
	fs.Var(&aliases, "model-alias", "a further model_parameters.model_name to answer with the scorer, for clients that cannot change the name they send (repeatable)")
	logFormat := fs.String("log-format", "text", "log lines on standard error as text or json")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu serve [--addr HOST:PORT] [--scorer NAME] [--scorer-opt k=v ...] [--model-dir DIR] [flags]

Loads a scorer once and answers scoring requests over HTTP until SIGTERM or
SIGINT, then drains the requests in flight (--grace) and exits:

  POST /v2/evaluate_factual_consistency  Vectara's API: {"generated_text", "source_texts": [...]} -> {"score", ...}
  POST /v1/score                         many pairs in one request -> scores and the scorer's identity
  GET  /v1/models                        the scorer loaded, as judged records name it
  GET  /healthz, /readyz, /metrics       process up; weights loaded and queue not full; Prometheus

Concurrent requests are scored together in batches of up to --max-batch
pairs. See docs/serve.md.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *sf.name == "" {
		*sf.name = "hhem"
	}
	if *sf.fallback == "" {
		*sf.fallback = "none"
	}
	switch {
	case fs.NArg() > 0:
		return usageError(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case sf.check() != nil:
		return usageError(sf.check())
	case *logFormat != "text" && *logFormat != "json":
		return usageError(fmt.Errorf("--log-format %q: want text or json", *logFormat))
	case cfg.MaxQueue < 1:
		return usageError(fmt.Errorf("--max-queue %d: must be at least 1", cfg.MaxQueue))
	case cfg.MaxBatch < 1:
		return usageError(fmt.Errorf("--max-batch %d: must be at least 1", cfg.MaxBatch))
	case cfg.Workers < 1:
		return usageError(fmt.Errorf("--workers %d: must be at least 1", cfg.Workers))
	case cfg.MaxBody < 1:
		return usageError(fmt.Errorf("--max-body %d: must be at least 1", cfg.MaxBody))
	case cfg.BatchWait < 0:
		return usageError(fmt.Errorf("--batch-wait %s: must not be negative", cfg.BatchWait))
	case cfg.ReadTimeout <= 0:
		return usageError(fmt.Errorf("--read-timeout %s: must be positive", cfg.ReadTimeout))
	case cfg.Grace <= 0:
		return usageError(fmt.Errorf("--grace %s: must be positive", cfg.Grace))
	}
	if cfg.BatchWait == 0 {
		cfg.BatchWait = time.Nanosecond // Config reads 0 as "the default"; the user means no wait
	}
	cfg.ModelAliases = aliases
	if *apiKeyEnv != "" {
		if cfg.APIKey = os.Getenv(*apiKeyEnv); cfg.APIKey == "" {
			return exitCode(2, fmt.Errorf("--api-key-env %s: the environment variable is unset or empty; set it to the key clients must send as x-api-key", *apiKeyEnv))
		}
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if *logFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	cfg.Log = slog.New(h)
	s, err := serve.New(cfg)
	if err != nil {
		return usageError(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return exitCode(2, fmt.Errorf("--addr: %w", err))
	}

	// Listen first and load the weights behind it, so that /healthz answers
	// (and /readyz says why not yet) while a large model loads.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	loadErr := make(chan error, 1)
	closeScorer := make(chan func(), 1)
	go func() {
		start := time.Now()
		sc, fallbackFor, err := sf.open(ctx, stderr)
		if err != nil {
			loadErr <- err
			cancel()
			return
		}
		closeScorer <- func() { sc.Close() }
		if fallbackFor != "" {
			cfg.Log.Warn("serving a fallback scorer", "asked_for", fallbackFor)
		}
		cfg.Log.Info("weights loaded", "took", time.Since(start).Round(time.Millisecond).String())
		s.SetScorer(sc)
		loadErr <- nil
	}()
	serveErr := s.Serve(ctx, ln)
	if err := <-loadErr; err != nil {
		if errors.Is(err, context.Canceled) {
			return nil // stopped while loading
		}
		return exitCode(2, err)
	}
	(<-closeScorer)()
	if errors.Is(serveErr, serve.ErrGraceExpired) {
		return fmt.Errorf("%w (--grace %s)", serveErr, cfg.Grace)
	}
	return serveErr
}
