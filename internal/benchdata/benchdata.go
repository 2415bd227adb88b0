// Package benchdata writes the judged-records file that the report and
// leaderboard benchmarks read: one fixture, so that their figures measure
// the same input.
package benchdata

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hallu-eval/hallu/results"
)

// SourceBytes is the length of every record's source: with a summary of up
// to 60 words, lines of about 1.2 KB.
const SourceBytes = 600

// Write writes records judged records to path, cycling over models models
// ("vendor/model-N") for each document; some summaries are too short to
// count, scores spread over [0,1]. It returns the file's size.
func Write(path string, records, models int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	source := strings.Repeat("The council approved the budget on Tuesday after a long debate. ", SourceBytes/64)
	words := strings.Fields("The council approved a budget of 4.2 million dollars on Tuesday after the mayor argued that roads and schools needed repair before winter and residents asked for more parks")
	var n int64
	line := make([]byte, 0, 4096)
	var sb strings.Builder
	for i := range records {
		d, m := i/models, i%models
		nw := 3 + (d*7+m)%60
		sb.Reset()
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

var (
	once sync.Once
	file string
	size int64
	werr error
)

// Judgments writes the fixture once per test binary, in a temporary
// directory that Remove deletes, and returns its path and size.
func Judgments(tb testing.TB, records, models int) (string, int64) {
	once.Do(func() {
		dir, err := os.MkdirTemp("", "hallu-bench-")
		if err != nil {
			werr = err
			return
		}
		file = filepath.Join(dir, results.JudgmentsFile)
		size, werr = Write(file, records, models)
	})
	if werr != nil {
		tb.Fatal(werr)
	}
	return file, size
}

// Remove deletes the fixture, if one was written; TestMain calls it.
func Remove() {
	if file != "" {
		os.RemoveAll(filepath.Dir(file))
	}
}
