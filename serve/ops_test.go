package serve_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
	"github.com/hallu-eval/hallu/serve"
)

func TestShutdownDrainsRequestsInFlight(t *testing.T) {
	hs := &hashScorer{gate: make(chan struct{})}
	s, err := serve.New(serve.Config{MaxBatch: 2, Grace: time.Minute})
	require.NoError(t, err)
	s.SetScorer(hs)
	url, stop := listen(t, s)
	pairs := testPairs(5)
	var wg sync.WaitGroup
	got := make([]serve.EvaluateResponse, len(pairs))
	codes := make([]int, len(pairs))
	for i, p := range pairs {
		wg.Go(func() {
			resp, raw := post(t, http.DefaultClient, url+"/v2/evaluate_factual_consistency", evalBody(p.Summary, p.Source))
			codes[i] = resp.StatusCode
			json.Unmarshal(raw, &got[i])
		})
	}
	// All five are in: one batch at the gate, the rest queued.
	require.Eventually(t, func() bool { return hs.calls.Load() == 1 && int(hs.pairs.Load())+queued(t, url) == 5 }, testWait, pollEvery)

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	addr := strings.TrimPrefix(url, "http://")
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, testWait, pollEvery, "the listener closes at once")
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) with requests in flight", err)
	default:
	}
	close(hs.gate)
	require.NoError(t, <-stopped, "a full drain is a clean exit")
	wg.Wait()
	for i, p := range pairs {
		assert.Equal(t, http.StatusOK, codes[i], "request %d was answered", i)
		assert.Equal(t, hashScore(p), got[i].Score, "request %d", i)
	}
}

func TestShutdownCutsOffAfterGrace(t *testing.T) {
	hs := &hashScorer{gate: make(chan struct{})} // never opened
	s, err := serve.New(serve.Config{Grace: 20 * time.Millisecond})
	require.NoError(t, err)
	s.SetScorer(hs)
	url, stop := listen(t, s)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(url+"/v2/evaluate_factual_consistency", "application/json", strings.NewReader(`{"generated_text":"x","source_texts":["s"]}`))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return hs.calls.Load() == 1 }, testWait, pollEvery)
	assert.ErrorIs(t, stop(), serve.ErrGraceExpired)
	assert.Error(t, <-done, "the request still in flight was cut off")
}

// sample is one line of the exposition format.
var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// parseMetrics checks the text exposition format as Prometheus reads it
// and returns each sample's value by its name and labels.
func parseMetrics(t testing.TB, body []byte) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	typed := map[string]string{}
	helped := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, _, _ := strings.Cut(f, " ")
			require.False(t, helped[name], "one HELP per family: %s", name)
			helped[name] = true
			continue
		}
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(f, " ")
			require.Contains(t, []string{"counter", "gauge", "histogram"}, typ)
			require.NotContains(t, typed, name, "one TYPE per family")
			typed[name] = typ
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		require.NotNil(t, m, "not a sample line: %q", line)
		family := m[1]
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(family, suf); ok && typed[b] == "histogram" {
				family = b
			}
		}
		require.Contains(t, typed, family, "sample %s before its TYPE", m[1])
		v, err := strconv.ParseFloat(m[3], 64)
		require.NoError(t, err, line)
		out[m[1]+m[2]] = v
	}
	return out
}

func TestMetricsCountWhatHappened(t *testing.T) {
	hs := &hashScorer{}
	_, ts := newTestServer(t, serve.Config{MaxBatch: 4}, hs)
	pairs := testPairs(10)
	var wg sync.WaitGroup
	for _, p := range pairs {
		wg.Go(func() {
			resp, _ := post(t, ts.Client(), ts.URL+"/v2/evaluate_factual_consistency", evalBody(p.Summary, p.Source))
			assert.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
	wg.Wait()
	resp, _ := post(t, ts.Client(), ts.URL+"/v1/score", `{"pairs": [{"source": "a b", "summary": "c"}, {"source": "d", "summary": "e f"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = post(t, ts.Client(), ts.URL+"/v1/score", `{`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	code, body := get(t, ts.URL+"/metrics")
	require.Equal(t, http.StatusOK, code)
	m := parseMetrics(t, body)
	assert.Equal(t, 10.0, m[`hallu_serve_requests_total{endpoint="evaluate_factual_consistency",code="200"}`])
	assert.Equal(t, 1.0, m[`hallu_serve_requests_total{endpoint="score",code="200"}`])
	assert.Equal(t, 1.0, m[`hallu_serve_requests_total{endpoint="score",code="400"}`])
	assert.Equal(t, 12.0, m["hallu_serve_pairs_scored_total"])
	assert.Equal(t, 12.0, m["hallu_serve_batch_size_sum"], "every pair went through one batch")
	assert.Equal(t, float64(hs.calls.Load()), m["hallu_serve_batch_size_count"], "one observation per scorer call")
	assert.Equal(t, 0.0, m["hallu_serve_queue_depth"])
	assert.Equal(t, 1.0, m["hallu_serve_ready"])
	assert.Equal(t, 1.0, m[`hallu_serve_scorer_info{scorer="hash",version="1",weights="",key="`+scorers.IdentityOf(hs).Key()+`"}`])
	words := 0.0
	for _, p := range pairs {
		words += float64(len(strings.Fields(p.Source)) + len(strings.Fields(p.Summary)))
	}
	assert.Equal(t, words+6, m["hallu_serve_words_scored_total"])
	// Histogram buckets are cumulative and end at the count.
	assert.Equal(t, m["hallu_serve_batch_size_count"], m[`hallu_serve_batch_size_bucket{le="+Inf"}`])
	assert.LessOrEqual(t, m[`hallu_serve_batch_size_bucket{le="1"}`], m[`hallu_serve_batch_size_bucket{le="2"}`])
	assert.Equal(t, m["hallu_serve_batch_size_count"], m[`hallu_serve_batch_size_bucket{le="4"}`], "no batch is over --max-batch")
	assert.Equal(t, 10.0, m[`hallu_serve_request_duration_seconds_count{endpoint="evaluate_factual_consistency"}`])
	assert.Equal(t, 12.0, m["hallu_serve_queue_wait_seconds_count"])
}

// countingScorer reports tokens, as a scorer implementing TokenCounter does.
type countingScorer struct{ hashScorer }

func (*countingScorer) CountTokens(p scorers.Pair) int { return len(p.Source) + len(p.Summary) }

func TestTokensScoredWhenTheScorerCounts(t *testing.T) {
	_, ts := newTestServer(t, serve.Config{}, &countingScorer{})
	resp, _ := post(t, ts.Client(), ts.URL+"/v2/evaluate_factual_consistency", evalBody("abc", "defg"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, body := get(t, ts.URL+"/metrics")
	assert.Equal(t, 7.0, parseMetrics(t, body)["hallu_serve_tokens_scored_total"])
}

// HHEM counts its encoder's tokens, so a served HHEM fills the counter.
func TestTokensScoredWithHHEM(t *testing.T) {
	sc := tinyHHEM(t)
	_, ts := newTestServer(t, serve.Config{}, sc)
	resp, _ := post(t, ts.Client(), ts.URL+"/v2/evaluate_factual_consistency", evalBody("The council approved 12 homes.", "The council approved 12 new homes on the river site."))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, body := get(t, ts.URL+"/metrics")
	want := sc.(serve.TokenCounter).CountTokens(scorers.Pair{Source: "The council approved 12 new homes on the river site.", Summary: "The council approved 12 homes."})
	require.Positive(t, want)
	assert.Equal(t, float64(want), parseMetrics(t, body)["hallu_serve_tokens_scored_total"])
}
