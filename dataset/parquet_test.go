package dataset

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pqDoc is the usual layout: string id, text and optional label.
type pqDoc struct {
	ID      string `parquet:"id"`
	Text    string `parquet:"text"`
	Dataset string `parquet:"dataset,optional"`
}

// parquetBytes writes rows as Parquet, flushing a row group every
// groupRows rows (0: one group), with small pages so a column spans
// several of them.
func parquetBytes[T any](t testing.TB, rows []T, groupRows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, parquet.PageBufferSize(512))
	for i := 0; i < len(rows); {
		n := len(rows) - i
		if groupRows > 0 && n > groupRows {
			n = groupRows
		}
		_, err := w.Write(rows[i : i+n])
		require.NoError(t, err)
		require.NoError(t, w.Flush())
		i += n
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func writeParquet[T any](t *testing.T, name string, rows []T, groupRows int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, parquetBytes(t, rows, groupRows), 0o644))
	return p
}

func openAllErr(spec string, opts Options) ([]Document, []error, error) {
	src, err := Open(spec, opts)
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	var docs []Document
	var recs []error
	for {
		d, err := src.Next()
		var re *RecordError
		switch {
		case err == nil:
			docs = append(docs, d)
		case errors.As(err, &re):
			recs = append(recs, err)
		case errors.Is(err, io.EOF):
			return docs, recs, nil
		default:
			return docs, recs, err
		}
	}
}

func TestParquetReadsDocuments(t *testing.T) {
	rows := []pqDoc{{"a", "First text.", "xsum"}, {"b", "Zweiter Text: é ü 日本.", ""}, {"c", "Third.", "cnn"}}
	p := writeParquet(t, "docs.parquet", rows, 0)
	want := []Document{{ID: "a", Text: "First text.", Dataset: "xsum"}, {ID: "b", Text: "Zweiter Text: é ü 日本."}, {ID: "c", Text: "Third.", Dataset: "cnn"}}
	for _, spec := range []string{p, "parquet:" + p, "PARQUET:" + p} {
		docs, recs, err := openAllErr(spec, Options{})
		require.NoError(t, err, spec)
		assert.Empty(t, recs)
		assert.Equal(t, want, docs, spec)
	}
	info, err := Describe(p)
	require.NoError(t, err)
	assert.Equal(t, "parquet", info.Format)
	assert.Len(t, info.SHA256, 64)
}

func TestParquetRowGroupsAndPagesInOrder(t *testing.T) {
	var rows []pqDoc
	for i := range 250 {
		// Long enough texts that each column chunk spans many 512-byte pages.
		rows = append(rows, pqDoc{ID: fmt.Sprintf("doc-%03d", i), Text: strings.Repeat(fmt.Sprintf("word%d ", i), 10+i%7)})
	}
	p := writeParquet(t, "docs.parquet", rows, 37)
	f, err := os.Open(p)
	require.NoError(t, err)
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	require.NoError(t, err)
	require.Len(t, pf.RowGroups(), 7, "the file really has several row groups")
	f.Close()

	docs, recs, err := openAllErr(p, Options{})
	require.NoError(t, err)
	assert.Empty(t, recs)
	require.Len(t, docs, len(rows))
	for i, d := range docs {
		assert.Equal(t, rows[i].ID, d.ID)
		assert.Equal(t, rows[i].Text, d.Text, "text of %s", d.ID)
	}
}

// Dictionary encoding is what Arrow (and so the hub's datasets library)
// writes for string columns by default.
func TestParquetDictionaryAndIntegerIDs(t *testing.T) {
	type row struct {
		ArticleID int64  `parquet:"article_id"`
		Article   string `parquet:"article,dict"`
		Source    string `parquet:"source,dict"`
	}
	rows := []row{{-7, "same text one", "s"}, {12345678901234, "same text two", "s"}, {3, "same text one x", "t"}}
	p := writeParquet(t, "d.parquet", rows, 2)
	docs, recs, err := openAllErr(p, Options{TextField: "article", DatasetField: "source"})
	require.NoError(t, err)
	assert.Empty(t, recs)
	assert.Equal(t, []Document{{ID: "-7", Text: "same text one", Dataset: "s"}, {ID: "12345678901234", Text: "same text two", Dataset: "s"}, {ID: "3", Text: "same text one x", Dataset: "t"}}, docs)

	type row32 struct {
		N    uint32 `parquet:"n"`
		Text string `parquet:"text"`
	}
	p = writeParquet(t, "u.parquet", []row32{{4000000000, "big unsigned"}}, 0)
	docs, _, err = openAllErr(p, Options{IDField: "n"})
	require.NoError(t, err)
	assert.Equal(t, "4000000000", docs[0].ID)
}

func TestParquetColumnErrors(t *testing.T) {
	type noText struct {
		ID   string `parquet:"id"`
		Body string `parquet:"body"`
	}
	p := writeParquet(t, "d.parquet", []noText{{"a", "x"}}, 0)
	_, err := Open(p, Options{})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrMissingField)
	assert.ErrorContains(t, err, `d.parquet: missing field "text": no "text" column (columns: "id", "body"); name the text column with --text-field`)
	docs, _, err := openAllErr(p, Options{TextField: "body"})
	require.NoError(t, err)
	assert.Equal(t, []Document{{ID: "a", Text: "x"}}, docs)

	_, err = Open(p, Options{IDField: "key", TextField: "body"})
	assert.ErrorContains(t, err, `no "key" column (columns: "id", "body"); name the id column with --id-field`)

	type floatID struct {
		ID   float64 `parquet:"id"`
		Text string  `parquet:"text"`
	}
	_, err = Open(writeParquet(t, "f.parquet", []floatID{{1.5, "x"}}, 0), Options{})
	assert.ErrorContains(t, err, `id column "id" is of type DOUBLE; want a string or an integer`)

	type intText struct {
		ID   string `parquet:"id"`
		Text int64  `parquet:"text"`
	}
	_, err = Open(writeParquet(t, "i.parquet", []intText{{"a", 1}}, 0), Options{})
	assert.ErrorContains(t, err, `text column "text" is of type INT(64,true); want a string`)

	type listText struct {
		ID   string   `parquet:"id"`
		Text []string `parquet:"text,list"`
	}
	_, err = Open(writeParquet(t, "l.parquet", []listText{{"a", []string{"x"}}}, 0), Options{TextField: "text.list.element"})
	assert.ErrorContains(t, err, "holds lists")

	// A default-named label of another type is left alone; a named one is not.
	type intLabel struct {
		ID      string `parquet:"id"`
		Text    string `parquet:"text"`
		Dataset int32  `parquet:"dataset"`
	}
	p = writeParquet(t, "n.parquet", []intLabel{{"a", "x", 3}}, 0)
	docs, _, err = openAllErr(p, Options{})
	require.NoError(t, err)
	assert.Equal(t, []Document{{ID: "a", Text: "x"}}, docs)
	_, err = Open(p, Options{DatasetField: "dataset"})
	assert.ErrorContains(t, err, `dataset label column "dataset" is of type INT(32,true); want a string`)
}

func TestParquetNeedsAPlainFile(t *testing.T) {
	p := writeParquet(t, "d.parquet", []pqDoc{{"a", "x", ""}}, 0)
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	_, err = Open("parquet:-", Options{})
	assert.ErrorContains(t, err, "dataset stdin: Parquet is read at offsets")
	gz := writeFile(t, "d.parquet.gz", "not really")
	_, err = Open(gz, Options{})
	assert.Error(t, err)
}

// The checks every format applies hold for Parquet too, through the same
// validator and the same checked wrapper.
func TestParquetDocumentChecks(t *testing.T) {
	type opt struct {
		ID   *string `parquet:"id,optional"`
		Text *string `parquet:"text,optional"`
	}
	s := func(v string) *string { return &v }
	rows := []opt{
		{s("a"), s("good")},
		{s("b"), s("  ")},                     // empty text
		{s("a"), s("again")},                  // duplicate id
		{s("c"), s(strings.Repeat("x", 100))}, // too large
		{s("d"), s("bad \xff byte")},          // invalid UTF-8
		{nil, s("no id")},                     // null id
		{s("e"), nil},                         // null text
		{s(""), s("empty id")},                // empty id
		{s("f"), s("fine")},
	}
	p := writeParquet(t, "checks.parquet", rows, 4)
	docs, recs, err := openAllErr(p, Options{MaxBytes: 50})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "f"}, ids(docs))
	require.Len(t, recs, 7)
	for i, want := range []error{ErrEmptyText, ErrDuplicateID, ErrTooLarge, ErrInvalidUTF8, ErrMissingField, ErrMissingField, ErrEmptyID} {
		assert.ErrorIs(t, recs[i], want, "record error %d: %v", i, recs[i])
	}
	assert.ErrorContains(t, recs[0], "checks.parquet record 2: empty text")
	assert.ErrorContains(t, recs[1], `(first seen at record 1)`)

	// Strict mode stops at the first bad row.
	docs, recs, err = openAllErr(p, Options{MaxBytes: 50, Strict: true})
	var se *StrictError
	require.ErrorAs(t, err, &se)
	assert.ErrorIs(t, err, ErrEmptyText)
	assert.Equal(t, []string{"a"}, ids(docs))
	assert.Empty(t, recs)

	// No usable row at all is ErrNoDocuments, as for CSV and JSONL.
	p = writeParquet(t, "none.parquet", []opt{{s("a"), s(" ")}}, 0)
	_, _, err = openAllErr(p, Options{})
	assert.ErrorIs(t, err, ErrNoDocuments)
	assert.ErrorContains(t, err, "1 record rejected, at record 1")
	p = writeParquet(t, "empty.parquet", []pqDoc{}, 0)
	_, _, err = openAllErr(p, Options{})
	assert.ErrorIs(t, err, ErrNoDocuments)
}

// genDocs makes n documents from r, some of them bad in the ways the checks
// reject, all of them valid UTF-8 (JSON cannot carry anything else).
func genDocs(r *rand.Rand, n int) []pqDoc {
	alphabet := []rune("ab cdé\n\t\"\\日本🙂,{}")
	str := func(max int) string {
		var b strings.Builder
		for range r.IntN(max + 1) {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	docs := make([]pqDoc, n)
	for i := range docs {
		docs[i] = pqDoc{ID: fmt.Sprint(r.IntN(n * 2)), Text: str(40)}
		switch r.IntN(8) {
		case 0:
			docs[i].ID = str(3) // maybe empty or blank
		case 1:
			docs[i].Dataset = str(5)
		}
	}
	return docs
}

// FuzzParquetMatchesJSONL: the same documents written as JSONL and as
// Parquet read back as the same Documents with the same rejections.
func FuzzParquetMatchesJSONL(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 42} {
		f.Add(seed, uint8(30), uint8(7))
	}
	f.Fuzz(func(t *testing.T, seed uint64, n, group uint8) {
		rows := genDocs(rand.New(rand.NewPCG(seed, seed>>1)), int(n))
		var jl bytes.Buffer
		for _, d := range rows {
			m := map[string]string{"id": d.ID, "text": d.Text}
			if d.Dataset != "" {
				m["dataset"] = d.Dataset
			}
			b, err := json.Marshal(m)
			require.NoError(t, err)
			jl.Write(append(b, '\n'))
		}
		dir := t.TempDir()
		jp, pp := filepath.Join(dir, "d.jsonl"), filepath.Join(dir, "d.parquet")
		require.NoError(t, os.WriteFile(jp, jl.Bytes(), 0o644))
		require.NoError(t, os.WriteFile(pp, parquetBytes(t, rows, int(group)), 0o644))
		opts := Options{MaxBytes: 30}
		jdocs, jrecs, jerr := openAllErr(jp, opts)
		pdocs, precs, perr := openAllErr(pp, opts)
		assert.Equal(t, jdocs, pdocs)
		require.Equal(t, len(jrecs), len(precs))
		for i := range jrecs {
			var je, pe *RecordError
			require.ErrorAs(t, jrecs[i], &je)
			require.ErrorAs(t, precs[i], &pe)
			assert.Equal(t, je.Record, pe.Record)
			for _, kind := range []error{ErrEmptyID, ErrEmptyText, ErrDuplicateID, ErrTooLarge} {
				assert.Equal(t, errors.Is(je, kind), errors.Is(pe, kind), "record %d: %v vs %v", je.Record, je, pe)
			}
		}
		assert.Equal(t, errors.Is(jerr, ErrNoDocuments), errors.Is(perr, ErrNoDocuments), "%v vs %v", jerr, perr)
	})
}

// FuzzParquetBytes feeds damaged Parquet files to the reader: a corrupt
// download must come back as an error, never a crash or a bad document.
func FuzzParquetBytes(f *testing.F) {
	f.Add(parquetBytes(f, []pqDoc{{"a", "x", "d"}, {"b", "y", ""}}, 1))
	f.Add(parquetBytes(f, genDocs(rand.New(rand.NewPCG(1, 2)), 20), 6))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.parquet")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rc, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		src, err := openParquet(rc, p, Options{MaxBytes: 1 << 16})
		if err != nil {
			return
		}
		src = newChecked(src, p, Options{})
		defer src.Close()
		docs, _, _ := drain(t, src)
		for _, d := range docs {
			if d.ID == "" || strings.TrimSpace(d.Text) == "" {
				t.Fatalf("bad document %+v", d)
			}
		}
	})
}

// Damaged files are errors naming the file, never a crash: some single-byte
// changes make parquet-go panic, and a footer length past the file's size
// would make it allocate that much before looking.
func TestParquetDamagedFilesAreErrors(t *testing.T) {
	good := parquetBytes(t, []pqDoc{{"a", "x", "d"}, {"b", "y", ""}}, 1)
	dir := t.TempDir()
	read := func(data []byte) (docs []Document, final error) {
		p := filepath.Join(dir, "f.parquet")
		require.NoError(t, os.WriteFile(p, data, 0o644))
		docs, _, final = openAllErr(p, Options{})
		return docs, final
	}
	for i := range good {
		for _, b := range []byte{20, 0xff} {
			data := append([]byte(nil), good...)
			data[i] = b
			docs, _ := read(data)
			for _, d := range docs {
				assert.NotEmpty(t, d.ID)
				assert.NotEmpty(t, strings.TrimSpace(d.Text))
			}
		}
	}

	huge := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(huge[len(huge)-8:], 1<<31)
	_, err := read(huge)
	assert.ErrorContains(t, err, "f.parquet: not a readable Parquet file: footer of 2147483648 bytes does not fit")
	_, err = read(good[:len(good)-3])
	assert.ErrorContains(t, err, "no PAR1 at the end")
}

// countingFile counts the bytes read from a file at offsets.
type countingFile struct {
	*os.File
	n int64
}

func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.File.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// The reader streams: the first document costs the footer and a page or so
// of each column it reads, not the file, and a column it does not need is
// never read.
func TestParquetStreams(t *testing.T) {
	type wide struct {
		ID    string `parquet:"id"`
		Text  string `parquet:"text"`
		Extra string `parquet:"extra"` // large, and never needed
	}
	var rows []wide
	for i := range 2000 {
		rows = append(rows, wide{ID: fmt.Sprint(i), Text: fmt.Sprintf("Text number %d, a sentence of some length.", i),
			Extra: strings.Repeat(fmt.Sprint(i), 50)})
	}
	p := writeParquet(t, "wide.parquet", rows, 500)
	f, err := os.Open(p)
	require.NoError(t, err)
	st, _ := f.Stat()
	cf := &countingFile{File: f}
	src, err := openParquet(cf, p, Options{})
	require.NoError(t, err)
	defer src.Close()
	_, err = src.Next()
	require.NoError(t, err)
	assert.Less(t, cf.n, st.Size()/10, "read %d of %d bytes for the first document", cf.n, st.Size())
	n := 1
	for ; ; n++ {
		if _, err := src.Next(); err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
	}
	assert.Equal(t, len(rows), n)
	t.Logf("read %d of %d bytes", cf.n, st.Size())
	assert.Less(t, cf.n, st.Size()/2, "the extra column is never read: %d of %d bytes", cf.n, st.Size())
}
