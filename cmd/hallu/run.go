package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hallu-eval/hallu/pipeline"
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
	cfgPath := fs.String("config", "", "run configuration (YAML); every key is in docs/config.md")
	replace := fs.Bool("replace", false, "discard and redo records made differently from this config (other document texts, prompt, settings or scorer) instead of refusing")
	dryRun := fs.Bool("dry-run", false, "check the config and every model's endpoint, print what each model would be sent with estimated tokens and cost (price_in/price_out), and send and write nothing")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: hallu run --config run.yaml [--replace] [--dry-run]

Runs generate, score and report for every model in the config, writing
OUTPUT/MODEL/generations.jsonl, OUTPUT/MODEL/judgments.jsonl,
OUTPUT/manifest.json, OUTPUT/leaderboard.* and OUTPUT/report.html.
Rerunning resumes: finished documents and judgments are kept when they
match the config, failed ones are tried again, and judgments of changed
generations are redone. Records made differently (another dataset text,
prompt, setting or scorer) stop the run with exit 2 unless --replace.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		return usageError(errors.New("--config FILE is required and takes no other arguments"))
	}
	cfg, err := pipeline.LoadRunConfig(*cfgPath)
	if err != nil {
		return err
	}
	return pipeline.Run(ctx, cfg, pipeline.RunOptions{Version: version, Replace: *replace, DryRun: *dryRun, Stdout: stdout, Log: stderr})
}
