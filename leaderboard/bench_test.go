package leaderboard

import (
	"flag"
	"os"
	"testing"

	"github.com/hallu-eval/hallu/internal/benchdata"
)

// benchRecords sizes the fixture. The report package's BenchmarkReport1M
// reads a million records (1.2 GB); 100k keeps a run here to a minute on a
// small shared machine while still passing ~60 batches through the decoder.
var benchRecords = flag.Int("leaderboard.records", 100_000, "judged records in the BenchmarkRead fixture")

const benchModels = 10

// BenchmarkRead times what `hallu report FILE` spends before rendering:
// open, split, decode on all CPUs, aggregate in order, compute the rows.
func BenchmarkRead(b *testing.B) {
	path, size := benchdata.Judgments(b, *benchRecords, benchModels)
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
	benchdata.Remove()
	os.Exit(code)
}
