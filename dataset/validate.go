package dataset

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Problems a record can have. A *RecordError wraps one of these, so callers
// can test for a kind with errors.Is.
var (
	ErrMissingField = errors.New("missing field")
	ErrEmptyID      = errors.New("empty id")
	ErrEmptyText    = errors.New("empty text")
	ErrDuplicateID  = errors.New("duplicate id")
	ErrInvalidUTF8  = errors.New("invalid UTF-8")
	ErrTooLarge     = errors.New("text too large")
	ErrMalformed    = errors.New("malformed record")
)

// RecordError reports one bad record. The record is skipped: a Source that
// returns a *RecordError can be asked for the next document, so a caller may
// choose to log bad records and go on. Any other error from Next is final.
type RecordError struct {
	File   string // file name as given to the format ("-" reads as "stdin")
	Line   int    // line the record starts on; 0 when unknown
	Record int    // 1-based record number (data rows, not counting a header)
	ID     string // the record's id, when it has one
	Err    error  // what is wrong; wraps one of the Err* values above
}

func (e *RecordError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("dataset %s line %d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("dataset %s record %d: %v", e.File, e.Record, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// validator holds the checks every format applies, so CSV and JSONL reject
// the same things with the same words. It remembers ids (never texts) to
// catch duplicates; that set is the only state that grows with the dataset.
type validator struct {
	file     string
	maxBytes int
	seen     map[string]int // id -> line (or record number) where it first appeared
}

func newValidator(file string, opts Options) *validator {
	max := opts.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	return &validator{file: displayName(file), maxBytes: max, seen: map[string]int{}}
}

// fail builds a *RecordError; err says what is wrong.
func (v *validator) fail(line, record int, id string, err error) *RecordError {
	return &RecordError{File: v.file, Line: line, Record: record, ID: id, Err: err}
}

// where names a position the way the error messages do.
func where(line, record int) string {
	if line > 0 {
		return fmt.Sprintf("line %d", line)
	}
	return fmt.Sprintf("record %d", record)
}

// check applies every per-document rule and, when the document passes,
// records its id as seen. Order matters: an id is only claimed by a document
// that is actually returned, so a rejected record does not make a later,
// good record with the same id look like a duplicate.
func (v *validator) check(line, record int, d Document) error {
	if !utf8.ValidString(d.ID) {
		return v.fail(line, record, "", fmt.Errorf("%w in id %q", ErrInvalidUTF8, d.ID))
	}
	if strings.TrimSpace(d.ID) == "" {
		return v.fail(line, record, "", ErrEmptyID)
	}
	if strings.TrimSpace(d.Text) == "" {
		return v.fail(line, record, d.ID, fmt.Errorf("%w for id %q", ErrEmptyText, d.ID))
	}
	if len(d.Text) > v.maxBytes {
		return v.fail(line, record, d.ID, fmt.Errorf("%w for id %q: %d bytes, limit is %d bytes; raise it with --max-doc-bytes (max_doc_bytes in a run config)",
			ErrTooLarge, d.ID, len(d.Text), v.maxBytes))
	}
	if !utf8.ValidString(d.Text) {
		return v.fail(line, record, d.ID, fmt.Errorf("%w in text for id %q at byte %d", ErrInvalidUTF8, d.ID, firstInvalid(d.Text)))
	}
	if !utf8.ValidString(d.Dataset) {
		return v.fail(line, record, d.ID, fmt.Errorf("%w in dataset label for id %q", ErrInvalidUTF8, d.ID))
	}
	if first, dup := v.seen[d.ID]; dup {
		return v.fail(line, record, d.ID, fmt.Errorf("%w %q (first seen at %s)", ErrDuplicateID, d.ID, seenAt(first)))
	}
	pos := line
	if pos <= 0 {
		pos = -record // negative marks a record number, see seenAt
	}
	// Clone: a decoder may hand out the id as a slice of a larger string,
	// and keeping that would keep every text alive.
	v.seen[strings.Clone(d.ID)] = pos
	return nil
}

// seenAt names a position stored in validator.seen.
func seenAt(pos int) string {
	if pos < 0 {
		return where(0, -pos)
	}
	return where(pos, 0)
}

// rawUTF8 checks a field's bytes before a decoder gets to them: encoding/json
// silently turns invalid UTF-8 into U+FFFD, which would hide a broken file.
func (v *validator) rawUTF8(line, record int, id, field string, raw []byte) error {
	if utf8.Valid(raw) {
		return nil
	}
	return v.fail(line, record, id, fmt.Errorf("%w in field %q", ErrInvalidUTF8, field))
}

// firstInvalid returns the byte offset of the first invalid UTF-8 sequence,
// so a user can find it in an editor.
func firstInvalid(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
	}
	return -1
}

// displayName is the file name used in messages.
func displayName(name string) string {
	if name == "-" || name == "" {
		return "stdin"
	}
	return name
}
