package judge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
)

// chatReq is what the fake server saw of one request.
type chatReq struct {
	body   map[string]any
	header http.Header
}

func (q chatReq) lastUser() string {
	msgs, _ := q.body["messages"].([]any)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i].(map[string]any)
		if m["role"] == "user" {
			return m["content"].(string)
		}
	}
	return ""
}

func (q chatReq) messages() int {
	msgs, _ := q.body["messages"].([]any)
	return len(msgs)
}

// fakeJudge is an OpenAI-compatible server on 127.0.0.1 whose handle
// function gets the 1-based number of the request.
type fakeJudge struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []chatReq
	handle func(w http.ResponseWriter, r *http.Request, n int, q chatReq)
}

func newFake(t testing.TB, handle func(w http.ResponseWriter, r *http.Request, n int, q chatReq)) *fakeJudge {
	return newFakeWith(t, handle, nil)
}

// newFakeWith lets the test configure the server before it starts.
func newFakeWith(t testing.TB, handle func(w http.ResponseWriter, r *http.Request, n int, q chatReq), configure func(*http.Server)) *fakeJudge {
	f := &fakeJudge{handle: handle}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		q := chatReq{header: r.Header.Clone()}
		if err := json.Unmarshal(raw, &q.body); err != nil || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, q)
		n := len(f.reqs)
		f.mu.Unlock()
		f.handle(w, r, n, q)
	}))
	if configure != nil {
		configure(f.Config)
	}
	f.Start()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeJudge) requests() []chatReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chatReq(nil), f.reqs...)
}

type tokenLP struct {
	tok string
	lp  float64
	top map[string]float64 // token -> probability
}

// writeReply writes a chat completion with content, a finish reason and, when
// given, log-probabilities.
func writeReply(w http.ResponseWriter, content, finish string, lps []tokenLP) {
	choice := map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": content}, "finish_reason": finish}
	if lps != nil {
		var c []any
		for _, t := range lps {
			var top []any
			for tok, p := range t.top {
				top = append(top, map[string]any{"token": tok, "logprob": math.Log(p)})
			}
			c = append(c, map[string]any{"token": t.tok, "logprob": t.lp, "top_logprobs": top})
		}
		choice["logprobs"] = map[string]any{"content": c}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": "x", "object": "chat.completion", "created": 1, "model": "judge-model",
		"choices": []any{choice},
		"usage":   map[string]any{"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107},
	})
}

func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error"}})
}

func always(content string) func(http.ResponseWriter, *http.Request, int, chatReq) {
	return func(w http.ResponseWriter, _ *http.Request, _ int, _ chatReq) { writeReply(w, content, "stop", nil) }
}

func openFake(t *testing.T, f *fakeJudge, extra ...string) *Judge {
	t.Helper()
	// A roomy timeout: a prompt reply must beat it under -race on a busy
	// machine; tests about timeouts set their own.
	opts := scorers.Options{"endpoint": f.URL + "/v1", "model": "judge-model", "timeout": "1m", "retries": "2",
		"backoff-base": "1ms", "backoff-max": "5ms", "concurrency": "2"}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		opts[k] = v
	}
	j, err := Open(opts)
	require.NoError(t, err)
	return j
}

var pair = scorers.Pair{ID: "d1", Source: "The river is 12 km long and flows north.", Summary: "The river is 12 km long."}

func scoreOne(t *testing.T, j *Judge) scorers.Result {
	t.Helper()
	res, err := j.Score(context.Background(), []scorers.Pair{pair})
	require.NoError(t, err)
	require.Len(t, res, 1)
	return res[0]
}

func TestVerdictStructuredRequest(t *testing.T) {
	t.Setenv("JUDGE_TEST_KEY", "sk-secret-123")
	f := newFake(t, always(`{"supported": true, "reason": "12 km is in the source"}`))
	j := openFake(t, f, "api-key-env=JUDGE_TEST_KEY")
	r := scoreOne(t, j)
	require.NoError(t, r.Err)
	assert.Equal(t, 1.0, r.Score)
	assert.Contains(t, r.Explanation, "12 km is in the source")
	assert.Equal(t, &scorers.Usage{PromptTokens: 100, CompletionTokens: 7}, r.Usage)

	q := f.requests()[0]
	assert.Equal(t, "Bearer sk-secret-123", q.header.Get("Authorization"))
	assert.Equal(t, 0.0, q.body["temperature"], "temperature 0 is sent explicitly")
	rf := q.body["response_format"].(map[string]any)
	assert.Equal(t, "json_schema", rf["type"])
	assert.Equal(t, true, q.body["logprobs"])
	assert.Contains(t, q.lastUser(), pair.Source)
	assert.Contains(t, q.lastUser(), pair.Summary)
	assert.Contains(t, j.Version(), "verdict:judge-model:p")
}

func TestVerdictMessyReplies(t *testing.T) {
	cases := []struct {
		reply string
		want  float64
	}{
		{"Sure! Here is my assessment:\n```json\n{\"supported\": false, \"reason\": \"the date is invented\"}\n```\nLet me know if you need more.", 0},
		{"{'supported': True, 'reason': 'all claims are in the source',}", 1},
		{"Yes. Every claim is stated in the source.", 1},
		{"**No** - the summary adds a date.", 0},
		{"The summary says the river is 12 km long, which the source states.\nAnswer: yes", 1},
		{"<think>the source says 12 km. Hmm, no issue.</think>{\"supported\": \"yes\", \"reason\": \"fine\"}", 1},
	}
	for _, c := range cases {
		f := newFake(t, always(c.reply))
		r := scoreOne(t, openFake(t, f, "logprobs=false"))
		require.NoError(t, r.Err, c.reply)
		assert.Equal(t, c.want, r.Score, c.reply)
		assert.Len(t, f.requests(), 1, "readable at the first try: %s", c.reply)
	}
}

func TestUnreadableRepliesBecomeErrorsNotScores(t *testing.T) {
	cases := []struct {
		name, reply, finish, wantErr string
	}{
		{"refusal", "I cannot help with that.", "stop", "no yes/no answer"},
		{"truncated", `{"supported": tr`, "length", "cut short"},
		{"no verdict field", `{"reason": "looks fine"}`, "stop", `no "supported" field`},
		{"odd verdict", `{"supported": "maybe"}`, "stop", "not a yes/no verdict"},
		{"empty", "", "stop", "no yes/no answer"},
	}
	for _, c := range cases {
		f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ chatReq) { writeReply(w, c.reply, c.finish, nil) })
		r := scoreOne(t, openFake(t, f, "parse-retries=2"))
		require.Error(t, r.Err, c.name)
		assert.Contains(t, r.Err.Error(), c.wantErr, c.name)
		assert.Contains(t, r.Err.Error(), "unreadable after 3 tries", c.name)
		assert.Zero(t, r.Score, c.name)
		reqs := f.requests()
		require.Len(t, reqs, 3, "%s: asked, then asked again twice", c.name)
		assert.Contains(t, reqs[1].lastUser(), "could not be read", c.name)
		assert.Equal(t, reqs[0].messages()+2, reqs[1].messages(), "%s: the bad reply and the correction are sent back", c.name)
		assert.Equal(t, &scorers.Usage{PromptTokens: 300, CompletionTokens: 21}, r.Usage, "%s: every try's tokens count", c.name)
	}
	// finish_reason length says why.
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ chatReq) {
		writeReply(w, `{"supported": tr`, "length", nil)
	})
	assert.Contains(t, scoreOne(t, openFake(t, f)).Err.Error(), "raise max-tokens")
}

func TestReaskAfterRefusalRecovers(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ chatReq) {
		if n == 1 {
			writeReply(w, "I cannot help with that.", "stop", nil)
			return
		}
		writeReply(w, `{"supported": false, "reason": "no"}`, "stop", nil)
	})
	r := scoreOne(t, openFake(t, f))
	require.NoError(t, r.Err)
	assert.Equal(t, 0.0, r.Score)
	assert.Len(t, f.requests(), 2)
}

func TestSlowReplyTimesOutAndIsRetried(t *testing.T) {
	hang := func(r *http.Request) {
		select { // until the judge gives up; the bound only ends a broken test
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ chatReq) {
		if n == 1 {
			hang(r)
			return
		}
		writeReply(w, `{"supported": true, "reason": "ok"}`, "stop", nil)
	})
	// Every later reply is prompt, but on a loaded machine one may still
	// miss the 1s timeout; the retries absorb that, and the behaviour under
	// test (a timed-out attempt is retried, the answer counts) holds either
	// way.
	r := scoreOne(t, openFake(t, f, "timeout=1s", "retries=5"))
	require.NoError(t, r.Err)
	assert.Equal(t, 1.0, r.Score)
	assert.GreaterOrEqual(t, len(f.requests()), 2)

	slow := newFake(t, func(_ http.ResponseWriter, r *http.Request, _ int, _ chatReq) { hang(r) })
	r = scoreOne(t, openFake(t, slow, "timeout=50ms", "retries=1"))
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "after 2 attempts (timeout)")
}

func TestRateLimitHonoursRetryAfter(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, _ chatReq) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			apiError(w, http.StatusTooManyRequests, "slow down")
			return
		}
		writeReply(w, `{"supported": true, "reason": "ok"}`, "stop", nil)
	})
	j := openFake(t, f)
	r := scoreOne(t, j)
	require.NoError(t, r.Err)
	reqs := f.requests()
	require.Len(t, reqs, 2)

	// Persistent 429s end in a rate_limit error after the retries.
	f2 := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ chatReq) {
		w.Header().Set("Retry-After-Ms", "5")
		apiError(w, http.StatusTooManyRequests, "slow down")
	})
	r = scoreOne(t, openFake(t, f2))
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "after 3 attempts (rate_limit)")
}

func TestAuthErrorIsNotRetriedAndKeyIsNotRecorded(t *testing.T) {
	t.Setenv("JUDGE_TEST_KEY", "sk-secret-456")
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ chatReq) {
		apiError(w, http.StatusUnauthorized, "Incorrect API key provided: sk-secret-456")
	})
	r := scoreOne(t, openFake(t, f, "api-key-env=JUDGE_TEST_KEY"))
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "(auth)")
	assert.NotContains(t, r.Err.Error(), "sk-secret-456")
	assert.Len(t, f.requests(), 1)
}

func TestStructuredOutputFallback(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, q chatReq) {
		if _, ok := q.body["response_format"]; ok {
			apiError(w, http.StatusBadRequest, "response_format of type json_schema is not supported by this model")
			return
		}
		if _, ok := q.body["logprobs"]; ok {
			apiError(w, http.StatusBadRequest, "logprobs are not supported")
			return
		}
		writeReply(w, "Sure: {\"supported\": true, \"reason\": \"ok\"}", "stop", nil)
	})
	j := openFake(t, f)
	for range 3 {
		r := scoreOne(t, j)
		require.NoError(t, r.Err)
		assert.Equal(t, 1.0, r.Score)
	}
	// One rejected try per feature, then plain requests only.
	reqs := f.requests()
	require.Len(t, reqs, 5)
	for _, q := range reqs[2:] {
		assert.NotContains(t, q.body, "response_format")
		assert.NotContains(t, q.body, "logprobs")
	}

	// structured=false never sends it.
	f2 := newFake(t, always(`{"supported": true, "reason": "ok"}`))
	scoreOne(t, openFake(t, f2, "structured=false"))
	assert.NotContains(t, f2.requests()[0].body, "response_format")

	// Another 400 is an error, not a fallback.
	f3 := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ chatReq) {
		apiError(w, http.StatusBadRequest, "maximum context length exceeded")
	})
	r := scoreOne(t, openFake(t, f3))
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "(bad_request)")
	assert.Len(t, f3.requests(), 1)
}

func TestVerdictProbabilityFromLogprobs(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ chatReq) {
		writeReply(w, `{"supported": true, "reason": "ok"}`, "stop", []tokenLP{
			{tok: `{"`, lp: 0}, {tok: "supported", lp: 0}, {tok: `":`, lp: 0},
			{tok: " true", lp: math.Log(0.6), top: map[string]float64{" true": 0.6, " false": 0.3, " maybe": 0.1}},
			{tok: `,`, lp: 0}, {tok: ` "reason": "ok"}`, lp: 0},
		})
	})
	r := scoreOne(t, openFake(t, f))
	require.NoError(t, r.Err)
	assert.InDelta(t, 0.6/0.9, r.Score, 1e-9)
	assert.Contains(t, r.Explanation, "P(supported)=0.667")
	assert.Equal(t, float64(topLogprobs), f.requests()[0].body["top_logprobs"])

	// A bare "No" with its alternatives.
	f2 := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ chatReq) {
		writeReply(w, "No, the date is invented.", "stop", []tokenLP{
			{tok: "No", lp: math.Log(0.7), top: map[string]float64{"No": 0.7, "Yes": 0.2, "yes": 0.05}},
			{tok: ", the date is invented.", lp: 0},
		})
	})
	r = scoreOne(t, openFake(t, f2))
	require.NoError(t, r.Err)
	assert.InDelta(t, 0.25/0.95, r.Score, 1e-9)

	// Log-probabilities that do not line up with the verdict: 0/1.
	f3 := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ chatReq) {
		writeReply(w, `{"supported": false, "reason": "x"}`, "stop", []tokenLP{{tok: "garbage", lp: 0}})
	})
	r = scoreOne(t, openFake(t, f3))
	require.NoError(t, r.Err)
	assert.Equal(t, 0.0, r.Score)
	assert.NotContains(t, r.Explanation, "P(supported)")
}

func TestClaimsMode(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, n int, q chatReq) {
		if strings.Contains(q.lastUser(), "List the factual claims") {
			writeReply(w, "```json\n{\"claims\": [\"The river is 12 km long.\", \"It flows south.\", \"It is in Spain.\"]}\n```", "stop", nil)
			return
		}
		if n == 2 { // one verdict missing: re-asked
			writeReply(w, `{"verdicts": [{"claim": 1, "supported": true, "reason": "stated"}]}`, "stop", nil)
			return
		}
		require.Contains(t, q.body["messages"].([]any)[1].(map[string]any)["content"], "2. It flows south.")
		writeReply(w, `{"verdicts": [{"claim": 2, "supported": false, "reason": "source says north"}, {"claim": 1, "supported": true, "reason": "stated"}, {"claim": 3, "supported": "no", "reason": "not mentioned"}]}`, "stop", nil)
	})
	r := scoreOne(t, openFake(t, f, "mode=claims"))
	require.NoError(t, r.Err)
	assert.InDelta(t, 1.0/3, r.Score, 1e-9)
	assert.Contains(t, r.Explanation, "1 of 3 claims supported")
	assert.Contains(t, r.Explanation, `"It flows south." (source says north)`)
	assert.Contains(t, r.Explanation, `"It is in Spain."`)
	assert.NotContains(t, r.Explanation, "12 km")
	assert.Len(t, f.requests(), 3)
	assert.Equal(t, 300, r.Usage.PromptTokens)

	// No claims at all is an error, not a perfect score.
	f2 := newFake(t, always(`{"claims": []}`))
	r = scoreOne(t, openFake(t, f2, "mode=claims", "parse-retries=0"))
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "lists no claims")
}

func TestManyPairsConcurrently(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int, q chatReq) {
		if strings.Contains(q.lastUser(), "[bad]") {
			writeReply(w, `{"supported": false, "reason": "bad"}`, "stop", nil)
			return
		}
		writeReply(w, `{"supported": true, "reason": "good"}`, "stop", nil)
	})
	j := openFake(t, f, "concurrency=3")
	var pairs []scorers.Pair
	for i := range 10 {
		s := fmt.Sprintf("Summary %d.", i)
		if i%3 == 0 {
			s += " [bad]"
		}
		pairs = append(pairs, scorers.Pair{ID: fmt.Sprint(i), Source: "src", Summary: s})
	}
	res, err := j.Score(context.Background(), pairs)
	require.NoError(t, err)
	for i, r := range res {
		require.NoError(t, r.Err)
		assert.Equal(t, map[bool]float64{true: 0, false: 1}[i%3 == 0], r.Score, "pair %d in order", i)
	}
}

func TestOpenOptions(t *testing.T) {
	_, err := Open(scorers.Options{"model": "m"})
	assert.ErrorContains(t, err, "no endpoint")
	_, err = Open(scorers.Options{"endpoint": "http://127.0.0.1:1/v1"})
	assert.ErrorContains(t, err, "no model")
	_, err = Open(scorers.Options{"endpoint": "http://127.0.0.1:1/v1", "model": "m", "mode": "vibes"})
	assert.ErrorContains(t, err, "mode")
	_, err = Open(scorers.Options{"endpoint": "http://127.0.0.1:1/v1", "model": "m", "temprature": "0"})
	assert.ErrorContains(t, err, `unknown option "temprature"`)
	_, err = scorers.Open(context.Background(), Name, scorers.Options{"endpoint": "http://127.0.0.1:1/v1", "model": "m", "bacth": "8"})
	assert.ErrorContains(t, err, `unknown option "bacth" (judge takes endpoint, model, api-key-env, mode`)
	_, err = Open(scorers.Options{"endpoint": "http://127.0.0.1:1/v1", "model": "m", "timeout": "soon"})
	assert.ErrorContains(t, err, "timeout")
	_, err = Open(scorers.Options{"endpoint": "http://127.0.0.1:1/v1", "model": "m", "api-key-env": "HALLU_SURELY_UNSET_VAR"})
	assert.ErrorContains(t, err, "HALLU_SURELY_UNSET_VAR")
	_, err = Open(scorers.Options{"endpoint": "ftp://x", "model": "m"})
	assert.ErrorContains(t, err, "not an http(s) base URL")
}

func TestIdentity(t *testing.T) {
	t.Setenv("JUDGE_ID_KEY", "sk-id-secret")
	open := func(opts scorers.Options) scorers.Identity {
		t.Helper()
		s, err := scorers.Open(context.Background(), Name, opts)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return scorers.IdentityOf(s)
	}
	base := scorers.Options{"endpoint": "http://127.0.0.1:1/v1", "model": "judge-model"}
	id := open(base)
	assert.Equal(t, map[string]string{
		"model": "judge-model", "mode": "verdict", "endpoint": "http://127.0.0.1:1/v1", "prompt": promptHash(),
		"temperature": "0", "logprobs": "true", "structured": "true", "max-tokens": "none",
	}, id.Options, "defaults are filled in")
	assert.Equal(t, "judge", id.Name)
	assert.Equal(t, "verdict:judge-model:p"+promptHash(), id.Version)

	speed := open(scorers.Options{"endpoint": "HTTP://user:sk-id-secret@127.0.0.1:1/v1/?key=sk-id-secret", "model": "judge-model",
		"concurrency": "9", "rpm": "60", "timeout": "5s", "retries": "0", "parse-retries": "4",
		"backoff-base": "2s", "backoff-max": "9s", "api-key-env": "JUDGE_ID_KEY", "logprobs": "true"})
	assert.Equal(t, id.Key(), speed.Key(), "speed options, credentials and spelling of the endpoint do not split judgments: %s", id.Diff(speed))
	assert.NotContains(t, fmt.Sprint(speed), "sk-id-secret")

	claims := open(scorers.Options{"endpoint": "http://127.0.0.1:1/v1", "model": "judge-model", "mode": "claims", "max-tokens": "512"})
	assert.Equal(t, "false", claims.Options["logprobs"], "claims mode never asks for log-probabilities")
	assert.Equal(t, `version "verdict:judge-model:p`+promptHash()+`" here, "claims:judge-model:p`+promptHash()+`" there; `+
		`option logprobs=true here, false there; option max-tokens=none here, 512 there; option mode=verdict here, claims there`, id.Diff(claims))

	other := open(scorers.Options{"endpoint": "http://127.0.0.1:2/v1", "model": "judge-model"})
	assert.NotEqual(t, id.Key(), other.Key(), "another server is another judge")
}

// Close drops the kept-alive connections, so a long-lived process that
// opens judges does not leak them.
func TestCloseDropsConnections(t *testing.T) {
	closed := make(chan struct{}, 16)
	f := newFakeWith(t, always(`{"supported": true, "reason": "ok"}`), func(s *http.Server) {
		s.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateClosed {
				closed <- struct{}{}
			}
		}
	})
	j := openFake(t, f)
	require.NoError(t, scoreOne(t, j).Err)
	require.NoError(t, j.Close())
	select { // the bound only ends a broken test
	case <-closed:
	case <-time.After(time.Minute):
		t.Fatal("the connection stayed open after Close")
	}
}
