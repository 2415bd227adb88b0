package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hallu-eval/hallu/pipeline"
	"github.com/hallu-eval/hallu/scorers"
)

// scorerFlags are the flags every command that opens a scorer takes: the
// scorer's name, its free-form options, and named shortcuts for the options
// people set most (HHEM's model directory, the judge's endpoint).
type scorerFlags struct {
	name     *string
	fallback *string
	opts     optionsFlag
	// shortcut flag name -> scorer option key; applied when the flag is set.
	shortcuts map[string]*string
}

var scorerShortcuts = []struct{ flag, key, usage string }{
	{"model-dir", "model-dir", "hhem: a local directory holding model.safetensors (and the tokenizer), instead of the Hugging Face cache"},
	{"judge-endpoint", "endpoint", "judge: OpenAI-compatible base URL of the judge model"},
	{"judge-model", "model", "judge: the judge model's name"},
	{"judge-api-key-env", "api-key-env", "judge: environment variable holding the judge endpoint's API key"},
}

func addScorerFlags(fs *flag.FlagSet) *scorerFlags {
	sf := &scorerFlags{opts: optionsFlag{}, shortcuts: map[string]*string{}}
	sf.name = fs.String("scorer", "", "scorer to judge with (see 'hallu scorers'); required")
	sf.fallback = fs.String("fallback-scorer", "", "scorer to use, with a notice, when --scorer's parts are absent from this machine (HHEM's weights not pulled); any other failure to open --scorer is an error (default: overlap for hhem, none otherwise; \"none\" disables)")
	fs.Var(sf.opts, "scorer-opt", "scorer option key=value (repeatable; see docs/scorers.md)")
	for _, s := range scorerShortcuts {
		sf.shortcuts[s.flag] = fs.String(s.flag, "", s.usage+" (same as --scorer-opt "+s.key+"=...)")
	}
	return sf
}

// options merges the shortcuts into the --scorer-opt options; setting both
// for the same key is an error rather than a silent choice.
func (sf *scorerFlags) options() (scorers.Options, error) {
	opts := scorers.Options{}
	for k, v := range sf.opts {
		opts[k] = v
	}
	for _, s := range scorerShortcuts {
		v := *sf.shortcuts[s.flag]
		if v == "" {
			continue
		}
		if old, dup := opts[s.key]; dup && old != v {
			return nil, fmt.Errorf("--%s and --scorer-opt %s=%s disagree", s.flag, s.key, old)
		}
		opts[s.key] = v
	}
	return opts, nil
}

// check validates the scorer name; open opens it with the merged options.
func (sf *scorerFlags) check() error {
	if *sf.name == "" {
		return fmt.Errorf("--scorer is required (available: %s)", strings.Join(scorers.Names(), ", "))
	}
	if _, ok := scorers.Lookup(*sf.name); !ok {
		return fmt.Errorf("unknown scorer %q (available: %s)", *sf.name, strings.Join(scorers.Names(), ", "))
	}
	return nil
}

// open opens the scorer, or the fallback in its place when the scorer's
// parts are absent (HHEM without its weights); fallbackFor then names the
// scorer asked for.
func (sf *scorerFlags) open(ctx context.Context, stderr io.Writer) (sc scorers.Scorer, fallbackFor string, err error) {
	opts, err := sf.options()
	if err != nil {
		return nil, "", err
	}
	fallback := *sf.fallback
	switch {
	case fallback == "none":
		fallback = ""
	case fallback == "" && *sf.name == "hhem":
		fallback = "overlap"
	}
	return pipeline.OpenScorer(ctx, *sf.name, opts, fallback, stderr)
}
