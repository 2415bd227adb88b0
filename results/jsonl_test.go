package results

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

	done, w, err := Resume(path, func(r *Record) bool { return r.Error == nil })
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{Key("m", "a"): true, Key("m", "c"): true}, done)
	require.NoError(t, w.Write(&Record{DocID: "b", Model: "m", Summary: "retried"}))
	require.NoError(t, w.Close())

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, ok1+ok2+line(t, &Record{DocID: "b", Model: "m", Summary: "retried"}), string(b))
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
	assert.Empty(t, left, "no temporary file is left behind")
}

func TestResumeRefusesDamageInTheMiddle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	content := line(t, &Record{DocID: "a", Model: "m"}) + "{not json\n" + line(t, &Record{DocID: "b", Model: "m"})
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	_, _, err := Resume(path, func(*Record) bool { return true })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "out.jsonl line 2")
	b, _ := os.ReadFile(path)
	assert.Equal(t, content, string(b), "nothing the user produced is changed")
}

func TestResumeCreatesMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "out.jsonl")
	done, w, err := Resume(path, func(*Record) bool { return true })
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
