package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Names of the per-model files `hallu run` writes in MODEL/ under its output
// directory; readers of run directories look for them.
const (
	GenerationsFile = "generations.jsonl"
	JudgmentsFile   = "judgments.jsonl"
)

// Reader decodes a JSONL stream of records. Lines are read whole (no length
// limit), so a 24K-word source does not break it.
type Reader struct {
	br   *bufio.Reader
	name string
	line int
}

// NewReader reads records from r; name is used in error messages (a path, or
// "stdin").
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), name: name}
}

// Next returns the next record, or io.EOF. Blank lines are skipped. An error
// names the stream and line.
func (r *Reader) Next() (*Record, error) {
	for {
		b, err := r.br.ReadBytes('\n')
		if len(b) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
		r.line++
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		rec, derr := Decode(b)
		if derr != nil {
			return nil, fmt.Errorf("%s line %d: %w", r.name, r.line, derr)
		}
		return rec, nil
	}
}

// Line is the number of the line Next last read.
func (r *Reader) Line() int { return r.line }

// Decode parses one record and checks the fields every stage relies on.
func Decode(b []byte) (*Record, error) {
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("not a hallu record: %w", err)
	}
	var score *float64
	if rec.Judgment != nil {
		score = rec.Judgment.Score
	}
	if err := checkRecord(rec.Schema, rec.DocID, rec.Model, score); err != nil {
		return nil, err
	}
	return &rec, nil
}

// checkRecord holds the checks every reader of records applies, so that the
// report's lighter decoder rejects what Decode rejects in the fields both read.
func checkRecord(schema int, docID, model string, score *float64) error {
	switch {
	case schema == 0:
		return errors.New(`not a hallu record: no "schema" field`)
	case schema > SchemaVersion:
		return fmt.Errorf("record schema %d is newer than this hallu understands (%d); upgrade hallu", schema, SchemaVersion)
	case schema < 0:
		return fmt.Errorf("invalid schema %d", schema)
	case docID == "":
		return errors.New(`record has no "doc_id"`)
	case model == "":
		return errors.New(`record has no "model"`)
	}
	if score != nil && (*score < 0 || *score > 1 || *score != *score) {
		return fmt.Errorf("judgment score %v is outside [0,1]", *score)
	}
	return nil
}

// Key identifies a record within a result stream: one record per model and
// document.
func Key(model, docID string) string { return model + "\x00" + docID }

// Writer appends records as JSON lines. Each record goes out in a single
// write call, so a crash leaves at most one torn final line, which Resume
// removes.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
	f  *os.File // nil when writing to a plain io.Writer
}

// NewWriter writes records to w (stdout, a pipe).
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write appends one record, setting its schema version.
func (w *Writer) Write(rec *Record) error {
	rec.Schema = SchemaVersion
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode record %s: %w", rec.DocID, err)
	}
	b = append(b, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("write record %s: %w", rec.DocID, err)
	}
	return nil
}

// Sync flushes a file-backed writer to stable storage.
func (w *Writer) Sync() error {
	if w.f == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Sync()
}

// Close syncs and closes a file-backed writer; it is a no-op otherwise.
func (w *Writer) Close() error {
	if w.f == nil {
		return nil
	}
	if err := w.Sync(); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}

// Resume opens path for appending after keeping only the records for which
// keep returns true (finished work); the rest (failed records, a torn last
// line left by a crash) are dropped so that they are redone, and the file is
// rewritten atomically when anything was dropped. It returns the keys
// (model, doc id) of the kept records. A missing file starts empty.
//
// A line that fails to decode anywhere but at the end of the file is an error:
// that is damage Resume must not silently discard.
func Resume(path string, keep func(*Record) bool) (map[string]bool, *Writer, error) {
	done := map[string]bool{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, nil, err
		}
		out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, err
		}
		return done, &Writer{w: out, f: out}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".resume-*")
	if err != nil {
		return nil, nil, err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // no-op after the rename
	bw := bufio.NewWriterSize(tmp, 1<<20)

	br := bufio.NewReaderSize(f, 1<<20)
	dropped := false
	for line := 1; ; line++ {
		b, rerr := br.ReadBytes('\n')
		if len(b) == 0 && rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				tmp.Close()
				return nil, nil, fmt.Errorf("%s: %w", path, rerr)
			}
			break
		}
		torn := rerr != nil // no newline: the write was cut short
		trimmed := bytes.TrimSpace(b)
		if len(trimmed) == 0 {
			dropped = dropped || len(b) > 0
			continue
		}
		rec, derr := Decode(trimmed)
		if derr != nil || torn {
			if torn {
				dropped = true
				break
			}
			tmp.Close()
			return nil, nil, fmt.Errorf("%s line %d: %w (fix or remove the line; nothing was changed)", path, line, derr)
		}
		k := Key(rec.Model, rec.DocID)
		if !keep(rec) || done[k] {
			dropped = true
			continue
		}
		done[k] = true
		bw.Write(trimmed)
		bw.WriteByte('\n')
	}
	if !dropped {
		tmp.Close()
	} else {
		if err := bw.Flush(); err != nil {
			tmp.Close()
			return nil, nil, err
		}
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return nil, nil, err
		}
		if err := tmp.Close(); err != nil {
			return nil, nil, err
		}
		if err := os.Rename(tmpName, path); err != nil {
			return nil, nil, err
		}
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	return done, &Writer{w: out, f: out}, nil
}
