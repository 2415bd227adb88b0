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

	"github.com/hallu-eval/hallu/internal/atomicfile"
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

// Resume opens path for appending, keeping only finished work: for each
// (model, document) the file's last record is the one that counts (a
// later line supersedes an earlier one, as a rerun appends the redone
// record), and it is kept when keep returns true. Everything else — failed
// records to redo, superseded lines, a torn last line left by a crash — is
// removed: a torn line alone by truncating the file in place, anything more
// by rewriting the file atomically with its mode kept. The returned map
// holds value(rec) of every kept record under Key(model, doc id). A missing
// file starts empty.
//
// A line that fails to decode anywhere but at the end of the file is an
// error: that is damage Resume must not silently discard.
func Resume(path string, keep func(*Record) bool, value func(*Record) string) (map[string]string, *Writer, error) {
	done := map[string]string{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, nil, err
		}
		out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, err
		}
		if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
			out.Close()
			return nil, nil, err
		}
		return done, &Writer{w: out, f: out}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()

	// Pass 1: which line holds each key's last record, and is it kept?
	type last struct {
		line int
		keep bool
	}
	lasts := map[string]last{}
	dropped, needNewline := false, false
	var tornAt int64 = -1
	err = eachLine(f, func(line int, off int64, b []byte, torn bool) error {
		rec, derr := Decode(b)
		if torn && derr != nil {
			tornAt = off
			return errStop
		}
		// A whole record without its newline was written by something other
		// than Writer (an editor): keep it, and end its line before appending.
		needNewline = torn
		if derr != nil {
			return fmt.Errorf("%s line %d: %w (fix or remove the line; nothing was changed)", path, line, derr)
		}
		k := Key(rec.Model, rec.DocID)
		if _, seen := lasts[k]; seen {
			dropped = true
		}
		kept := keep(rec)
		dropped = dropped || !kept
		lasts[k] = last{line, kept}
		if kept {
			done[k] = value(rec)
		} else {
			delete(done, k)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	switch {
	case dropped:
		// Pass 2: rewrite with each key's last record, if kept.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, nil, err
		}
		err = atomicfile.Write(path, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<20)
			err := eachLine(f, func(line int, _ int64, b []byte, torn bool) error {
				rec, derr := Decode(b)
				if torn && derr != nil {
					return errStop
				}
				if derr != nil {
					return fmt.Errorf("line %d changed while resuming: %w", line, derr)
				}
				if l := lasts[Key(rec.Model, rec.DocID)]; l.line == line && l.keep {
					bw.Write(b)
					bw.WriteByte('\n')
				}
				return nil
			})
			if err != nil {
				return err
			}
			return bw.Flush()
		})
		if err != nil {
			return nil, nil, fmt.Errorf("rewrite %s: %w", path, err)
		}
	case tornAt >= 0:
		// Only the last write was cut short: cut it off in place rather
		// than copying a file that may hold a million records.
		if err := os.Truncate(path, tornAt); err != nil {
			return nil, nil, fmt.Errorf("truncate the torn last line of %s: %w", path, err)
		}
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, nil, err
	}
	if needNewline && !dropped {
		if _, err := out.Write([]byte{'\n'}); err != nil {
			out.Close()
			return nil, nil, err
		}
	}
	return done, &Writer{w: out, f: out}, nil
}

// Compact rewrites path keeping each (model, document)'s last record, so
// that records superseded by a rerun are not counted twice.
func Compact(path string) error {
	return CompactKeep(path, func(*Record) bool { return true })
}

// CompactKeep is Compact that also drops the records keep rejects.
func CompactKeep(path string, keep func(*Record) bool) error {
	_, w, err := Resume(path, keep, func(*Record) string { return "" })
	if err != nil {
		return err
	}
	return w.Close()
}

var errStop = errors.New("stop")

// eachLine calls fn with every non-blank line of r (trimmed), its 1-based
// number and the offset where it starts; torn is set for a last line with
// no newline, which fn may treat as cut short. fn returning errStop ends
// the walk without error.
func eachLine(r io.Reader, fn func(line int, off int64, b []byte, torn bool) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var off int64
	for line := 1; ; line++ {
		b, rerr := br.ReadBytes('\n')
		if len(b) == 0 && rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return rerr
		}
		start := off
		off += int64(len(b))
		trimmed := bytes.TrimSpace(b)
		if len(trimmed) == 0 {
			continue
		}
		if err := fn(line, start, trimmed, rerr != nil); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}
	}
}
