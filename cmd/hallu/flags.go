package main

import (
	"flag"
	"fmt"
	"strings"
)

// outFlag registers -o and --out for the same file: every command that
// writes takes both.
func outFlag(fs *flag.FlagSet, p *string, usage string) {
	fs.StringVar(p, "out", "", usage)
	fs.StringVar(p, "o", "", "same as --out")
}

// usageError is a bad invocation: exit 2, with a hint at the usage rather
// than the whole of it.
func usageError(fs *flag.FlagSet, err error) error {
	name := strings.TrimPrefix(fs.Name(), "hallu ")
	return exitCode(2, fmt.Errorf("%w (run 'hallu help %s' for usage)", err, name))
}
