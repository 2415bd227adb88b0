// Package testutil holds what several packages' tests share.
package testutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hallu-eval/hallu/results"
)

// SharedTestdata returns ../shared/testdata/sub beside the module root (the
// directory holding go.mod). The fixtures there are never committed; a test
// that needs them is skipped only when they are absent, never otherwise.
func SharedTestdata(tb testing.TB, sub string) string {
	tb.Helper()
	p := filepath.Join(ModuleRoot(tb), "..", "shared", "testdata", sub)
	if _, err := os.Stat(p); os.IsNotExist(err) {
		tb.Skipf("%s is absent", p)
	}
	return p
}

// ModuleRoot walks up from the test's directory to the one holding go.mod.
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// ReadRecords reads every record of a results file, failing the test on a
// bad line.
func ReadRecords(tb testing.TB, path string) []*results.Record {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	return DecodeRecords(tb, f, path)
}

// DecodeRecords reads every record of r (name is used in errors).
func DecodeRecords(tb testing.TB, r io.Reader, name string) []*results.Record {
	tb.Helper()
	rd := results.NewReader(r, name)
	var recs []*results.Record
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, rec)
	}
}
