package judge

import (
	"context"
	"strings"
	"testing"

	"github.com/hallu-eval/hallu/scorers"
)

func BenchmarkParseVerdictMessy(b *testing.B) {
	text := "Sure! Here is my assessment:\n```json\n{\"supported\": false, \"reason\": \"the summary's date is invented\"}\n```\nHope this helps."
	for b.Loop() {
		if _, err := parseVerdict(text); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJudgeVerdictLoopback is the judge's own cost per pair against
// an instant fake server on 127.0.0.1 (request building, JSON, parsing).
func BenchmarkJudgeVerdictLoopback(b *testing.B) {
	f := newFake(b, always(`{"supported": true, "reason": "ok"}`))
	j, err := Open(scorers.Options{"endpoint": f.URL + "/v1", "model": "m", "concurrency": "4"})
	if err != nil {
		b.Fatal(err)
	}
	pairs := make([]scorers.Pair, 16)
	for i := range pairs {
		pairs[i] = scorers.Pair{ID: "x", Source: strings.Repeat("The river is 12 km long. ", 40), Summary: "The river is 12 km long."}
	}
	b.ResetTimer()
	for b.Loop() {
		res, err := j.Score(context.Background(), pairs)
		if err != nil || res[0].Err != nil {
			b.Fatal(err, res[0].Err)
		}
	}
	b.ReportMetric(float64(b.N*len(pairs))/b.Elapsed().Seconds(), "pairs/s")
}
