package serve

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hallu-eval/hallu/scorers"
)

// The metrics are written by hand in Prometheus' text exposition format
// (version 0.0.4): a dozen counters, gauges and histograms do not justify
// client_golang's dependency tree in a single static binary, and the format
// is small and stable.

// histogram is a Prometheus histogram: cumulative counts per upper bound.
type histogram struct {
	mu     sync.Mutex
	bounds []float64
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

func newHistogram(bounds ...float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // first bound >= v: le is inclusive
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.count++
	h.mu.Unlock()
}

// latencyBounds suit a service answering in milliseconds to seconds.
var latencyBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// metrics is what /metrics shows.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64 // endpoint, code
	latency  map[string]*histogram

	batchSize     *histogram
	batchDuration *histogram
	queueWait     *histogram

	queueDepth      atomic.Int64
	inflightBatches atomic.Int64
	pairs           atomic.Uint64
	pairErrors      atomic.Uint64
	words           atomic.Uint64
	tokens          atomic.Uint64
	// countTokens counts a pair's tokens when the scorer can (see
	// TokenCounter); nil otherwise.
	countTokens func(scorers.Pair) int
}

func newMetrics(maxBatch int) *metrics {
	var sizes []float64
	for s := 1; s < maxBatch; s *= 2 {
		sizes = append(sizes, float64(s))
	}
	sizes = append(sizes, float64(maxBatch))
	return &metrics{
		requests:      map[[2]string]uint64{},
		latency:       map[string]*histogram{},
		batchSize:     newHistogram(sizes...),
		batchDuration: newHistogram(latencyBounds...),
		queueWait:     newHistogram(latencyBounds...),
	}
}

func (m *metrics) request(endpoint string, code int, seconds float64) {
	m.mu.Lock()
	m.requests[[2]string{endpoint, strconv.Itoa(code)}]++
	h := m.latency[endpoint]
	if h == nil {
		h = newHistogram(latencyBounds...)
		m.latency[endpoint] = h
	}
	m.mu.Unlock()
	h.observe(seconds)
}

// countPair accounts for one scored (or failed) pair.
func (m *metrics) countPair(p scorers.Pair, r scorers.Result) {
	if r.Err != nil {
		m.pairErrors.Add(1)
		return
	}
	m.pairs.Add(1)
	m.words.Add(uint64(len(strings.Fields(p.Source)) + len(strings.Fields(p.Summary))))
	switch {
	case r.Usage != nil:
		m.tokens.Add(uint64(r.Usage.PromptTokens + r.Usage.CompletionTokens))
	case m.countTokens != nil:
		m.tokens.Add(uint64(m.countTokens(p)))
	}
}

// info is the constant facts /metrics states about the server.
type info struct {
	identity scorers.Identity
	ready    bool
	maxQueue int
}

func (m *metrics) write(w io.Writer, in info) {
	p := &promWriter{w: w}
	p.family("hallu_serve_requests_total", "counter", "HTTP requests answered, by endpoint and status code.")
	m.mu.Lock()
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		p.sample("hallu_serve_requests_total", labels("endpoint", k[0], "code", k[1]), float64(m.requests[k]))
	}
	endpoints := make([]string, 0, len(m.latency))
	for e := range m.latency {
		endpoints = append(endpoints, e)
	}
	sort.Strings(endpoints)
	lat := make([]*histogram, len(endpoints))
	for i, e := range endpoints {
		lat[i] = m.latency[e]
	}
	m.mu.Unlock()

	p.family("hallu_serve_request_duration_seconds", "histogram", "Time from a request's arrival to its answer, by endpoint.")
	for i, e := range endpoints {
		p.histogram("hallu_serve_request_duration_seconds", labels("endpoint", e), lat[i])
	}
	p.family("hallu_serve_queue_wait_seconds", "histogram", "Time a pair waited in the queue before its batch went to the scorer.")
	p.histogram("hallu_serve_queue_wait_seconds", "", m.queueWait)
	p.family("hallu_serve_batch_duration_seconds", "histogram", "Time the scorer took for one batch.")
	p.histogram("hallu_serve_batch_duration_seconds", "", m.batchDuration)
	p.family("hallu_serve_batch_size", "histogram", "Pairs per batch sent to the scorer.")
	p.histogram("hallu_serve_batch_size", "", m.batchSize)

	p.family("hallu_serve_queue_depth", "gauge", "Pairs waiting for a batch.")
	p.sample("hallu_serve_queue_depth", "", float64(m.queueDepth.Load()))
	p.family("hallu_serve_queue_capacity", "gauge", "Pairs the queue holds before answering 429 (--max-queue).")
	p.sample("hallu_serve_queue_capacity", "", float64(in.maxQueue))
	p.family("hallu_serve_inflight_batches", "gauge", "Batches being scored now.")
	p.sample("hallu_serve_inflight_batches", "", float64(m.inflightBatches.Load()))
	p.family("hallu_serve_ready", "gauge", "1 when /readyz answers 200.")
	p.sample("hallu_serve_ready", "", b2f(in.ready))

	p.family("hallu_serve_pairs_scored_total", "counter", "Pairs scored.")
	p.sample("hallu_serve_pairs_scored_total", "", float64(m.pairs.Load()))
	p.family("hallu_serve_pair_errors_total", "counter", "Pairs the scorer failed on.")
	p.sample("hallu_serve_pair_errors_total", "", float64(m.pairErrors.Load()))
	p.family("hallu_serve_words_scored_total", "counter", "Whitespace-separated words of the sources and summaries scored.")
	p.sample("hallu_serve_words_scored_total", "", float64(m.words.Load()))
	p.family("hallu_serve_tokens_scored_total", "counter", "Model tokens of the pairs scored, where the scorer reports them (a judge's usage, or a scorer implementing serve.TokenCounter).")
	p.sample("hallu_serve_tokens_scored_total", "", float64(m.tokens.Load()))

	if in.identity.Name != "" {
		p.family("hallu_serve_scorer_info", "gauge", "The loaded scorer's identity, as judged records carry it.")
		p.sample("hallu_serve_scorer_info", labels("scorer", in.identity.Name, "version", in.identity.Version,
			"weights", in.identity.Weights, "key", in.identity.Key()), 1)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// promWriter writes the text exposition format.
type promWriter struct{ w io.Writer }

func (p *promWriter) family(name, typ, help string) {
	fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

func (p *promWriter) sample(name, lbls string, v float64) {
	if lbls != "" {
		lbls = "{" + lbls + "}"
	}
	fmt.Fprintf(p.w, "%s%s %s\n", name, lbls, formatFloat(v))
}

func (p *promWriter) histogram(name, lbls string, h *histogram) {
	h.mu.Lock()
	counts := append([]uint64(nil), h.counts...)
	sum, count := h.sum, h.count
	h.mu.Unlock()
	sep := ""
	if lbls != "" {
		sep = ","
	}
	var cum uint64
	for i, b := range h.bounds {
		cum += counts[i]
		p.sample(name+"_bucket", lbls+sep+labels("le", formatFloat(b)), float64(cum))
	}
	p.sample(name+"_bucket", lbls+sep+`le="+Inf"`, float64(count))
	p.sample(name+"_sum", lbls, sum)
	p.sample(name+"_count", lbls, float64(count))
}

// labels renders name="value" pairs, values escaped as the format asks.
func labels(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(escapeLabel(kv[i+1]))
		b.WriteByte('"')
	}
	return b.String()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
