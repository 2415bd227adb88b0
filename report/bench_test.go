package report

import (
	"bufio"

	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/results"
)

const (
	benchModels = 10
	benchDocs   = 100_000
	// A judged record carries its source; 600 bytes (~100 words) plus a
	// 60-word summary makes lines of about 1.2 KB.
	benchSourceBytes = 600
)

var (
	benchOnce sync.Once
	benchFile string
	benchSize int64
	benchErr  error
)

// benchJudgments writes 10 models × 100k judged records once per test
// binary run (the directory outlives the benchmark's iterations).
func benchJudgments(b *testing.B) (string, int64) {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hallu-bench-")
		if err != nil {
			benchErr = err
			return
		}
		benchFile = filepath.Join(dir, results.JudgmentsFile)
		benchSize, benchErr = writeBenchJudgments(benchFile)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFile, benchSize
}

func writeBenchJudgments(path string) (int64, error) {
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
	for d := range benchDocs {
		for m := range benchModels {
			nw := 3 + (d*7+m)%60 // some summaries too short to count
			summary := strings.Join(words[:min(nw, len(words))], " ")
			for i := len(words); i < nw; i++ {
				summary += " " + words[i%len(words)]
			}
			line = line[:0]
			line = append(line, `{"schema":1,"doc_id":"doc-`...)
			line = strconv.AppendInt(line, int64(d), 10)
			line = append(line, `","dataset":"bench","source":"`...)
			line = append(line, source...)
			line = append(line, `","model":"vendor/model-`...)
			line = strconv.AppendInt(line, int64(m), 10)
			line = append(line, `","prompt_hash":"9f86d081","summary":`...)
			line = strconv.AppendQuote(line, summary)
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
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return n, f.Close()
}

// BenchmarkReport1M times what `hallu report FILE` does with a million
// judged records: read, decode, aggregate, write the table.
func BenchmarkReport1M(b *testing.B) {
	path, size := benchJudgments(b)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a := leaderboard.NewAggregator()
		if err := a.ReadInput(leaderboard.Input{Path: path}, nil); err != nil {
			b.Fatal(err)
		}
		rows := a.Stats()
		if len(rows) != benchModels || rows[0].Documents != benchDocs {
			b.Fatalf("got %d models, %d docs", len(rows), rows[0].Documents)
		}
		if err := Write(io.Discard, "table", rows, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchModels*benchDocs), "records/op")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFile != "" {
		os.RemoveAll(filepath.Dir(benchFile))
	}
	os.Exit(code)
}
