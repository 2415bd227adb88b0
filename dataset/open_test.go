package dataset

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	sampleCSV   = "article_id,text\n1,One.\n2,Two.\n"
	sampleJSONL = `{"id":"1","text":"One."}` + "\n" + `{"id":"2","text":"Two."}` + "\n"
)

func openAll(t *testing.T, spec string, opts Options) []Document {
	t.Helper()
	src, err := Open(spec, opts)
	require.NoError(t, err)
	defer func() { require.NoError(t, src.Close()) }()
	docs, recErrs, final := drain(t, src)
	require.NoError(t, final)
	require.Empty(t, recErrs)
	return docs
}

func TestOpenByExtension(t *testing.T) {
	want := []Document{{ID: "1", Text: "One."}, {ID: "2", Text: "Two."}}
	for _, name := range []string{"d.csv", "D.CSV"} {
		assert.Equal(t, want, openAll(t, writeFile(t, name, sampleCSV), Options{}), name)
	}
	for _, name := range []string{"d.jsonl", "d.json", "d.ndjson", "D.JSONL"} {
		assert.Equal(t, want, openAll(t, writeFile(t, name, sampleJSONL), Options{}), name)
	}
}

func TestOpenGzip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.csv.gz")
	f, err := os.Create(p)
	require.NoError(t, err)
	zw := gzip.NewWriter(f)
	_, err = zw.Write([]byte(sampleCSV))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	assert.Len(t, openAll(t, p, Options{}), 2)

	_, err = Open(writeFile(t, "plain.jsonl.gz", sampleJSONL), Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "plain.jsonl.gz: gzip: invalid header")
}

func TestOpenForcedFormat(t *testing.T) {
	p := writeFile(t, "data.txt", sampleCSV)
	assert.Len(t, openAll(t, "csv:"+p, Options{}), 2)
	assert.Len(t, openAll(t, "CSV:"+p, Options{}), 2)
	p = writeFile(t, "data.csv", sampleJSONL) // the prefix beats the extension
	assert.Len(t, openAll(t, "jsonl:"+p, Options{}), 2)
	assert.Len(t, openAll(t, "json:"+p, Options{}), 2)
}

func TestOpenErrors(t *testing.T) {
	_, err := Open("", Options{})
	assert.ErrorContains(t, err, "empty spec")

	_, err = Open("xml:"+writeFile(t, "d.xml", "<a/>"), Options{})
	assert.ErrorContains(t, err, `unknown dataset format "xml" (known: csv, jsonl, parquet)`)

	_, err = Open(writeFile(t, "d.parquet", "x"), Options{})
	assert.ErrorContains(t, err, `d.parquet: not a readable Parquet file`)

	p := writeFile(t, "noext", sampleCSV)
	_, err = Open(p, Options{})
	assert.ErrorContains(t, err, "cannot tell the format from the file name; write csv:"+p)

	_, err = Open("csv:", Options{})
	assert.ErrorContains(t, err, `no path after "csv:"`)

	missing := filepath.Join(t.TempDir(), "missing.csv")
	_, err = Open(missing, Options{})
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorContains(t, err, missing)

	// Header problems surface at Open, with the path in the message.
	p = writeFile(t, "bad.csv", "id,body\n1,x\n")
	_, err = Open(p, Options{})
	assert.ErrorContains(t, err, "dataset "+p+" line 1: missing field \"text\"")
}

// A one-letter prefix is a drive letter and a path with a slash before the
// colon is a path, not FORMAT:PATH.
func TestResolve(t *testing.T) {
	for spec, want := range map[string][2]string{
		"builtin":         {"builtin", ""},
		"a.csv":           {"csv", "a.csv"},
		"x/b.JSON":        {"jsonl", "x/b.JSON"},
		"-":               {"auto", "-"},
		"csv:-":           {"csv", "-"},
		"tsv2:a.csv":      {"tsv2", "a.csv"},
		`C:\data\a.csv`:   {"csv", `C:\data\a.csv`},
		"./odd:name.csv":  {"csv", "./odd:name.csv"},
		"jsonl:a:b.jsonl": {"jsonl", "a:b.jsonl"},
		"dir/f.csv.gz":    {"csv", "dir/f.csv.gz"},
	} {
		format, path, err := resolve(spec)
		require.NoError(t, err, spec)
		assert.Equal(t, want, [2]string{format, path}, spec)
	}
}

func TestOpenStdin(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	old := os.Stdin
	os.Stdin = r
	t.Cleanup(func() { os.Stdin = old; r.Close() })
	go func() {
		w.Write([]byte(sampleCSV))
		w.Close()
	}()
	src, err := Open("csv:-", Options{})
	require.NoError(t, err)
	docs, _, final := drain(t, src)
	require.NoError(t, final)
	assert.Len(t, docs, 2)
	require.NoError(t, src.Close())
	// Closing the source leaves the process's stdin open.
	_, err = r.Stat()
	assert.NoError(t, err)

	_, err = Fingerprint("-")
	assert.ErrorContains(t, err, "cannot fingerprint standard input")
	info, err := Describe("-")
	require.NoError(t, err)
	assert.Equal(t, Info{Spec: "-", Format: "auto", Path: "-"}, info)
}

func TestDescribeAndFingerprint(t *testing.T) {
	p := writeFile(t, "d.jsonl", sampleJSONL)
	sum := sha256.Sum256([]byte(sampleJSONL))
	fp, err := Fingerprint(p)
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(sum[:]), fp)

	info, err := Describe("jsonl:" + p)
	require.NoError(t, err)
	assert.Equal(t, Info{Spec: "jsonl:" + p, Format: "jsonl", Path: p, SHA256: fp, Bytes: int64(len(sampleJSONL))}, info)

	b1, err := Fingerprint("builtin")
	require.NoError(t, err)
	sum = sha256.Sum256([]byte(builtinData))
	assert.Equal(t, hex.EncodeToString(sum[:]), b1)

	_, err = Fingerprint(filepath.Join(t.TempDir(), "gone.csv"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
