package leaderboard

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/benchdata"
	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/results"
)

func writeRecords(t testing.TB, path string, recs ...*results.Record) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	f, err := os.Create(path)
	require.NoError(t, err)
	w := results.NewWriter(f)
	for _, r := range recs {
		require.NoError(t, w.Write(r))
	}
	require.NoError(t, f.Close())
}

func encode(t testing.TB, recs ...*results.Record) []byte {
	var buf bytes.Buffer
	w := results.NewWriter(&buf)
	for _, r := range recs {
		require.NoError(t, w.Write(r))
	}
	return buf.Bytes()
}

// Reading through the parallel decoder must give what Add gives record by
// record, across many batches.
func TestReadJSONLMatchesAdd(t *testing.T) {
	var recs []*results.Record
	for i := range 3*batchLines + 17 {
		score := float64(i%10) / 9
		r := rec(fmt.Sprint("m", i%3), fmt.Sprint(i), strings.Repeat("word ", i%9), &score)
		r.LatencyMS = float64(i % 97)
		if i%50 == 0 {
			r.Error = &results.Error{Class: errclass.RateLimit, Message: "429"}
		}
		recs = append(recs, r)
	}
	want := NewAggregator()
	for _, r := range recs {
		require.NoError(t, want.Add(r))
	}
	data := encode(t, recs...)
	// Blank lines and CRLF endings are tolerated.
	data = bytes.Replace(data, []byte("\n"), []byte("\r\n\n"), 5)
	got := NewAggregator()
	require.NoError(t, got.ReadJSONL(bytes.NewReader(data), "x"))
	assert.Equal(t, dump(want.Stats()), dump(got.Stats()))
}

func TestReadJSONLLongLine(t *testing.T) {
	r := rec("m", "d", sixWords, ptr(0.7))
	r.Source = strings.Repeat("long source text ", 100_000) // 1.7 MB, past the read buffer
	a := NewAggregator()
	require.NoError(t, a.ReadJSONL(bytes.NewReader(encode(t, r, rec("m", "e", sixWords, ptr(0.2)))), "x"))
	assert.Equal(t, 2, a.Stats()[0].Judged)
}

func TestReadJSONLErrorsNameLine(t *testing.T) {
	good := encode(t, rec("m", "a", sixWords, ptr(0.9)))
	cases := map[string]string{
		`{"schema":1,"doc_id":"b","model":"m","judgment":{"score":1.5}}`: "outside [0,1]",
		`{"schema":1,"doc_id":"b"}`:                                      `no "model"`,
		`{"schema":1,"model":"m"}`:                                       `no "doc_id"`,
		`{"doc_id":"b","model":"m"}`:                                     `no "schema"`,
		`{"schema":9,"doc_id":"b","model":"m"}`:                          "newer",
		`{"schema":1,"doc_id":"b","model":"m","summary":`:                "not a hallu record",
		`{"schema":1,"doc_id":"b","model":"m","latency_ms":"slow"}`:      "not a hallu record",
		string(bytes.TrimSpace(good)):                                    "duplicate",
	}
	for bad, want := range cases {
		// The bad line comes after enough good lines to sit in a later batch.
		var data bytes.Buffer
		for i := range batchLines + 5 {
			data.Write(encode(t, rec("n", fmt.Sprint(i), sixWords, ptr(0.9))))
		}
		data.Write(good)
		data.WriteString("\n" + bad + "\n")
		data.Write(encode(t, rec("m", "z", sixWords, ptr(0.9))))
		err := NewAggregator().ReadJSONL(&data, "results.jsonl")
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), fmt.Sprintf("results.jsonl line %d: ", batchLines+8), bad)
		assert.Contains(t, err.Error(), want, bad)
	}
}

func TestInputsJudgmentsSupersedeGenerations(t *testing.T) {
	dir := t.TempDir()
	gen := rec("a", "d1", sixWords, nil)
	judged := rec("a", "d1", sixWords, ptr(0.2))
	writeRecords(t, filepath.Join(dir, "a", results.GenerationsFile), gen)
	writeRecords(t, filepath.Join(dir, "a", results.JudgmentsFile), judged)
	// b has not been scored yet: its generations are read.
	writeRecords(t, filepath.Join(dir, "b", results.GenerationsFile), rec("b", "d1", sixWords, nil))
	require.NoError(t, os.WriteFile(filepath.Join(dir, results.ManifestFile), []byte(`{}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a", ".judgments.jsonl.resume-1"), []byte("torn"), 0o644))
	// A dataset kept next to the results is not hallu output.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docs.jsonl"), []byte(`{"id":"1","text":"x"}`+"\n"), 0o644))

	inputs, err := Inputs([]string{dir})
	require.NoError(t, err)
	var names []string
	for _, in := range inputs {
		rel, _ := filepath.Rel(dir, in.Path)
		names = append(names, rel)
		assert.True(t, in.Found)
	}
	assert.Equal(t, []string{"a/judgments.jsonl", "b/generations.jsonl", "docs.jsonl"}, names)

	a := NewAggregator()
	var skipped []string
	for _, in := range inputs {
		err := a.ReadInput(in, nil)
		if errors.Is(err, ErrNotRecords) {
			skipped = append(skipped, filepath.Base(in.Path))
			continue
		}
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"docs.jsonl"}, skipped)
	rows := a.Stats()
	require.Len(t, rows, 2)
	assert.Equal(t, "a", rows[0].Model)
	assert.Equal(t, 1, rows[0].Judged)
	assert.Equal(t, 1, rows[1].Unjudged)

	// A file named on the command line is read even if it is not records,
	// and then fails.
	err = NewAggregator().ReadInput(Input{Path: filepath.Join(dir, "docs.jsonl")}, nil)
	assert.ErrorContains(t, err, `docs.jsonl line 1: not a hallu record: no "schema"`)

	_, err = Inputs([]string{t.TempDir()})
	assert.ErrorContains(t, err, "no *.jsonl")
	_, err = Inputs([]string{filepath.Join(dir, "missing.jsonl")})
	assert.Error(t, err)
}

func TestReadInputStdin(t *testing.T) {
	a := NewAggregator()
	require.NoError(t, a.ReadInput(Input{Path: "-"}, bytes.NewReader(encode(t, rec("m", "1", sixWords, ptr(0.3))))))
	assert.Equal(t, 1, a.Stats()[0].Hallucinated)
	err := NewAggregator().ReadInput(Input{Path: "-"}, strings.NewReader("{}\n"))
	assert.ErrorContains(t, err, "stdin line 1")
}

// dump renders rows for comparison: NaN, which marks an undefined rate, is
// never equal to itself in the structs.
func dump(rows []ModelStats) string { return fmt.Sprintf("%+v", rows) }

// countingReader counts the bytes read through it and calls at once when
// the count first passes after.
type countingReader struct {
	r     io.Reader
	n     int
	after int
	at    func()
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += k
	if c.at != nil && c.n > c.after {
		c.at()
		c.at = nil
	}
	return k, err
}

// smallLine is a valid judged record of about a hundred bytes.
func smallLine(i int) string {
	return fmt.Sprintf(`{"schema":1,"doc_id":"d%d","model":"m%d","summary":"one two three four five six","latency_ms":%d,"judgment":{"scorer":"test","score":0.%d}}`, i, i%4, 1+i%300, i%10)
}

func totalDocs(a *Aggregator) int {
	n := 0
	for _, r := range a.Stats() {
		n += r.Documents
	}
	return n
}

// A bad line deep inside a stream of many batches is named by its line
// number in the stream (blank lines counted), the records before it are all
// counted and none after it, the first of two bad lines wins, reading stops
// soon after it, and no more batches are alive at once than the pool's
// window allows.
func TestReadJSONLBadLineMidStream(t *testing.T) {
	workers := runtime.GOMAXPROCS(0)
	// Far more batches than the window holds, so that reading to the end
	// after the bad line would show.
	batches := 6*workers + 16
	badAt := 3*batchLines + 123 // a record in the fourth batch
	var data strings.Builder
	line, badLine := 0, 0
	for i := range batches * batchLines {
		if i%97 == 0 {
			data.WriteString("\n") // blank lines count as lines
			line++
		}
		line++
		switch i {
		case badAt:
			data.WriteString(`{"schema":1,"doc_id":"bad","model":"m0","judgment":{"score":7}}` + "\n")
			badLine = line
		case badAt + batchLines: // in a later batch, never reported
			data.WriteString("{not json\n")
		default:
			data.WriteString(smallLine(i) + "\n")
		}
	}
	in := &countingReader{r: strings.NewReader(data.String())}
	s := &splitter{br: bufio.NewReaderSize(in, 256<<10), name: "big.jsonl"}
	a := NewAggregator()
	err := a.readBatches(context.Background(), s)

	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("big.jsonl line %d: ", badLine))
	assert.Contains(t, err.Error(), "outside [0,1]")
	assert.Equal(t, badAt, totalDocs(a), "records before the bad line, and only those")
	assert.Less(t, in.n, data.Len()/2, "reading went on long after the bad line")
	assert.LessOrEqual(t, s.peak.Load(), int64(2*workers), "more batches alive than the window")
	assert.Positive(t, s.peak.Load())
}

// A file of long records, cut into batches by size rather than line count,
// aggregates to what Add gives for the same records one by one.
func TestReadInputMatchesSequentialAdd(t *testing.T) {
	path := filepath.Join(t.TempDir(), results.JudgmentsFile)
	const records = 5000 // ~1.2 KB each: six batches of a megabyte
	_, err := benchdata.Write(path, records, 10)
	require.NoError(t, err)

	want := NewAggregator()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rd := results.NewReader(f, path)
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		require.NoError(t, want.Add(r))
	}
	require.Equal(t, records, totalDocs(want))

	got := NewAggregator()
	require.NoError(t, got.ReadInput(Input{Path: path}, nil))
	assert.Equal(t, dump(want.Stats()), dump(got.Stats()))
}

// Cancelling stops the read between lines: the error names the stream and
// wraps ctx's, what was counted stays counted, and the rest of the stream
// is not read.
func TestReadJSONLContextCancel(t *testing.T) {
	var data strings.Builder
	for i := range 20 * batchLines {
		data.WriteString(smallLine(i) + "\n")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	in := &countingReader{r: strings.NewReader(data.String()), after: 1 << 20, at: cancel}
	a := NewAggregator()
	err := a.ReadJSONLContext(ctx, in, "stdin")
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "stdin: ")
	// At most the bufio.Reader's fill beyond the point of cancellation.
	assert.Less(t, in.n, 2<<20)
	assert.Less(t, totalDocs(a), 20*batchLines)

	// Cancelled before the start, nothing is read.
	in = &countingReader{r: strings.NewReader(data.String())}
	err = NewAggregator().ReadJSONLContext(ctx, in, "stdin")
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, in.n)
}
