package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/hallu-eval/hallu/internal/httpretry"
	"github.com/hallu-eval/hallu/served"
)

func init() {
	register(command{
		name:  "models",
		usage: "list the models an endpoint serves, with their context length where the server tells it",
		run:   runModels,
	})
}

func runModels(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("models", stderr)
	endpoint := fs.String("endpoint", os.Getenv("OPENAI_BASE_URL"), "OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1 (default $OPENAI_BASE_URL)")
	apiKeyEnv := fs.String("api-key-env", "OPENAI_API_KEY", "environment variable holding the API key")
	format := fs.String("format", "table", "output format: table or json")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed for the server to answer")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu models --endpoint URL [flags]

Lists what an OpenAI-compatible server serves (GET /v1/models). On Ollama it
also reads /api/tags and, per model, /api/show: CONTEXT is the num_ctx the
Modelfile sets (without it Ollama runs with OLLAMA_CONTEXT_LENGTH or its
default, which its API does not show), TRAINED the model's own maximum. On
llama.cpp's server it reads /props: CONTEXT is a slot's n_ctx, and the
server's parallel slots are shown.

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
	if *endpoint == "" {
		return usageError(errors.New("--endpoint is required (or set OPENAI_BASE_URL)"))
	}
	if err := checkFormat(*format, "table", "json"); err != nil {
		return usageError(err)
	}
	if *timeout <= 0 {
		return usageError(fmt.Errorf("--timeout %v: must be positive", *timeout))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	key, err := apiKey(*apiKeyEnv, set["api-key-env"])
	if err != nil {
		return exitCode(2, err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	s, err := (&served.Client{APIKey: key}).Probe(ctx, *endpoint)
	if err != nil {
		return fmt.Errorf("%s", httpretry.Scrub(err.Error(), key, *endpoint))
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	fmt.Fprintf(stdout, "%s (%s)", s.Endpoint, s.Kind)
	if s.Slots > 0 {
		fmt.Fprintf(stdout, ", %d parallel slots", s.Slots)
	}
	fmt.Fprintln(stdout)
	if !s.Listed {
		fmt.Fprintln(stdout, "the endpoint does not list its models (no /v1/models)")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tCONTEXT\tTRAINED")
	num := func(n int) string {
		if n == 0 {
			return "-"
		}
		return strconv.Itoa(n)
	}
	for _, m := range s.Models {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", m.ID, num(m.Context), num(m.TrainContext))
	}
	return tw.Flush()
}
