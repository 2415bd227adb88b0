package dataset

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCSVHappyPath(t *testing.T) {
	content := "article_id,text,dataset\n" +
		"1,\"The council met on Monday.\nIt approved the plan, 7 to 4.\n\nA \"\"final\"\" vote follows.\",xsum\n" +
		"2,Plain text without quotes.,cnndm\n" +
		"3,\"Comma, inside\",\n"
	src := openString(t, "csv", "docs.csv", content, Options{})
	defer src.Close()
	docs, recErrs, final := drain(t, src)
	require.NoError(t, final)
	require.Empty(t, recErrs)
	require.Equal(t, []Document{
		{ID: "1", Text: "The council met on Monday.\nIt approved the plan, 7 to 4.\n\nA \"final\" vote follows.", Dataset: "xsum"},
		{ID: "2", Text: "Plain text without quotes.", Dataset: "cnndm"},
		{ID: "3", Text: "Comma, inside", Dataset: ""},
	}, docs)
	// Next after the end keeps saying EOF.
	_, err := src.Next()
	require.ErrorIs(t, err, io.EOF)
}

func TestCSVHeaderVariants(t *testing.T) {
	// BOM, reordered and upper-case columns, "ID" alias, extra column, CRLF.
	content := "\uFEFFNotes, Text ,ID\r\nx,hello world,a1\r\ny,second doc,a2\r\n"
	docs, recErrs, final := drain(t, openString(t, "csv", "docs.csv", content, Options{}))
	require.NoError(t, final)
	require.Empty(t, recErrs)
	require.Equal(t, []Document{{ID: "a1", Text: "hello world"}, {ID: "a2", Text: "second doc"}}, docs)

	// article_id wins over id when both exist: it is the leaderboard's name.
	content = "id,article_id,text\n7,art-7,body\n"
	docs, _, _ = drain(t, openString(t, "csv", "docs.csv", content, Options{}))
	require.Equal(t, []string{"art-7"}, ids(docs))

	// Configured names replace the defaults.
	content = "doc,body,source\nd1,some text,web\n"
	opts := Options{IDField: "DOC", TextField: "body", DatasetField: "source"}
	docs, _, _ = drain(t, openString(t, "csv", "docs.csv", content, opts))
	require.Equal(t, []Document{{ID: "d1", Text: "some text", Dataset: "web"}}, docs)
}

func TestCSVHeaderErrors(t *testing.T) {
	f, err := lookupFormat("csv")
	require.NoError(t, err)
	open := func(content string, opts Options) error {
		_, err := f(io.NopCloser(strings.NewReader(content)), "docs.csv", opts)
		return err
	}
	err = open("article_id,body\n1,x\n", Options{})
	require.ErrorIs(t, err, ErrMissingField)
	assert.EqualError(t, err, `dataset docs.csv line 1: missing field "text": no "text" column in header (columns: "article_id", "body"); name the text column with --text-field`)

	err = open("text,dataset\nx,y\n", Options{})
	require.ErrorIs(t, err, ErrMissingField)
	assert.Contains(t, err.Error(), `dataset docs.csv line 1: missing field "article_id": no "article_id" or "id" column`)

	err = open("id,text\n1,x\n", Options{IDField: "doc_id"})
	assert.Contains(t, err.Error(), `missing field "doc_id"`)

	assert.Contains(t, err.Error(), `; name the id column with --id-field`)

	// A header split on another delimiter is one column holding it.
	err = open("article_id;text;dataset\n1;x;y\n", Options{})
	require.ErrorIs(t, err, ErrMissingField)
	assert.EqualError(t, err, `dataset docs.csv line 1: missing field "article_id": no "article_id" or "id" column in header (columns: "article_id;text;dataset"); `+
		`the header holds ';': hallu reads comma-separated files, so convert it or save it as CSV with commas`)
	err = open("id\ttext\n1\tx\n", Options{})
	assert.ErrorContains(t, err, `(columns: "id\ttext"); the header holds tabs: hallu reads comma-separated files`)

	err = open("id,text,Text\n1,x,y\n", Options{})
	assert.EqualError(t, err, `dataset docs.csv line 1: column "text" appears twice in header (columns 2 and 3)`)

	err = open("", Options{})
	assert.EqualError(t, err, "dataset docs.csv: empty file, want a header row such as article_id,text,dataset")

	err = open("id,\"text\n", Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dataset docs.csv: reading header:")
}

func TestCSVRecordErrors(t *testing.T) {
	cases := []struct {
		name, body string
		opts       Options
		want       string
		is         error
	}{
		{"empty text", "a7,\"  \n \"\n", Options{}, `dataset docs.csv line 2: empty text for id "a7"`, ErrEmptyText},
		{"empty id", ",some text\n", Options{}, `dataset docs.csv line 2: empty id`, ErrEmptyID},
		{"invalid utf8 text", "a1,ok \xff bad\n", Options{}, `dataset docs.csv line 2: invalid UTF-8 in text for id "a1" at byte 3`, ErrInvalidUTF8},
		{"invalid utf8 id", "a\xfe,text\n", Options{}, `dataset docs.csv line 2: invalid UTF-8 in id "a\xfe"`, ErrInvalidUTF8},
		{"too large", "big,0123456789a\n", Options{MaxBytes: 10}, `dataset docs.csv line 2: text too large for id "big": 11 bytes, limit is 10 bytes; raise it with --max-doc-bytes (max_doc_bytes in a run config)`, ErrTooLarge},
		{"short row", "only-id\n", Options{}, `dataset docs.csv line 2: missing field "text": row has 1 columns, "text" is column 2`, ErrMissingField},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := onlyError(t, openString(t, "csv", "docs.csv", "id,text\n"+c.body, c.opts))
			require.ErrorIs(t, err, c.is)
			assert.EqualError(t, err, c.want)
			var re *RecordError
			require.True(t, errors.As(err, &re))
			assert.Equal(t, "docs.csv", re.File)
			assert.Equal(t, 2, re.Line)
			assert.Equal(t, 1, re.Record)
		})
	}
}

// A bad record is skipped and reading goes on; the line reported is where
// the record starts, even after multi-line records.
func TestCSVLinesAndRecovery(t *testing.T) {
	content := "article_id,text\n" +
		"a,\"first\nspans\nthree lines\"\n" + // lines 2-4
		"b,\"\"\n" + // line 5: empty text
		"\n" + // blank line 6 is skipped by encoding/csv
		"a,\"duplicate\nof a\"\n" + // line 7
		"c,fine\n" // line 9
	docs, recErrs, final := drain(t, openString(t, "csv", "docs.csv", content, Options{}))
	require.NoError(t, final)
	require.Equal(t, []string{"a", "c"}, ids(docs))
	require.Len(t, recErrs, 2)
	assert.EqualError(t, recErrs[0], `dataset docs.csv line 5: empty text for id "b"`)
	assert.EqualError(t, recErrs[1], `dataset docs.csv line 7: duplicate id "a" (first seen at line 2)`)
	assert.ErrorIs(t, recErrs[1], ErrDuplicateID)
}

// A rejected record does not claim its id: a later good record with that id
// is not a duplicate.
func TestCSVRejectedIDNotClaimed(t *testing.T) {
	content := "id,text\nx,\nx,now with text\n"
	docs, recErrs, _ := drain(t, openString(t, "csv", "docs.csv", content, Options{}))
	require.Len(t, recErrs, 1)
	require.Equal(t, []Document{{ID: "x", Text: "now with text"}}, docs)
}

func TestCSVSyntaxErrorIsFinal(t *testing.T) {
	content := "id,text\n1,ok\n2,\"unterminated\n3,more\n"
	src := openString(t, "csv", "docs.csv", content, Options{})
	docs, recErrs, final := drain(t, src)
	require.Equal(t, []string{"1"}, ids(docs))
	require.Empty(t, recErrs)
	require.Error(t, final)
	assert.Contains(t, final.Error(), "dataset docs.csv: record on line 3")
	var re *RecordError
	assert.False(t, errors.As(final, &re), "a syntax error must not look skippable")
	_, again := src.Next()
	assert.Equal(t, final, again, "errors after a syntax error are sticky")

	content = "id,text\n1,bare \" quote\n"
	_, _, final = drain(t, openString(t, "csv", "docs.csv", content, Options{}))
	assert.Contains(t, final.Error(), "dataset docs.csv: parse error on line 2")
}

// csvRows writes a generated CSV of about size bytes to w, with a multi-line
// quoted field in every row, and returns how many rows it wrote.
func csvRows(w io.Writer, size int) (int, error) {
	para := strings.Repeat("The committee met on 12 May and approved a budget of 4.5 million. ", 20)
	if _, err := io.WriteString(w, "article_id,text,dataset\n"); err != nil {
		return 0, err
	}
	n, written := 0, 0
	for written < size {
		n++
		row := fmt.Sprintf("doc-%d,\"%s\n\n\"\"Quoted\"\", she said, %d.\",gen\n", n, para, n)
		k, err := io.WriteString(w, row)
		if err != nil {
			return n, err
		}
		written += k
	}
	return n, nil
}

// TestCSVStreamsLargeFile reads a generated 50 MB CSV through a pipe, so the
// file never exists whole, and checks the live heap stays far below its size.
func TestCSVStreamsLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB stream skipped in -short mode")
	}
	const size = 50 << 20
	pr, pw := io.Pipe()
	rows := make(chan int, 1)
	go func() {
		n, err := csvRows(pw, size)
		pw.CloseWithError(err)
		rows <- n
	}()
	f, err := lookupFormat("csv")
	require.NoError(t, err)
	src, err := f(pr, "big.csv", Options{})
	require.NoError(t, err)
	defer src.Close()

	var ms runtime.MemStats
	var peak uint64
	count, bytes := 0, 0
	for {
		d, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		count++
		bytes += len(d.Text)
		if count%5000 == 0 {
			// Measure what is live, not garbage the collector hasn't got to
			// yet: the latter depends on how busy the machine is.
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	require.Equal(t, <-rows, count)
	require.Greater(t, bytes, size*9/10)
	t.Logf("%d docs, %d MB of text, peak live heap %.1f MB", count, bytes>>20, float64(peak)/(1<<20))
	assert.Less(t, peak, uint64(size/4), "the loader appears to hold the file in memory")
}

func BenchmarkCSV(b *testing.B) {
	var sb strings.Builder
	_, _ = csvRows(&sb, 8<<20)
	data := sb.String()
	benchFormat(b, "csv", "bench.csv", data)
}
