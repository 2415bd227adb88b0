package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/results"
)

// benchServer answers every chat request after latency with a fixed reply.
func benchServer(b *testing.B, latency time.Duration) string {
	reply, _ := json.Marshal(map[string]any{
		"id": "x", "object": "chat.completion", "model": "m",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": "A short summary."}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 500, "completion_tokens": 20},
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if latency > 0 {
			time.Sleep(latency)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(reply)
	}))
	b.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

// bigSource yields n documents of about 2 KB each, made on demand, so a
// runner that kept them would show it in the heap.
type bigSource struct{ n, i int }

var bigText = strings.Repeat("The council approved a budget of 12 million for the new bridge. ", 32)

func (s *bigSource) Next() (dataset.Document, error) {
	if s.i >= s.n {
		return dataset.Document{}, io.EOF
	}
	s.i++
	return dataset.Document{ID: fmt.Sprint("doc-", s.i), Text: fmt.Sprint(s.i, ": ", bigText)}, nil
}

func (s *bigSource) Close() error { return nil }

// BenchmarkGenerate2000 measures scheduling overhead: 2,000 documents at
// 50 ms each through 64 workers ideally take 2000*50ms/64 = 1.5625 s.
func BenchmarkGenerate2000(b *testing.B) {
	const (
		n           = 2000
		latency     = 50 * time.Millisecond
		concurrency = 64
	)
	ideal := time.Duration(n) * latency / concurrency
	// On a loaded machine a loopback request takes longer than the server's
	// sleep; the sum of measured latencies separates that from the runner's
	// own overhead (scheduling, encoding, writing).
	var latencyUS atomic.Int64
	cfg := GenerateConfig{Endpoint: benchServer(b, latency), Model: "bench", Concurrency: concurrency, MaxRetries: -1,
		Annotate: func(_ dataset.Document, rec *results.Record) { latencyUS.Add(int64(rec.LatencyMS * 1000)) }}
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		st, err := Generate(context.Background(), &bigSource{n: n}, results.NewWriter(io.Discard).Write, cfg)
		total += time.Since(start)
		if err != nil || st.Done != n {
			b.Fatalf("stats %+v, err %v", st, err)
		}
	}
	wall := total / time.Duration(b.N)
	measured := time.Duration(latencyUS.Load()/int64(b.N)) * time.Microsecond / concurrency
	b.ReportMetric(wall.Seconds(), "wall_s")
	b.ReportMetric(100*ideal.Seconds()/wall.Seconds(), "%_of_ideal")
	b.ReportMetric(float64(latencyUS.Load())/1000/float64(b.N*n), "ms/request")
	b.ReportMetric(100*measured.Seconds()/wall.Seconds(), "%_of_ideal_at_measured_latency")
}

// BenchmarkGenerateMemory checks that peak heap does not grow with the
// dataset: the runner holds O(concurrency) documents.
func BenchmarkGenerateMemory(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint("docs=", n), func(b *testing.B) {
			cfg := GenerateConfig{Endpoint: benchServer(b, 0), Model: "bench", Concurrency: 16, MaxRetries: -1}
			var peak uint64
			for b.Loop() {
				runtime.GC()
				stop := make(chan struct{})
				done := make(chan uint64)
				go func() {
					var ms runtime.MemStats
					var max uint64
					t := time.NewTicker(10 * time.Millisecond)
					defer t.Stop()
					for {
						runtime.ReadMemStats(&ms)
						max = maxU(max, ms.HeapInuse)
						select {
						case <-stop:
							done <- max
							return
						case <-t.C:
						}
					}
				}()
				st, err := Generate(context.Background(), &bigSource{n: n}, results.NewWriter(io.Discard).Write, cfg)
				close(stop)
				peak = maxU(peak, <-done)
				if err != nil || st.Done != n {
					b.Fatalf("stats %+v, err %v", st, err)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak_heap_MB")
		})
	}
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
