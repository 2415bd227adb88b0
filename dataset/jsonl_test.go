package dataset

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONLHappyPath(t *testing.T) {
	content := "\uFEFF" + `{"id":"a1","text":"First article.\nSecond line.","dataset":"xsum","extra":[1,2]}` + "\n" +
		"\n" + // blank lines are skipped but counted
		`  {"id": 42, "text": "Numeric id."}  ` + "\r\n" +
		`{"id":12345678901234567890,"text":"Big id keeps its digits.","dataset":null}` + "\n" +
		`{"id":"e\u0301\"q","text":"Tab\there, \ud83d\ude00 and \/slash."}` + "\n" +
		`{"article_id":"art-9","text":"Leaderboard-style id."}` // no final newline
	docs, recErrs, final := drain(t, openString(t, "jsonl", "docs.jsonl", content, Options{}))
	require.NoError(t, final)
	require.Empty(t, recErrs)
	require.Equal(t, []Document{
		{ID: "a1", Text: "First article.\nSecond line.", Dataset: "xsum"},
		{ID: "42", Text: "Numeric id."},
		{ID: "12345678901234567890", Text: "Big id keeps its digits."},
		{ID: "e\u0301\"q", Text: "Tab\there, \U0001F600 and /slash."},
		{ID: "art-9", Text: "Leaderboard-style id."},
	}, docs)
}

func TestJSONLCustomFields(t *testing.T) {
	content := `{"doc":"d1","article":"Body text.","src":"web","text":"ignored","id":"ignored"}` + "\n"
	opts := Options{IDField: "doc", TextField: "article", DatasetField: "src"}
	docs, _, final := drain(t, openString(t, "jsonl", "docs.jsonl", content, opts))
	require.NoError(t, final)
	require.Equal(t, []Document{{ID: "d1", Text: "Body text.", Dataset: "web"}}, docs)

	// A configured name has no fallback: article_id is not an alias of doc.
	content = `{"doc":"d1","article":"Body text."}` + "\n" + `{"article_id":"x","article":"t"}`
	docs, recErrs, final := drain(t, openString(t, "jsonl", "docs.jsonl", content, opts))
	require.NoError(t, final)
	require.Len(t, docs, 1)
	require.Len(t, recErrs, 1)
	assert.EqualError(t, recErrs[0], `dataset docs.jsonl line 2: missing field "doc"`)
}

func TestJSONLRecordErrors(t *testing.T) {
	cases := []struct {
		name, line string
		opts       Options
		want       string
		is         error
	}{
		{"null id", `{"id":null,"text":"x"}`, Options{}, `dataset docs.jsonl line 2: missing field "id" (or "article_id")`, ErrMissingField},
		{"empty text", `{"id":"a7","text":" \n\t"}`, Options{}, `dataset docs.jsonl line 2: empty text for id "a7"`, ErrEmptyText},
		{"empty id", `{"id":"","text":"x"}`, Options{}, `dataset docs.jsonl line 2: empty id`, ErrEmptyID},
		{"text not string", `{"id":"a7","text":12}`, Options{}, `dataset docs.jsonl line 2: malformed record: field "text" must be a string, got a number`, ErrMalformed},
		{"label not string", `{"id":"a7","text":"x","dataset":{}}`, Options{}, `dataset docs.jsonl line 2: malformed record: field "dataset" must be a string, got an object`, ErrMalformed},
		{"id object", `{"id":{"n":1},"text":"x"}`, Options{}, `dataset docs.jsonl line 2: malformed record: field "id": want a string or number, got an object`, ErrMalformed},
		{"id bool", `{"id":true,"text":"x"}`, Options{}, `dataset docs.jsonl line 2: malformed record: field "id": want a string or number, got a boolean`, ErrMalformed},
		{"bad json", `{"id":"a7","text":"x"`, Options{}, `dataset docs.jsonl line 2: malformed record: unexpected end of JSON input`, ErrMalformed},
		{"trailing data", `{"id":"a7","text":"x"} {}`, Options{}, `dataset docs.jsonl line 2: malformed record: invalid character '{' after top-level value`, ErrMalformed},
		{"array", `[{"id":"a7","text":"x"}]`, Options{}, `dataset docs.jsonl line 2: malformed record: not a JSON object (a JSON array? this format wants JSON Lines: one object per line)`, ErrMalformed},
		{"invalid utf8 text", "{\"id\":\"a7\",\"text\":\"caf\xe9\"}", Options{}, `dataset docs.jsonl line 2: invalid UTF-8 in field "text"`, ErrInvalidUTF8},
		{"invalid utf8 id", "{\"id\":\"\xc3\",\"text\":\"x\"}", Options{}, `dataset docs.jsonl line 2: invalid UTF-8 in field "id"`, ErrInvalidUTF8},
		{"too large", `{"id":"a7","text":"0123456789a"}`, Options{MaxBytes: 10}, `dataset docs.jsonl line 2: text too large for id "a7": 11 bytes, limit is 10 bytes; raise it with --max-doc-bytes (max_doc_bytes in a run config)`, ErrTooLarge},
		{"too large escaped", `{"id":"a7","text":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}`, Options{MaxBytes: 10}, `dataset docs.jsonl line 2: text too large for id "a7": 12 bytes, limit is 10 bytes; raise it with --max-doc-bytes (max_doc_bytes in a run config)`, ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Line 1 is blank, so the error must report line 2, record 1.
			err := onlyError(t, openString(t, "jsonl", "docs.jsonl", "\n"+c.line+"\n", c.opts))
			require.ErrorIs(t, err, c.is)
			assert.EqualError(t, err, c.want)
			var re *RecordError
			require.True(t, errors.As(err, &re))
			assert.Equal(t, 2, re.Line)
			assert.Equal(t, 1, re.Record)
		})
	}
}

func TestJSONLDuplicateAndRecovery(t *testing.T) {
	content := `{"id":"a","text":"one"}` + "\n" +
		`not json` + "\n" +
		`{"id":"b","text":"two"}` + "\n" +
		`{"id":"a","text":"again"}` + "\n" +
		`{"id":"c","text":"three"}` + "\n"
	docs, recErrs, final := drain(t, openString(t, "jsonl", "docs.jsonl", content, Options{}))
	require.NoError(t, final)
	require.Equal(t, []string{"a", "b", "c"}, ids(docs))
	require.Len(t, recErrs, 2)
	assert.Contains(t, recErrs[0].Error(), "dataset docs.jsonl line 2: malformed record: not a JSON object")
	assert.EqualError(t, recErrs[1], `dataset docs.jsonl line 4: duplicate id "a" (first seen at line 1)`)

	// A number id and the same digits as a string are one id.
	content = `{"id":7,"text":"x"}` + "\n" + `{"id":"7","text":"y"}` + "\n"
	_, recErrs, _ = drain(t, openString(t, "jsonl", "docs.jsonl", content, Options{}))
	require.Len(t, recErrs, 1)
	assert.ErrorIs(t, recErrs[0], ErrDuplicateID)
}

// Lines far beyond bufio.Scanner's 64 KiB default load whole.
func TestJSONLLongLine(t *testing.T) {
	text := strings.Repeat("Long article sentence number one. ", 100_000) // ~3.4 MB
	content := fmt.Sprintf(`{"id":"long","text":%q}`+"\n"+`{"id":"short","text":"x"}`, text)
	docs, recErrs, final := drain(t, openString(t, "jsonl", "docs.jsonl", content, Options{MaxBytes: 4 << 20}))
	require.NoError(t, final)
	require.Empty(t, recErrs)
	require.Len(t, docs, 2)
	assert.Equal(t, text, docs[0].Text)

	// With the default limit the same line is rejected, and reading goes on.
	docs, recErrs, _ = drain(t, openString(t, "jsonl", "docs.jsonl", content, Options{}))
	assert.Equal(t, []string{"short"}, ids(docs))
	require.Len(t, recErrs, 1)
	assert.ErrorIs(t, recErrs[0], ErrTooLarge)
}

type failingReader struct{ after string }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after == "" {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, f.after)
	f.after = f.after[n:]
	return n, nil
}

func TestJSONLReadErrorIsFinal(t *testing.T) {
	f, err := lookupFormat("jsonl")
	require.NoError(t, err)
	src, err := f(io.NopCloser(&failingReader{after: `{"id":"a","text":"x"}` + "\n"}), "docs.jsonl", Options{})
	require.NoError(t, err)
	docs, _, final := drain(t, src)
	assert.Equal(t, []string{"a"}, ids(docs))
	assert.EqualError(t, final, "dataset docs.jsonl after line 1: disk on fire")
	_, again := src.Next()
	assert.Equal(t, final, again)
}

func BenchmarkJSONL(b *testing.B) {
	var sb strings.Builder
	// Paragraph breaks make the text need unescaping, as real articles do.
	para := strings.Repeat("The committee met on 12 May and approved a budget of 4.5 million.\n\n", 20)
	for i := 0; sb.Len() < 8<<20; i++ {
		fmt.Fprintf(&sb, `{"id":"doc-%d","text":%q,"dataset":"gen"}`+"\n", i, para)
	}
	data := sb.String()
	benchFormat(b, "jsonl", "bench.jsonl", data)
}

// The first record is the file's schema, as a CSV header is: when it lacks
// the id or text field the file fails whole, naming the fields it has. A
// later record lacking one is only that record's problem.
func TestJSONLFirstRecordLacksField(t *testing.T) {
	content := "\n" + `{"title":"T","body":"Some text.","id":"a1"}` + "\n" + `{"id":"a2","text":"x"}` + "\n"
	docs, recErrs, final := drain(t, openString(t, "jsonl", "docs.jsonl", content, Options{}))
	assert.Empty(t, docs)
	assert.Empty(t, recErrs)
	require.ErrorIs(t, final, ErrMissingField)
	assert.EqualError(t, final, `dataset docs.jsonl line 2: missing field "text": the first record has no "text" field (its fields: "title", "body", "id"); name the text field with --text-field`)
	var re *RecordError
	assert.False(t, errors.As(final, &re), "a file error is final, not a skippable record")

	content = `{"doc":"a1","text":"x"}` + "\n"
	_, _, final = drain(t, openString(t, "jsonl", "docs.jsonl", content, Options{}))
	assert.EqualError(t, final, `dataset docs.jsonl line 1: missing field "id": the first record has no "id" or "article_id" field (its fields: "doc", "text"); name the id field with --id-field`)

	// With a configured name the message says that name.
	_, _, final = drain(t, openString(t, "jsonl", "docs.jsonl", `{"id":"a","text":"x"}`, Options{TextField: "article"}))
	assert.ErrorContains(t, final, `the first record has no "article" field (its fields: "id", "text")`)

	// A later record lacking the field is skipped on its own.
	content = `{"id":"a1","text":"x"}` + "\n" + `{"id":"a2","body":"y"}` + "\n" + `{"id":"a3","text":"z"}` + "\n"
	docs, recErrs, final = drain(t, openString(t, "jsonl", "docs.jsonl", content, Options{}))
	require.NoError(t, final)
	assert.Equal(t, []string{"a1", "a3"}, ids(docs))
	require.Len(t, recErrs, 1)
	assert.EqualError(t, recErrs[0], `dataset docs.jsonl line 2: missing field "text" for id "a2"`)
	content = `{"id":"a1","text":"x"}` + "\n" + `{"text":"y"}` + "\n"
	_, recErrs, final = drain(t, openString(t, "jsonl", "docs.jsonl", content, Options{}))
	require.NoError(t, final)
	require.Len(t, recErrs, 1)
	assert.EqualError(t, recErrs[0], `dataset docs.jsonl line 2: missing field "id" (or "article_id")`)

	// Lines that are not objects do not set the schema; the first object does.
	content = "garbage\n" + `{"id":"a1","body":"y"}` + "\n"
	_, recErrs, final = drain(t, openString(t, "jsonl", "docs.jsonl", content, Options{}))
	require.Len(t, recErrs, 1)
	assert.ErrorContains(t, final, `docs.jsonl line 2: missing field "text": the first record has no "text" field`)

	// A field present but null is a bad value in that record, not a schema
	// problem.
	content = `{"id":"a1","text":null}` + "\n" + `{"id":"a2","text":"x"}` + "\n"
	docs, recErrs, final = drain(t, openString(t, "jsonl", "docs.jsonl", content, Options{}))
	require.NoError(t, final)
	assert.Equal(t, []string{"a2"}, ids(docs))
	require.Len(t, recErrs, 1)
	assert.ErrorIs(t, recErrs[0], ErrMissingField)
}
