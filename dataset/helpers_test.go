package dataset

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// openString opens content with a registered format, named name in errors.
func openString(t testing.TB, format, name, content string, opts Options) Source {
	t.Helper()
	f, err := lookupFormat(format)
	require.NoError(t, err)
	src, err := f(io.NopCloser(strings.NewReader(content)), name, opts)
	require.NoError(t, err)
	return src
}

// drain reads src to the end, collecting documents and per-record errors.
// It stops at io.EOF or at the first error that is not a *RecordError,
// which it returns.
func drain(t testing.TB, src Source) (docs []Document, recErrs []error, final error) {
	t.Helper()
	for i := 0; i < 1e7; i++ {
		d, err := src.Next()
		var re *RecordError
		switch {
		case err == nil:
			docs = append(docs, d)
		case errors.Is(err, io.EOF):
			return docs, recErrs, nil
		case errors.As(err, &re):
			recErrs = append(recErrs, err)
		default:
			return docs, recErrs, err
		}
	}
	t.Fatal("source never ended")
	return
}

// only reads a source expected to yield exactly one error and nothing else.
func onlyError(t *testing.T, src Source) error {
	t.Helper()
	docs, recErrs, final := drain(t, src)
	require.Empty(t, docs)
	require.NoError(t, final)
	require.Len(t, recErrs, 1)
	return recErrs[0]
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func ids(docs []Document) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID
	}
	return out
}

// benchFormat measures reading every document of data with a format.
func benchFormat(b *testing.B, format, name, data string) {
	f, err := lookupFormat(format)
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		src, err := f(io.NopCloser(strings.NewReader(data)), name, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := src.Next(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
		}
	}
}
