// Command hallu measures how often language models hallucinate when they
// summarize: dataset -> generate -> score -> report.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/hallu-eval/hallu/pipeline"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand. Each lives in its own file and registers itself
// in init, so subcommands can be added without touching this file.
type command struct {
	name  string
	usage string // one line for the command list
	// run gets the arguments after the subcommand name. It returns an
	// exitError to choose the exit status; any other error exits 1.
	// "-h" as the only argument must print the command's usage to stderr
	// and return flag.ErrHelp without doing anything else: `hallu help
	// CMD` relies on it.
	run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("duplicate command " + c.name)
	}
	commands[c.name] = c
}

// exitError carries a specific exit status (for example 2 for bad input).
type exitError struct {
	code int
	err  error
	// hint: the error is about how the command was called, so main adds a
	// pointer to the command's usage.
	hint bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode builds an exitError.
func exitCode(code int, err error) error { return &exitError{code: code, err: err} }

// usageError is exit status 2 for a command line that cannot be run as
// written (an unknown flag, a missing argument); main follows the error with
// a one-line hint instead of the whole usage.
func usageError(err error) error { return &exitError{code: 2, err: err, hint: true} }

// examples are the top-level usage's examples: the three ways hallu is
// mostly used.
const examples = `Examples:
  # the pipeline: generate summaries, score them, print the leaderboard
  hallu generate --dataset docs.csv --model llama3.2:3b --endpoint http://127.0.0.1:11434/v1 \
    | hallu score --scorer hhem | hallu report

  # several models from a config file, resumable; see docs/config.md
  hallu run --config run.yaml

  # a CI gate: exit 1 when the candidate hallucinates significantly more
  hallu compare out/base out/cand --max-hr-increase 2 --junit hallu-gate.xml
`

func usage(w io.Writer) {
	fmt.Fprintf(w, "hallu %s: measure how often language models hallucinate when they summarize\n\nUsage: hallu COMMAND [flags] [arguments]\n\nCommands:\n", version)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].usage)
	}
	fmt.Fprintf(w, "  %-10s %s\n  %-10s %s\n\n%s\nRun 'hallu help COMMAND' for a command's usage and flags.\n",
		"help", "print a command's usage", "version", "print hallu's version", examples)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "help":
		return help(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "hallu %s\n", version)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "hallu: unknown command %q\nrun 'hallu help' for the list of commands\n", args[0])
		return 2
	}
	// The first Ctrl-C cancels the context so stages drain and flush; a
	// second one kills the process the usual way.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := c.run(ctx, args[1:], stdin, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "hallu %s: %s\n", c.name, stageOnce(c.name, err.Error()))
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.hint {
			fmt.Fprintf(stderr, "run 'hallu help %s' for usage\n", c.name)
		}
		return ee.code
	}
	// What the user gave cannot work: a config, a dataset, an output that
	// holds other work.
	var ie *pipeline.InputError
	if errors.As(err, &ie) {
		return 2
	}
	return 1
}

// stageOnce drops the stage name a package put in front of its own error
// ("generate: ..."), since the line already starts "hallu generate: ".
func stageOnce(name, msg string) string {
	for strings.HasPrefix(msg, name+": ") {
		msg = msg[len(name)+2:]
	}
	return msg
}

// help is `hallu help [COMMAND]`: the top-level usage, or one command's on
// standard output.
func help(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	if len(args) > 1 {
		fmt.Fprintf(stderr, "hallu help: want one command, got %d arguments\n", len(args))
		return 2
	}
	switch args[0] {
	case "help":
		fmt.Fprintln(stdout, "Usage: hallu help [COMMAND]\n\nPrints the usage of COMMAND, or the list of commands.")
		return 0
	case "version":
		fmt.Fprintln(stdout, "Usage: hallu version\n\nPrints hallu's version.")
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "hallu help: unknown command %q\nrun 'hallu help' for the list of commands\n", args[0])
		return 2
	}
	// Every command prints its usage for -h and stops there (see command).
	err := c.run(context.Background(), []string{"-h"}, strings.NewReader(""), stdout, stdout)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "hallu help %s: %v\n", c.name, err)
		return 1
	}
	return 0
}

// newFlagSet returns a FlagSet whose errors and help go to stderr and that
// returns errors instead of exiting, so commands stay testable.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hallu "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, flags and positional arguments in any order
// (`hallu report DIR --format csv`): the flag package stops at the first
// positional argument, so the rest is parsed again, the positional
// arguments kept in their order. "--" ends the flags. Afterwards fs.Args()
// is the positional arguments.
//
// -h prints the command's usage and returns flag.ErrHelp. A bad flag is a
// usageError: main prints it once, with a hint, not the whole usage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage, out := fs.Usage, fs.Output()
	// The flag package would print a bad flag's error and the usage itself;
	// main prints the error instead, so mute it while parsing.
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	restore := func() {
		fs.Usage = usage
		fs.SetOutput(out)
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			restore()
			if errors.Is(err, flag.ErrHelp) {
				printUsage(fs)
				return err
			}
			return usageError(err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// Parse consumed a "--" just before rest: everything after it is
		// positional, flag-like or not.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	restore()
	// Leave the positional arguments where fs.Args() finds them.
	return fs.Parse(append([]string{"--"}, pos...))
}

// printUsage prints fs's usage, or a plain one where the command set none.
func printUsage(fs *flag.FlagSet) {
	if fs.Usage != nil {
		fs.Usage()
		return
	}
	fmt.Fprintf(fs.Output(), "Usage: %s [flags]\n\nFlags:\n", fs.Name())
	fs.PrintDefaults()
}

// formatNames are the output formats, by one name each, across commands;
// a command that prints takes the ones that make sense for it.
var formatNames = []string{"table", "markdown", "csv", "json", "html"}

// checkFormat accepts format when it is one of accepted, and otherwise names
// them.
func checkFormat(format string, accepted ...string) error {
	if slices.Contains(accepted, format) {
		return nil
	}
	return fmt.Errorf("--format %q: want %s", format, strings.Join(accepted, ", "))
}

// addOutFlag declares -o and its long spelling --out, one flag under two
// names, for every command that writes a file.
func addOutFlag(fs *flag.FlagSet, usage string) *string {
	p := new(string)
	outFlagVar(fs, p, usage)
	return p
}

// outFlagVar is addOutFlag storing into p.
func outFlagVar(fs *flag.FlagSet, p *string, usage string) {
	fs.StringVar(p, "o", "", usage)
	fs.StringVar(p, "out", "", "same as -o `FILE`")
}

// deprecatedAlias is an old flag name that sets the flag now called to,
// saying so on w.
type deprecatedAlias struct {
	flag.Value
	cmd, old, to string
	w            io.Writer
}

func (d *deprecatedAlias) Set(s string) error {
	fmt.Fprintf(d.w, "%s: NOTICE: --%s is deprecated; use --%s\n", d.cmd, d.old, d.to)
	return d.Value.Set(s)
}

// String is empty so that the usage shows no default for the old name.
func (d *deprecatedAlias) String() string { return "" }

// deprecate declares old as an alias of fs's flag to.
func deprecate(fs *flag.FlagSet, old, to string) {
	fs.Var(&deprecatedAlias{fs.Lookup(to).Value, fs.Name(), old, to, fs.Output()}, old,
		"deprecated spelling of --"+to)
}
