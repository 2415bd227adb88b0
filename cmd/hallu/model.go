package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hallu-eval/hallu/hfhub"
	"github.com/hallu-eval/hallu/scorers"
	"github.com/hallu-eval/hallu/scorers/hhem"
)

func init() {
	register(command{
		name:  "model",
		usage: "download the HHEM model (pull) or show where it is (path)",
		run:   runModel,
	})
}

const modelUsage = `Usage: hallu model pull [--revision R] [--cache-dir D]
       hallu model path [--revision R] [--cache-dir D]

pull downloads the HHEM-2.1-Open weights (` + hhem.ModelRepo + `) and the
flan-t5-base tokenizer (` + hhem.TokenizerRepo + `) into the Hugging Face
cache, the same one Python's huggingface_hub uses: files already there are not
downloaded again, and an interrupted download resumes. path prints where the
files are without touching the network.

Environment: HF_HUB_CACHE or HF_HOME (cache location), HF_ENDPOINT (a mirror),
HF_TOKEN (sent only to the hub), HF_HUB_OFFLINE=1 (never use the network).

Flags:
`

func runModel(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "pull" && args[0] != "path") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stderr, modelUsage)
			modelFlags("model", stderr).PrintDefaults()
			return flag.ErrHelp
		}
		if len(args) > 0 {
			return usageError(fmt.Errorf("unknown subcommand %q: want pull or path", args[0]))
		}
		return usageError(errors.New("want a subcommand: pull or path"))
	}
	sub := args[0]
	fs := modelFlags("model "+sub, stderr)
	revision := fs.Lookup("revision").Value
	cacheDir := fs.Lookup("cache-dir").Value
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}

	var files hhem.Files
	var err error
	if sub == "pull" {
		c := hfhub.FromEnv()
		c.Progress = stderr
		if d := cacheDir.String(); d != "" {
			c.CacheDir = d
		}
		files, err = hhem.Pull(ctx, c, revision.String())
	} else {
		files, err = hhem.Locate(scorers.Options{"revision": revision.String(), "cache-dir": cacheDir.String()})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "model:     %s\ntokenizer: %s\n", files.Model, files.TokenizerDir)
	if files.Commit != "" {
		fmt.Fprintf(stdout, "commit:    %s\n", files.Commit)
	}
	return nil
}

func modelFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet(name, stderr)
	fs.String("revision", "main", "HHEM revision: a branch, tag or commit")
	fs.String("cache-dir", "", "Hugging Face hub cache directory (default $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)")
	fs.Usage = func() {
		fmt.Fprint(stderr, modelUsage)
		fs.PrintDefaults()
	}
	return fs
}
