package results

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/errclass"
)

func line(t *testing.T, rec *Record) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, NewWriter(&buf).Write(rec))
	return buf.String()
}

func TestResumeKeepsFinishedDropsFailedAndTorn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	ok1 := line(t, &Record{DocID: "a", Model: "m", Summary: "fine"})
	failed := line(t, &Record{DocID: "b", Model: "m", Error: &Error{Class: errclass.Server, Message: "503"}})
	dup := line(t, &Record{DocID: "a", Model: "m", Summary: "again"})
	ok2 := line(t, &Record{DocID: "c", Model: "m", Summary: "fine"})
	torn := line(t, &Record{DocID: "d", Model: "m", Summary: "cut"})
	torn = torn[:len(torn)/2]
	require.NoError(t, os.WriteFile(path, []byte(ok1+failed+dup+ok2+torn), 0o644))

	done, w, err := Resume(path, func(r *Record) bool { return r.Error == nil }, func(r *Record) string { return r.Summary })
	require.NoError(t, err)
	assert.Equal(t, map[string]string{Key("m", "a"): "again", Key("m", "c"): "fine"}, done, "a later line supersedes an earlier one")
	require.NoError(t, w.Write(&Record{DocID: "b", Model: "m", Summary: "retried"}))
	require.NoError(t, w.Close())

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, dup+ok2+line(t, &Record{DocID: "b", Model: "m", Summary: "retried"}), string(b), "superseded, failed and torn lines are gone; none is doubled")
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
	assert.Empty(t, left, "no temporary file is left behind")
}

func TestResumeRefusesDamageInTheMiddle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	content := line(t, &Record{DocID: "a", Model: "m"}) + "{not json\n" + line(t, &Record{DocID: "b", Model: "m"})
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	_, _, err := Resume(path, func(*Record) bool { return true }, func(*Record) string { return "" })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "out.jsonl line 2")
	b, _ := os.ReadFile(path)
	assert.Equal(t, content, string(b), "nothing the user produced is changed")
}

func TestResumeCreatesMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "out.jsonl")
	done, w, err := Resume(path, func(*Record) bool { return true }, func(*Record) string { return "" })
	require.NoError(t, err)
	assert.Empty(t, done)
	require.NoError(t, w.Close())
	assert.FileExists(t, path)
}

func TestReaderNamesLineOnError(t *testing.T) {
	in := line(t, &Record{DocID: "a", Model: "m"}) + "\n" + `{"schema":1,"model":"m"}` + "\n"
	r := NewReader(strings.NewReader(in), "x.jsonl")
	_, err := r.Next()
	require.NoError(t, err)
	_, err = r.Next()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "x.jsonl line 3")
	assert.Contains(t, err.Error(), "doc_id")

	r = NewReader(strings.NewReader(`{"schema":99,"doc_id":"a","model":"m"}`), "new.jsonl")
	_, err = r.Next()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "upgrade hallu")

	r = NewReader(strings.NewReader(""), "empty")
	_, err = r.Next()
	assert.True(t, errors.Is(err, io.EOF))
}

func TestWriterOneLinePerRecordWithSchema(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	require.NoError(t, w.Write(&Record{DocID: "a", Model: "m", Summary: "line one\nline two"}))
	assert.Equal(t, 1, strings.Count(buf.String(), "\n"))
	rec, err := Decode(bytes.TrimSpace(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, SchemaVersion, rec.Schema)
	assert.Equal(t, "line one\nline two", rec.Summary)
}

func TestResumeCutsATornLineInPlaceAndKeepsTheMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	ok := line(t, &Record{DocID: "a", Model: "m", Summary: "fine"})
	torn := line(t, &Record{DocID: "b", Model: "m", Summary: "cut"})
	require.NoError(t, os.WriteFile(path, []byte(ok+torn[:10]), 0o640))
	require.NoError(t, os.Chmod(path, 0o640))
	before, err := os.Stat(path)
	require.NoError(t, err)

	done, w, err := Resume(path, func(*Record) bool { return true }, func(*Record) string { return "x" })
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Len(t, done, 1)
	after, err := os.Stat(path)
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, after), "a torn line alone is cut off in place, not by copying the file")
	assert.Equal(t, os.FileMode(0o640), after.Mode().Perm())
	b, _ := os.ReadFile(path)
	assert.Equal(t, ok, string(b))

	// A rewrite (a failed record dropped) keeps the mode too.
	failed := line(t, &Record{DocID: "c", Model: "m", Error: &Error{Class: errclass.Server, Message: "503"}})
	require.NoError(t, os.WriteFile(path, []byte(ok+failed), 0o640))
	_, w, err = Resume(path, func(r *Record) bool { return r.Error == nil }, func(*Record) string { return "" })
	require.NoError(t, err)
	require.NoError(t, w.Close())
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm(), "a repaired file keeps its mode")
}

func TestResumeKeepsAWholeLastRecordWithoutNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	a := line(t, &Record{DocID: "a", Model: "m", Summary: "fine"})
	b := line(t, &Record{DocID: "b", Model: "m", Summary: "hand-edited"})
	require.NoError(t, os.WriteFile(path, []byte(a+strings.TrimSuffix(b, "\n")), 0o644))
	done, w, err := Resume(path, func(*Record) bool { return true }, func(*Record) string { return "" })
	require.NoError(t, err)
	assert.Len(t, done, 2, "a whole record is the user's work, newline or not")
	c := &Record{DocID: "c", Model: "m", Summary: "new"}
	require.NoError(t, w.Write(c))
	require.NoError(t, w.Close())
	got, _ := os.ReadFile(path)
	assert.Equal(t, a+b+line(t, c), string(got))
}

func TestCompactKeepsTheLastRecordOfEachKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	old := line(t, &Record{DocID: "a", Model: "m", Summary: "old"})
	other := line(t, &Record{DocID: "b", Model: "m", Summary: "other"})
	redone := line(t, &Record{DocID: "a", Model: "m", Summary: "redone"})
	require.NoError(t, os.WriteFile(path, []byte(old+other+redone), 0o644))
	require.NoError(t, Compact(path))
	got, _ := os.ReadFile(path)
	assert.Equal(t, other+redone, string(got))
}
