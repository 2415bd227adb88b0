package serve_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
	"github.com/hallu-eval/hallu/serve"
)

func openScorer(t *testing.T, name string) scorers.Scorer {
	sc, err := scorers.Open(context.Background(), name, nil)
	require.NoError(t, err)
	t.Cleanup(func() { sc.Close() })
	return sc
}

func TestEvaluateMatchesOfflineScores(t *testing.T) {
	for _, name := range []string{"overlap", "hhem"} {
		t.Run(name, func(t *testing.T) {
			var sc scorers.Scorer
			if name == "hhem" {
				sc = tinyHHEM(t)
			} else {
				sc = openScorer(t, name)
			}
			_, ts := newTestServer(t, serve.Config{}, sc)
			pairs := testPairs(12)
			want := offline(t, sc, pairs)
			var wg sync.WaitGroup
			for i, p := range pairs {
				wg.Go(func() {
					resp, raw := post(t, ts.Client(), ts.URL+"/v2/evaluate_factual_consistency", evalBody(p.Summary, p.Source))
					require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
					var got map[string]float64
					require.NoError(t, json.Unmarshal(raw, &got))
					assert.Equal(t, want[i], got["score"], "pair %d", i)
					if name == "hhem" {
						assert.Equal(t, want[i], got["p_consistent"])
						assert.InDelta(t, 1-want[i], got["p_inconsistent"], 1e-15)
					} else {
						assert.NotContains(t, got, "p_consistent", "overlap's score is not a probability")
					}
				})
			}
			wg.Wait()
		})
	}
}

// joinScorer answers with the source it saw, to check the join rule.
type joinScorer struct {
	hashScorer
	mu   sync.Mutex
	seen []string
}

func (j *joinScorer) Score(ctx context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	j.mu.Lock()
	for _, p := range pairs {
		j.seen = append(j.seen, p.Source)
	}
	j.mu.Unlock()
	return j.hashScorer.Score(ctx, pairs)
}

func TestSourceTextsAreJoinedAsParagraphs(t *testing.T) {
	js := &joinScorer{}
	_, ts := newTestServer(t, serve.Config{}, js)
	resp, raw := post(t, ts.Client(), ts.URL+"/v2/evaluate_factual_consistency",
		evalBody("Paris has a tower.", "The Eiffel Tower is in Paris.", "It was built in 1889."))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	require.Len(t, js.seen, 1)
	assert.Equal(t, "The Eiffel Tower is in Paris.\n\nIt was built in 1889.", js.seen[0])
	var got serve.EvaluateResponse
	require.NoError(t, json.Unmarshal(raw, &got))
	assert.Equal(t, hashScore(scorers.Pair{Source: js.seen[0], Summary: "Paris has a tower."}), got.Score)
}

func TestBatchEndpointCarriesTheScorerIdentity(t *testing.T) {
	sc := tinyHHEM(t)
	_, ts := newTestServer(t, serve.Config{MaxBatch: 4}, sc)
	pairs := testPairs(10)
	want := offline(t, sc, pairs)
	req := serve.ScoreRequest{}
	for _, p := range pairs {
		req.Pairs = append(req.Pairs, serve.ScorePair{ID: "doc" + p.ID, Source: p.Source, Summary: p.Summary})
	}
	resp, raw := post(t, ts.Client(), ts.URL+"/v1/score", req)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(raw))
	var got serve.ScoreResponse
	require.NoError(t, json.Unmarshal(raw, &got))
	id := scorers.IdentityOf(sc)
	assert.Equal(t, "hhem", got.Scorer.Scorer)
	assert.Equal(t, id.Version, got.Scorer.Version)
	assert.Equal(t, id.Weights, got.Scorer.Weights)
	assert.Equal(t, id.Options, got.Scorer.Options)
	assert.Equal(t, id.Key(), got.Scorer.Key)
	require.Len(t, got.Results, len(pairs))
	for i, r := range got.Results {
		assert.Equal(t, "doc"+strconv.Itoa(i), r.ID)
		require.NotNil(t, r.Score, r.Error)
		assert.Equal(t, want[i], *r.Score, "pair %d", i)
	}

	code, raw := get(t, ts.URL+"/v1/models")
	require.Equal(t, http.StatusOK, code)
	var models struct{ Data []serve.Model }
	require.NoError(t, json.Unmarshal(raw, &models))
	require.Len(t, models.Data, 1)
	assert.Equal(t, "hhem", models.Data[0].ID)
	assert.Equal(t, got.Scorer, models.Data[0].Scorer)
	assert.Equal(t, []string{"hhem", "HHEM-2.1-Open"}, models.Data[0].Names)
}

func TestBadRequestsSayWhatIsWrong(t *testing.T) {
	_, ts := newTestServer(t, serve.Config{MaxBody: 512, MaxQueue: 3}, &hashScorer{})
	ev, sc := ts.URL+"/v2/evaluate_factual_consistency", ts.URL+"/v1/score"
	cases := []struct {
		name, url string
		body      any
		code      int
		msg       string
	}{
		{"syntax", ev, `{"generated_text": "x",`, 400, "not valid JSON at byte"},
		{"type", ev, `{"generated_text": 3, "source_texts": ["s"]}`, 400, "field generated_text: got a JSON number, want a string"},
		{"sources type", ev, `{"generated_text": "x", "source_texts": "s"}`, 400, "field source_texts: got a JSON string, want an array"},
		{"not an object", ev, `[1]`, 400, "request body is a JSON array"},
		{"empty", ev, ``, 400, "request body is empty"},
		{"no text", ev, `{"source_texts": ["s"]}`, 400, "generated_text is missing"},
		{"blank text", ev, `{"generated_text": " ", "source_texts": ["s"]}`, 400, "generated_text is empty"},
		{"no sources", ev, `{"generated_text": "x"}`, 400, "source_texts is missing or empty"},
		{"blank sources", ev, `{"generated_text": "x", "source_texts": ["", " "]}`, 400, "only empty texts"},
		{"model", ev, `{"generated_text": "x", "source_texts": ["s"], "model_parameters": {"model_name": "hhem_v2.3"}}`, 400, `model_name "hhem_v2.3" is not served here; this server answers "hash" (or name none)`},
		{"too big", ev, map[string]any{"generated_text": strings.Repeat("x", 600), "source_texts": []string{"s"}}, 413, "limit of 512 bytes"},
		{"no pairs", sc, `{"pairs": []}`, 400, "pairs is missing or empty"},
		{"pair summary", sc, `{"pairs": [{"source": "s", "summary": "t"}, {"source": "s"}]}`, 400, "pairs[1].summary is missing or empty"},
		{"too many pairs", sc, `{"pairs": [{"source": "s", "summary": "t"}, {"source": "s", "summary": "t"}, {"source": "s", "summary": "t"}, {"source": "s", "summary": "t"}]}`, 413, "4 pairs in one request; this server queues at most 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, raw := post(t, ts.Client(), c.url, c.body)
			assert.Equal(t, c.code, resp.StatusCode, string(raw))
			var e struct{ Messages []string }
			require.NoError(t, json.Unmarshal(raw, &e), string(raw))
			require.Len(t, e.Messages, 1)
			assert.Contains(t, e.Messages[0], c.msg)
		})
	}

	resp, err := http.Get(ev)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestModelAliasesAreAnswered(t *testing.T) {
	_, ts := newTestServer(t, serve.Config{ModelAliases: []string{"hhem_v2.3"}}, &hashScorer{})
	for _, name := range []string{"hash", "HASH", "hhem_v2.3", ""} {
		body := `{"generated_text": "x", "source_texts": ["s"], "model_parameters": {"model_name": "` + name + `"}}`
		resp, raw := post(t, ts.Client(), ts.URL+"/v2/evaluate_factual_consistency", body)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", name, raw)
	}
}

func TestAPIKey(t *testing.T) {
	const key = "sk-serve-test-7f3a"
	var logs strings.Builder
	var mu sync.Mutex
	_, ts := newTestServer(t, serve.Config{APIKey: key, Log: testLogger(&logs, &mu)}, &hashScorer{})
	ev := ts.URL + "/v2/evaluate_factual_consistency"
	body := evalBody("x", "s")

	resp, raw := post(t, ts.Client(), ev, body)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, string(raw), "missing x-api-key")
	resp, raw = post(t, ts.Client(), ev, body, "x-api-key", key+"x")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, string(raw), "not this server's key")
	resp, _ = post(t, ts.Client(), ev, body, "x-api-key", key)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/models", nil)
	mresp, err := ts.Client().Do(req)
	require.NoError(t, err)
	mresp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, mresp.StatusCode, "the listing needs the key too")
	for _, probe := range []string{"/healthz", "/readyz", "/metrics"} {
		code, _ := get(t, ts.URL+probe)
		assert.Equal(t, http.StatusOK, code, "%s answers without a key", probe)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.NotContains(t, logs.String(), key)
	assert.Contains(t, logs.String(), "code=401", "the refusals were logged")
}

func TestQueueFullAnswers429WithRetryAfter(t *testing.T) {
	hs := &hashScorer{gate: make(chan struct{})}
	s, ts := newTestServer(t, serve.Config{MaxQueue: 2, MaxBatch: 1}, hs)
	pair := func(i int) map[string]any { return evalBody("summary "+strconv.Itoa(i), "source") }
	// One request is being scored (held at the gate), two wait: the queue
	// is full.
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i := range 3 {
		wg.Go(func() {
			resp, _ := post(t, ts.Client(), ts.URL+"/v2/evaluate_factual_consistency", pair(i))
			codes[i] = resp.StatusCode
		})
		// Each request is in place before the next is sent.
		require.Eventually(t, func() bool { return int(hs.calls.Load())+queued(t, ts.URL) == i+1 }, testWait, pollEvery)
	}
	resp, raw := post(t, ts.Client(), ts.URL+"/v2/evaluate_factual_consistency", pair(9))
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, string(raw))
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Contains(t, string(raw), "queue full")
	code, raw := get(t, ts.URL+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "a saturated queue is not ready")
	assert.Contains(t, string(raw), "queue full")
	close(hs.gate)
	wg.Wait()
	assert.Equal(t, []int{200, 200, 200}, codes, "the queued requests were all answered")
	code, _ = get(t, ts.URL+"/readyz")
	assert.Equal(t, http.StatusOK, code)
	_ = s
}

func TestNotReadyUntilTheScorerIsSet(t *testing.T) {
	s, ts := newTestServer(t, serve.Config{}, nil)
	code, _ := get(t, ts.URL+"/healthz")
	assert.Equal(t, http.StatusOK, code, "the process is up")
	code, raw := get(t, ts.URL+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, string(raw), "loading")
	resp, _ := post(t, ts.Client(), ts.URL+"/v2/evaluate_factual_consistency", evalBody("x", "s"))
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
	s.SetScorer(&hashScorer{})
	code, _ = get(t, ts.URL+"/readyz")
	assert.Equal(t, http.StatusOK, code)
}

func queued(t *testing.T, url string) int {
	_, raw := get(t, url+"/readyz")
	var r struct {
		Queued int `json:"queued_pairs"`
	}
	require.NoError(t, json.Unmarshal(raw, &r))
	return r.Queued
}
