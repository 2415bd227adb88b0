package dataset

import (
	"errors"
	"fmt"
	"io"
)

// ErrNoDocuments is what a Source from Open ends with, in place of io.EOF,
// when it reached the end of its dataset without one usable document: a run
// over such a file has measured nothing and must not look like it succeeded.
// The error is a *NoDocumentsError; test for it with errors.Is.
var ErrNoDocuments = errors.New("no usable documents")

// NoDocumentsError says a dataset held no usable document: why, in the
// count of records rejected and the first of them.
//
// It unwraps to ErrNoDocuments only, never to First: a *RecordError means
// "skip me and call Next again", and a caller that skips bad records would
// then ask again for ever.
type NoDocumentsError struct {
	Dataset  string       // file name as in other messages ("stdin", "builtin")
	Rejected int          // records rejected as unusable
	First    *RecordError // the first of them; nil when Rejected is 0
}

func (e *NoDocumentsError) Error() string {
	switch {
	case e.Rejected == 0 || e.First == nil:
		return fmt.Sprintf("dataset %s: %v: the file holds no records", e.Dataset, ErrNoDocuments)
	case e.Rejected == 1:
		return fmt.Sprintf("dataset %s: %v: 1 record rejected, at %s: %v",
			e.Dataset, ErrNoDocuments, where(e.First.Line, e.First.Record), e.First.Err)
	}
	return fmt.Sprintf("dataset %s: %v: %d records rejected, the first at %s: %v",
		e.Dataset, ErrNoDocuments, e.Rejected, where(e.First.Line, e.First.Record), e.First.Err)
}

func (e *NoDocumentsError) Unwrap() error { return ErrNoDocuments }

// StrictError is how a source opened with Options.Strict reports a bad
// record: it ends the source. It unwraps to the record's problem (so
// errors.Is(err, ErrEmptyText) holds) but not to the *RecordError itself,
// which callers take as skippable.
type StrictError struct {
	Record *RecordError
}

func (e *StrictError) Error() string {
	return e.Record.Error() + " (strict mode stops at a bad record; --strict=false, or strict: false in a run config, skips such records with a warning)"
}

func (e *StrictError) Unwrap() error { return e.Record.Err }

// checked applies the dataset-wide rules on top of a format's Source:
// strict mode, and that the dataset held at least one usable document. It
// sits below Limit and Shard, so a shard that happens to be empty is not
// taken for an empty dataset.
type checked struct {
	Source
	name     string
	strict   bool
	docs     int
	rejected int
	first    *RecordError
	err      error // sticky final error of our own
}

func newChecked(src Source, name string, opts Options) *checked {
	return &checked{Source: src, name: displayName(name), strict: opts.Strict}
}

func (c *checked) Next() (Document, error) {
	if c.err != nil {
		return Document{}, c.err
	}
	d, err := c.Source.Next()
	var re *RecordError
	switch {
	case err == nil:
		c.docs++
	case errors.As(err, &re):
		c.rejected++
		if c.first == nil {
			c.first = re
		}
		if c.strict {
			c.err = &StrictError{Record: re}
			return Document{}, c.err
		}
	case errors.Is(err, io.EOF) && c.docs == 0:
		c.err = &NoDocumentsError{Dataset: c.name, Rejected: c.rejected, First: c.first}
		return Document{}, c.err
	}
	return d, err
}
