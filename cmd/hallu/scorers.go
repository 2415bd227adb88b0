package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/hallu-eval/hallu/scorers"
)

func init() {
	register(command{
		name:  "scorers",
		usage: "list the consistency scorers 'hallu score --scorer' accepts",
		run:   runScorers,
	})
}

func runScorers(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("scorers", stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: hallu scorers

Lists the consistency scorers 'hallu score --scorer' and 'hallu calibrate
--scorer' accept, with what each needs; docs/scorers.md has their options.

`+scorers.CommonOptions+"\n")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, name := range scorers.Names() {
		info, _ := scorers.Lookup(name)
		fmt.Fprintf(tw, "%s\t%s\n", name, info.Description)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Set with --scorer-opt like each scorer's own options.
	_, err := fmt.Fprintf(stdout, "\n%s\n", scorers.CommonOptions)
	return err
}
