package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runMain runs the CLI as main does, without a terminal on stdin.
func runMain(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func commandNames() []string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func TestParseFlagsAcceptsFlagsAnywhere(t *testing.T) {
	cases := []struct {
		args    []string
		pos     []string
		format  string
		verbose bool
	}{
		{[]string{"a", "--format", "csv", "b"}, []string{"a", "b"}, "csv", false},
		{[]string{"a", "b", "-v", "--format=json"}, []string{"a", "b"}, "json", true},
		{[]string{"-v", "a", "-", "b"}, []string{"a", "-", "b"}, "table", true},
		// "--" ends the flags: what follows is positional even when it
		// looks like a flag.
		{[]string{"a", "--", "-v", "--format", "b"}, []string{"a", "-v", "--format", "b"}, "table", false},
		{[]string{"--format", "csv", "--", "--", "x"}, []string{"--", "x"}, "csv", false},
		{nil, nil, "table", false},
	}
	for _, c := range cases {
		fs := newFlagSet("test", io.Discard)
		format := fs.String("format", "table", "")
		verbose := fs.Bool("v", false, "")
		require.NoError(t, parseFlags(fs, c.args), c.args)
		assert.Equal(t, c.pos, nilIfEmpty(fs.Args()), c.args)
		assert.Equal(t, c.format, *format, c.args)
		assert.Equal(t, c.verbose, *verbose, c.args)
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestReportFlagsAfterPaths(t *testing.T) {
	dir := t.TempDir()
	writeJudged(t, filepath.Join(dir, "m", "judgments.jsonl"), "m", 0.9, 0.1)
	code, out, errOut := runMain(t, "", "report", dir, "--format", "csv")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, "model,hallucination_rate,"), out)
	assert.Contains(t, out, "\nm,50.0,50.0,100.0,")
}

func TestHelpCommand(t *testing.T) {
	code, out, errOut := runMain(t, "", "help")
	assert.Equal(t, 0, code)
	assert.Empty(t, errOut)
	for _, n := range commandNames() {
		assert.Contains(t, out, "\n  "+n+" ", "the command list names %s", n)
	}
	for _, want := range []string{"| hallu score --scorer hhem | hallu report", "hallu run --config run.yaml", "hallu compare out/base out/cand --max-hr-increase"} {
		assert.Contains(t, out, want, "an example")
	}

	// A bare `hallu` prints the same list, but is not a successful run.
	code, bare, _ := runMain(t, "")
	assert.Equal(t, 2, code)
	assert.Equal(t, out, bare)

	for _, n := range commandNames() {
		code, out, errOut := runMain(t, "", "help", n)
		assert.Equal(t, 0, code, n)
		assert.Empty(t, errOut, n)
		assert.Contains(t, out, "Usage: hallu "+n, n)
	}

	code, out, errOut = runMain(t, "", "help", "nosuch")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, `unknown command "nosuch"`)
}

func TestBadFlagPrintsErrorAndHintOnce(t *testing.T) {
	for _, n := range commandNames() {
		args := []string{n, "--no-such-flag"}
		if n == "model" {
			args = []string{n, "pull", "--no-such-flag"}
		}
		code, out, errOut := runMain(t, "", args...)
		assert.Equal(t, 2, code, n)
		assert.Empty(t, out, n)
		assert.Equal(t, "hallu "+n+": flag provided but not defined: -no-such-flag\nrun 'hallu help "+n+"' for usage\n", errOut, n)
	}
	// -h is not an error: the usage, exit 0.
	code, _, errOut := runMain(t, "", "report", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, errOut, "Usage: hallu report")
	assert.Equal(t, 1, strings.Count(errOut, "Usage:"))
}

func TestUnknownCommandHint(t *testing.T) {
	code, out, errOut := runMain(t, "", "frobnicate")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, "hallu: unknown command \"frobnicate\"\nrun 'hallu help' for the list of commands\n", errOut)
}

func TestStageNamedOnce(t *testing.T) {
	assert.Equal(t, "no scorer", stageOnce("calibrate", "calibrate: no scorer"))
	assert.Equal(t, "x", stageOnce("score", "score: score: x"))
	assert.Equal(t, "generate: x", stageOnce("run", "generate: x"), "another stage's name stays")
	assert.Equal(t, "scores: x", stageOnce("score", "scores: x"))

	// calibrate's package error starts "calibrate: ".
	code, _, errOut := runMain(t, "", "calibrate", "--labels", calibrationSet(t, ".jsonl"), "--scorer", "exec",
		"--scorer-opt", `cmd=/bin/sh -c 'while read l; do echo "{\"id\":\"x\",\"score\":0.5}"; done'`)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "hallu calibrate: the scorer failed on all 8 pairs")
	assert.NotContains(t, errOut, "calibrate: calibrate:")
}

func TestDeprecatedAlias(t *testing.T) {
	var notice bytes.Buffer
	fs := newFlagSet("x", &notice)
	n := fs.Uint64("new", 1, "")
	deprecate(fs, "old", "new")
	require.NoError(t, parseFlags(fs, []string{"--old", "7"}))
	assert.Equal(t, uint64(7), *n)
	assert.Equal(t, "hallu x: NOTICE: --old is deprecated; use --new\n", notice.String())
	var ee *exitError
	require.ErrorAs(t, parseFlags(fs, []string{"--old", "x"}), &ee, "a bad value is a bad value under either name")
	assert.Equal(t, 2, ee.code)
}

func TestOutFlagLongSpelling(t *testing.T) {
	dir := t.TempDir()
	writeJudged(t, filepath.Join(dir, "j.jsonl"), "m", 0.9)
	for _, flagName := range []string{"-o", "--out"} {
		dest := filepath.Join(dir, "report"+flagName+".csv")
		code, out, errOut := runMain(t, "", "report", "--format", "csv", flagName, dest, dir)
		require.Equal(t, 0, code, errOut)
		assert.Empty(t, out)
		b, err := os.ReadFile(dest)
		require.NoError(t, err)
		assert.Contains(t, string(b), "\nm,0.0,")
	}
}

func TestOutFlagVar(t *testing.T) {
	for _, args := range [][]string{{"-o", "f"}, {"--out", "f"}, {"--out=f"}, {"x", "-o", "f"}} {
		fs := newFlagSet("x", io.Discard)
		var out string
		outFlagVar(fs, &out, "write to `FILE`")
		require.NoError(t, parseFlags(fs, args), args)
		assert.Equal(t, "f", out, args)
	}
}
