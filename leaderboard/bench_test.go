package leaderboard

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hallu-eval/hallu/results"
)

// benchRecords sizes the fixture. The report package's BenchmarkReport1M
// reads a million records (1.2 GB); 100k keeps a run here to a minute on a
// small shared machine while still passing ~60 batches through the decoder.
var benchRecords = flag.Int("leaderboard.records", 100_000, "judged records in the BenchmarkRead fixture")

const (
	benchModels = 10
	// ~600 bytes of source plus a summary of up to 60 words: lines of about
	// 1.2 KB, like the report benchmark's.
	benchSourceBytes = 600
)

var (
	benchOnce sync.Once
	benchFile string
	benchSize int64
	benchErr  error
)

// benchJudgments writes the fixture once per test binary run; TestMain
// removes it.
func benchJudgments(b *testing.B) (string, int64) {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hallu-leaderboard-bench-")
		if err != nil {
			benchErr = err
			return
		}
		benchFile = filepath.Join(dir, results.JudgmentsFile)
		benchSize, benchErr = writeBenchJudgments(benchFile, *benchRecords)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFile, benchSize
}

func writeBenchJudgments(path string, records int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	source := strings.Repeat("The council approved the budget on Tuesday after a long debate. ", benchSourceBytes/64)
	words := strings.Fields("The council approved a budget of 4.2 million dollars on Tuesday after the mayor argued that roads and schools needed repair before winter and residents asked for more parks")
	var n int64
	line := make([]byte, 0, 4096)
	for i := range records {
		d, m := i/benchModels, i%benchModels
		nw := 3 + (d*7+m)%60 // some summaries too short to count
		var sb strings.Builder
		for w := range nw {
			if w > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(words[w%len(words)])
		}
		line = line[:0]
		line = append(line, `{"schema":1,"doc_id":"doc-`...)
		line = strconv.AppendInt(line, int64(d), 10)
		line = append(line, `","dataset":"bench","source":"`...)
		line = append(line, source...)
		line = append(line, `","model":"vendor/model-`...)
		line = strconv.AppendInt(line, int64(m), 10)
		line = append(line, `","prompt_hash":"9f86d081","summary":`...)
		line = strconv.AppendQuote(line, sb.String())
		line = append(line, `,"finish_reason":"stop","latency_ms":`...)
		line = strconv.AppendFloat(line, 200+float64((d*31+m*17)%5000)/3, 'f', 3, 64)
		line = append(line, `,"usage":{"prompt_tokens":`...)
		line = strconv.AppendInt(line, int64(150+d%300), 10)
		line = append(line, `,"completion_tokens":`...)
		line = strconv.AppendInt(line, int64(nw*4/3), 10)
		line = append(line, `},"attempts":1,"started_at":"2026-03-01T12:00:00Z","ended_at":"2026-03-01T12:00:01Z","judgment":{"scorer":"hhem","scorer_version":"2.1-open","score":`...)
		line = strconv.AppendFloat(line, float64((d*13+m*29)%1000)/999, 'f', 6, 64)
		line = append(line, `,"at":"2026-03-01T12:00:02Z"}}`+"\n"...)
		k, err := bw.Write(line)
		if err != nil {
			return 0, err
		}
		n += int64(k)
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return n, f.Close()
}

// BenchmarkRead times what `hallu report FILE` spends before rendering:
// open, split, decode on all CPUs, aggregate in order, compute the rows.
func BenchmarkRead(b *testing.B) {
	path, size := benchJudgments(b)
	records := *benchRecords
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		a := NewAggregator()
		if err := a.ReadInput(Input{Path: path}, nil); err != nil {
			b.Fatal(err)
		}
		rows := a.Stats()
		judged := 0
		for _, r := range rows {
			judged += r.Documents
		}
		if judged != records {
			b.Fatalf("counted %d records of %d", judged, records)
		}
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFile != "" {
		os.RemoveAll(filepath.Dir(benchFile))
	}
	os.Exit(code)
}
