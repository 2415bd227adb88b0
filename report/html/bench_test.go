package htmlreport

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/refmodel"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers/overlap"
)

// bigRun is models × docs judged records: the builtin documents repeated
// under new ids, summarized by the builtin models in turn.
func bigRun(b *testing.B, models, docs int) []*results.Record {
	src, err := dataset.Open(dataset.BuiltinSpec, dataset.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var texts []string
	for {
		d, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		texts = append(texts, d.Text)
	}
	var recs []*results.Record
	for m := range models {
		base := refmodel.Models()[m%2]
		for i := range docs {
			text := texts[i%len(texts)]
			sum, _, err := refmodel.Summarize(base, text)
			if err != nil {
				b.Fatal(err)
			}
			score, expl := overlap.Judge(text, sum)
			recs = append(recs, &results.Record{Schema: 1, Model: fmt.Sprintf("model-%02d", m), DocID: fmt.Sprintf("d%05d", i),
				Source: text, Summary: sum, LatencyMS: float64(100 + i%300),
				Judgment: &results.Judgment{Scorer: overlap.Name, Score: &score, Explanation: expl}})
		}
	}
	return recs
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// BenchmarkWrite renders a 10-model, 1000-document run with the default
// drill-down cap: collecting every record, then writing the page.
func BenchmarkWrite(b *testing.B) {
	recs := bigRun(b, 10, 1000)
	agg := leaderboard.NewAggregator()
	for _, r := range recs {
		if err := agg.Add(r); err != nil {
			b.Fatal(err)
		}
	}
	stats := agg.Stats()
	b.ResetTimer()
	var size int64
	for b.Loop() {
		col := NewCollector(0)
		for _, r := range recs {
			col.Add(r)
		}
		var w countWriter
		if err := Write(&w, Input{Stats: stats, Docs: col.Models(), MaxDocs: DefaultMaxDocs}); err != nil {
			b.Fatal(err)
		}
		size = w.n
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB/page")
}
