package report

import (
	"io"
	"os"
	"testing"

	"github.com/hallu-eval/hallu/internal/benchdata"
	"github.com/hallu-eval/hallu/leaderboard"
)

const (
	benchModels = 10
	benchDocs   = 100_000
)

// BenchmarkReport1M times what `hallu report FILE` does with a million
// judged records: read, decode, aggregate, write the table.
func BenchmarkReport1M(b *testing.B) {
	path, size := benchdata.Judgments(b, benchDocs*benchModels, benchModels)
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
	benchdata.Remove()
	os.Exit(code)
}
