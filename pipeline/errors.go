package pipeline

import (
	"errors"
	"fmt"
	"strings"
)

// InputError is a failure caused by what the user gave (a flag, a config,
// a dataset, an output that holds other work): the run could not start or
// must not go on, and exit status 2 says so.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(err error) error {
	if err == nil {
		return nil
	}
	var ie *InputError
	if errors.As(err, &ie) {
		return err
	}
	return &InputError{Err: err}
}

func inputErrf(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

// MismatchError says that an output file holds records made differently
// from what this run would make: another dataset text, prompt, setting or
// scorer. Nothing was written; Replace in the job discards those records.
type MismatchError struct {
	Path    string
	What    string   // "generations" or "judgments"
	Count   int      // records that differ
	Reasons []string // the first few differences, each naming what changed
	More    bool     // there are other differences than those in Reasons
	Flag    string   // how to replace them, e.g. "--replace"
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	what := e.What
	if e.Count == 1 {
		what = strings.TrimSuffix(what, "s")
	}
	fmt.Fprintf(&b, "%s holds %d %s made differently from this run (%s", e.Path, e.Count, what, strings.Join(e.Reasons, "; "))
	if e.More {
		b.WriteString("; …")
	}
	fmt.Fprintf(&b, "); nothing was written: pass %s to discard and redo them, or write to another output", e.Flag)
	return b.String()
}

// Is lets errors.Is(err, &InputError{}) style checks treat a mismatch as
// bad input (exit 2).
func (e *MismatchError) As(target any) bool {
	if t, ok := target.(**InputError); ok {
		*t = &InputError{Err: e}
		return true
	}
	return false
}

// mismatches gathers differences, keeping the first few distinct reasons.
type mismatches struct {
	count   int
	reasons []string
	more    bool // a distinct reason was left out
	seen    map[string]bool
}

const maxReasons = 4

func (m *mismatches) add(reason string) {
	m.count++
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	if m.seen[reason] {
		return
	}
	m.seen[reason] = true
	if len(m.reasons) < maxReasons {
		m.reasons = append(m.reasons, reason)
	} else {
		m.more = true
	}
}
