package dataset

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A dataset that yields nothing usable ends in a *NoDocumentsError, not a
// clean io.EOF, so a run cannot report success over zero documents.
func TestOpenNoDocuments(t *testing.T) {
	p := writeFile(t, "bad.jsonl", `{"id":"a","text":" "}`+"\n"+
		`not json`+"\n"+
		`{"id":"","text":"y"}`+"\n")
	src, err := Open(p, Options{})
	require.NoError(t, err)
	docs, recErrs, final := drain(t, src)
	assert.Empty(t, docs)
	assert.Len(t, recErrs, 3)
	require.ErrorIs(t, final, ErrNoDocuments)
	assert.EqualError(t, final, "dataset "+p+`: no usable documents: 3 records rejected, the first at line 1: empty text for id "a"`)
	var ne *NoDocumentsError
	require.ErrorAs(t, final, &ne)
	assert.Equal(t, 3, ne.Rejected)
	require.NotNil(t, ne.First)
	assert.ErrorIs(t, ne.First, ErrEmptyText)
	// It must not read as a skippable record, or a caller skipping bad
	// records would loop on it for ever.
	var re *RecordError
	assert.False(t, errors.As(final, &re))
	_, again := src.Next()
	assert.Equal(t, final, again)

	for name, content := range map[string]string{
		"empty.jsonl": "",
		"blank.jsonl": "\n  \n\r\n",
		"header.csv":  "id,text\n",
		"oneline.csv": "id,text",
		"blanks.csv":  "id,text\n\n\n",
	} {
		src, err := Open(writeFile(t, name, content), Options{})
		require.NoError(t, err, name)
		_, recErrs, final := drain(t, src)
		assert.Empty(t, recErrs, name)
		require.ErrorIs(t, final, ErrNoDocuments, name)
		assert.Contains(t, final.Error(), name+": no usable documents: the file holds no records", name)
	}

	// One good document is enough, and the end is a plain io.EOF.
	src, err = Open(writeFile(t, "one.jsonl", `{"id":"a","text":" "}`+"\n"+`{"id":"b","text":"ok"}`), Options{})
	require.NoError(t, err)
	docs, recErrs, final = drain(t, src)
	require.NoError(t, final)
	assert.Len(t, docs, 1)
	assert.Len(t, recErrs, 1)
	_, err = src.Next()
	assert.ErrorIs(t, err, io.EOF)

	// The singular reads as such.
	src, err = Open(writeFile(t, "single.csv", "id,text\na,\n"), Options{})
	require.NoError(t, err)
	_, _, final = drain(t, src)
	assert.ErrorContains(t, final, `single.csv: no usable documents: 1 record rejected, at line 2: empty text for id "a"`)
}

// Limit and Shard over an opened source: a shard that happens to hold no
// document is not an empty dataset.
func TestNoDocumentsShard(t *testing.T) {
	src, err := Open(writeFile(t, "d.jsonl", `{"id":"a","text":"x"}`), Options{})
	require.NoError(t, err)
	other := 3 - ShardOf("a", 2)
	sh, err := Shard(src, other, 2)
	require.NoError(t, err)
	docs, _, final := drain(t, sh)
	require.NoError(t, final)
	assert.Empty(t, docs)
}

func TestOpenStrict(t *testing.T) {
	content := `{"id":"a","text":"one"}` + "\n" + `{"id":"b","text":""}` + "\n" + `{"id":"c","text":"three"}` + "\n"
	p := writeFile(t, "d.jsonl", content)

	// Lenient (the default): the bad record is reported and skipped.
	src, err := Open(p, Options{})
	require.NoError(t, err)
	docs, recErrs, final := drain(t, src)
	require.NoError(t, final)
	assert.Equal(t, []string{"a", "c"}, ids(docs))
	assert.Len(t, recErrs, 1)

	// Strict: the bad record ends the source with an error naming file and line.
	src, err = Open(p, Options{Strict: true})
	require.NoError(t, err)
	docs, recErrs, final = drain(t, src)
	assert.Equal(t, []string{"a"}, ids(docs))
	assert.Empty(t, recErrs, "a strict source's error is final, not a skippable *RecordError")
	require.Error(t, final)
	assert.EqualError(t, final, "dataset "+p+` line 2: empty text for id "b" (strict mode stops at a bad record; --strict=false, or strict: false in a run config, skips such records with a warning)`)
	assert.ErrorIs(t, final, ErrEmptyText)
	var se *StrictError
	require.ErrorAs(t, final, &se)
	assert.Equal(t, 2, se.Record.Line)
	assert.Equal(t, p, se.Record.File)
	_, again := src.Next()
	assert.Equal(t, final, again)

	// Strict applies to the builtin sample too, which has no bad records.
	src, err = Open(BuiltinSpec, Options{Strict: true})
	require.NoError(t, err)
	docs, _, final = drain(t, src)
	require.NoError(t, final)
	assert.Len(t, docs, 62)
}

func TestMaxBytesOption(t *testing.T) {
	// The default admits a document of exactly DefaultMaxBytes.
	body := strings.Repeat("a", DefaultMaxBytes)
	content := `{"id":"fits","text":"` + body + `"}` + "\n" + `{"id":"over","text":"` + body + `b"}` + "\n"
	src, err := Open(writeFile(t, "d.jsonl", content), Options{})
	require.NoError(t, err)
	docs, recErrs, final := drain(t, src)
	require.NoError(t, final)
	assert.Equal(t, []string{"fits"}, ids(docs))
	require.Len(t, recErrs, 1)
	assert.ErrorIs(t, recErrs[0], ErrTooLarge)
	assert.ErrorContains(t, recErrs[0], `text too large for id "over": 1048577 bytes, limit is 1048576 bytes; raise it with --max-doc-bytes (max_doc_bytes in a run config)`)

	_, err = Open(BuiltinSpec, Options{MaxBytes: -1})
	assert.EqualError(t, err, "dataset: document size limit -1 is negative (--max-doc-bytes, max_doc_bytes in a run config)")
}

// pipeStdin makes content the process's standard input for one test.
func pipeStdin(t *testing.T, content string) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	old := os.Stdin
	os.Stdin = r
	t.Cleanup(func() { os.Stdin = old; r.Close() })
	go func() {
		w.Write([]byte(content))
		w.Close()
	}()
}

func TestOpenStdinSniffs(t *testing.T) {
	want := []Document{{ID: "1", Text: "One."}, {ID: "2", Text: "Two."}}
	for name, content := range map[string]string{
		"csv":                             sampleCSV,
		"csv with bom":                    "\uFEFF" + sampleCSV,
		"jsonl":                           sampleJSONL,
		"jsonl after blank lines and bom": "\uFEFF\n \r\n\t" + sampleJSONL,
	} {
		t.Run(name, func(t *testing.T) {
			pipeStdin(t, content)
			assert.Equal(t, want, openAll(t, "-", Options{}))
		})
	}
	t.Run("json array", func(t *testing.T) {
		pipeStdin(t, `[{"id":"1","text":"One."}]`)
		src, err := Open("-", Options{})
		require.NoError(t, err)
		_, recErrs, final := drain(t, src)
		require.Len(t, recErrs, 1)
		assert.ErrorContains(t, recErrs[0], "dataset stdin line 1: malformed record: not a JSON object (a JSON array?")
		assert.ErrorIs(t, final, ErrNoDocuments)
	})
	t.Run("empty", func(t *testing.T) {
		pipeStdin(t, "")
		src, err := Open("-", Options{})
		require.NoError(t, err)
		_, _, final := drain(t, src)
		assert.EqualError(t, final, "dataset stdin: no usable documents: the file holds no records")
	})
	t.Run("forced", func(t *testing.T) {
		// A forced format is not second-guessed.
		pipeStdin(t, sampleCSV)
		src, err := Open("jsonl:-", Options{})
		require.NoError(t, err)
		_, recErrs, _ := drain(t, src)
		require.NotEmpty(t, recErrs)
		assert.ErrorContains(t, recErrs[0], "not a JSON object")
	})
}
