package leaderboard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hallu-eval/hallu/results"
)

// Inputs lists the result files to read for the given paths. A file is read
// as named ("-" is standard input). A directory is walked for *.jsonl files,
// skipping hidden ones (resume leftovers, editor files); where a directory
// holds both judgments.jsonl and generations.jsonl, only judgments.jsonl is
// read, because it carries every generation record again with its judgment.
// Files found by walking are marked so that a JSONL file that is not hallu
// output (a dataset kept next to the results) can be skipped instead of
// failing the report.
func Inputs(paths []string) ([]Input, error) {
	var out []Input
	for _, p := range paths {
		if p == "-" {
			out = append(out, Input{Path: p})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, Input{Path: p})
			continue
		}
		found, err := walkResults(p)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no *.jsonl result files in this directory", p)
		}
		out = append(out, found...)
	}
	return out, nil
}

// Input is one stream of records.
type Input struct {
	Path string // "-" for standard input
	// Found is true for a file found by walking a directory rather than named.
	Found bool
}

func walkResults(root string) ([]Input, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if path != root && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && strings.HasSuffix(name, ".jsonl") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	judged := map[string]bool{}
	for _, f := range files {
		if filepath.Base(f) == results.JudgmentsFile {
			judged[filepath.Dir(f)] = true
		}
	}
	sort.Strings(files)
	var out []Input
	for _, f := range files {
		if filepath.Base(f) == results.GenerationsFile && judged[filepath.Dir(f)] {
			continue
		}
		out = append(out, Input{Path: f, Found: true})
	}
	return out, nil
}

// ErrNotRecords marks a file found in a directory whose first line is not a
// hallu record; the caller may skip it with a notice.
var ErrNotRecords = errors.New("not a file of hallu records")

// ReadInput reads one input into the aggregator; stdin is used for "-".
func (a *Aggregator) ReadInput(in Input, stdin io.Reader) error {
	r, name, err := in.Open(stdin)
	if err != nil {
		return err
	}
	defer r.Close()
	return a.ReadJSONL(r, name)
}

// Open opens an input for reading records and returns it with the name that
// error messages should give it ("stdin" for "-"). A file found by walking a
// directory whose first line is not a hallu record gives an error wrapping
// ErrNotRecords.
func (in Input) Open(stdin io.Reader) (io.ReadCloser, string, error) {
	if in.Path == "-" {
		return io.NopCloser(stdin), "stdin", nil
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return nil, "", err
	}
	if !in.Found {
		return f, in.Path, nil
	}
	br := bufio.NewReaderSize(f, 64<<10)
	first, err := firstLine(br)
	if err != nil {
		f.Close()
		return nil, "", fmt.Errorf("%s: %w", in.Path, err)
	}
	if first != nil && !looksLikeRecord(first) {
		f.Close()
		return nil, "", fmt.Errorf("%s: %w", in.Path, ErrNotRecords)
	}
	return struct {
		io.Reader
		io.Closer
	}{br, f}, in.Path, nil
}

// ReadRecords decodes every record of the given paths (see Inputs) in order
// and hands each to fn, stopping at the first error, which names the file
// and line. Files found in a directory that are not hallu records are passed
// to skipped (which may be nil) and left out. Unlike the report's reader it
// decodes whole records, source text included.
func ReadRecords(paths []string, stdin io.Reader, skipped func(path string), fn func(*results.Record) error) error {
	inputs, err := Inputs(paths)
	if err != nil {
		return err
	}
	for _, in := range inputs {
		if err := readRecords(in, stdin, fn); err != nil {
			if errors.Is(err, ErrNotRecords) {
				if skipped != nil {
					skipped(in.Path)
				}
				continue
			}
			return err
		}
	}
	return nil
}

func readRecords(in Input, stdin io.Reader, fn func(*results.Record) error) error {
	r, name, err := in.Open(stdin)
	if err != nil {
		return err
	}
	defer r.Close()
	rd := results.NewReader(r, name)
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return fmt.Errorf("%s line %d: %w", name, rd.Line(), err)
		}
	}
}

// firstLine peeks at the first non-blank line without consuming it.
func firstLine(br *bufio.Reader) ([]byte, error) {
	for n := 4 << 10; ; n *= 2 {
		b, err := br.Peek(n)
		lines := bytes.Split(b, []byte("\n"))
		for i, l := range lines {
			if i == len(lines)-1 && err == nil {
				break // may be cut short: peek further
			}
			if t := bytes.TrimSpace(l); len(t) > 0 {
				return t, nil
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				// A first line longer than the buffer: let the decoder judge it.
				return nil, nil
			}
			return nil, err
		}
	}
}

// looksLikeRecord tells a hallu record (an object with "schema" and "model")
// from other JSONL; a damaged record still counts as one, so that its
// error is reported rather than the file skipped.
func looksLikeRecord(line []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(line, &probe) != nil {
		return true
	}
	_, s := probe["schema"]
	_, m := probe["model"]
	return s || m
}

// Options are the policies of Load.
type Options struct {
	// AllowMixedScorers lets models judged by different scorers share one
	// set of rows, each naming its scorer; without it Load refuses them
	// with a *MixedError.
	AllowMixedScorers bool
}

// Load reads hallu result paths (files, "-" for stdin, run directories; see
// Inputs) and returns the per-model statistics, sorted. Files found in a
// directory that are not hallu records are passed to skipped (which may be
// nil) and left out. Models judged by different scorers are a *MixedError
// unless opts allows them.
func Load(paths []string, stdin io.Reader, skipped func(path string), opts Options) ([]ModelStats, error) {
	a := NewAggregator()
	if err := a.Load(paths, stdin, skipped); err != nil {
		return nil, err
	}
	rows := a.Stats()
	if !opts.AllowMixedScorers {
		if err := CheckScorers(rows); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// Load reads hallu result paths into the aggregator, as the function Load
// does; the check of scorers across models is left to the caller
// (CheckScorers), since more may be read afterwards.
func (a *Aggregator) Load(paths []string, stdin io.Reader, skipped func(path string)) error {
	inputs, err := Inputs(paths)
	if err != nil {
		return err
	}
	for _, in := range inputs {
		err := a.ReadInput(in, stdin)
		if errors.Is(err, ErrNotRecords) {
			if skipped != nil {
				skipped(in.Path)
			}
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}
