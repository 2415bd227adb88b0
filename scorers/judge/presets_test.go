package judge

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// rawFake is an OpenAI-compatible server on 127.0.0.1 that records each
// request body byte for byte and answers request n (1-based) with reply.
type rawFake struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newRawFake(t *testing.T, reply func(w http.ResponseWriter, n int)) *rawFake {
	f := &rawFake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(b))
		n := len(f.bodies)
		f.mu.Unlock()
		reply(w, n)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *rawFake) all() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...)
}

func openPreset(t *testing.T, f *rawFake, name string, extra ...string) *Judge {
	t.Helper()
	opts := scorers.Options{"preset": name, "endpoint": f.URL + "/v1", "retries": "0", "timeout": "1m"}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		opts[k] = v
	}
	j, err := Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close() })
	return j
}

var presetPair = scorers.Pair{ID: "d1", Source: "The river is 12 km long and flows north.", Summary: `The river is "12 km" long.`}

// The request bodies are written out here in full, the published prompt
// texts included, independently of the constants in presets.go: a change
// to a prompt must change this test too.
func TestPresetRequestBytes(t *testing.T) {
	want := map[string]string{
		PresetMiniCheck: `{"logprobs":true,"messages":[` +
			`{"role":"system","content":"Determine whether the provided claim is consistent with the corresponding document. Consistency in this context implies that all information presented in the claim is substantiated by the document. If not, it should be considered inconsistent. Please assess the claim's consistency with the document by responding with either \"Yes\" or \"No\"."},` +
			`{"role":"user","content":"Document: The river is 12 km long and flows north.\nClaim: The river is \"12 km\" long."}],` +
			`"model":"bespoke-minicheck","stream":false,"temperature":0,"top_logprobs":5}`,
		PresetGranite: `{"logprobs":true,"messages":[` +
			`{"role":"system","content":"groundedness"},` +
			`{"role":"context","content":"The river is 12 km long and flows north."},` +
			`{"role":"assistant","content":"The river is \"12 km\" long."}],` +
			`"model":"granite3-guardian","stream":false,"temperature":0,"top_logprobs":5}`,
		PresetGraniteHF: `{"chat_template_kwargs":{"guardian_config":{"risk_name":"groundedness"}},"logprobs":true,"messages":[` +
			`{"role":"context","content":"The river is 12 km long and flows north."},` +
			`{"role":"assistant","content":"The river is \"12 km\" long."}],` +
			`"model":"ibm-granite/granite-guardian-3.1-8b","stream":false,"temperature":0,"top_logprobs":5}`,
		PresetLynx: `{"logprobs":true,"messages":[{"role":"user","content":"` +
			`\nGiven the following QUESTION, DOCUMENT and ANSWER you must analyze the provided answer and determine whether it is faithful to the contents of the DOCUMENT. The ANSWER must not offer new information beyond the context provided in the DOCUMENT. The ANSWER also must not contradict information provided in the DOCUMENT. Output your final verdict by strictly following this format: \"PASS\" if the answer is faithful to the DOCUMENT and \"FAIL\" if the answer is not faithful to the DOCUMENT. Show your reasoning.` +
			`\n\n--\nQUESTION (THIS DOES NOT COUNT AS BACKGROUND INFORMATION):\nYour task is to provide a concise and factual summary for the given passage.` +
			`\n\n--\nDOCUMENT:\nThe river is 12 km long and flows north.` +
			`\n\n--\nANSWER:\nThe river is \"12 km\" long.` +
			`\n\n--\n\nYour output should be in JSON FORMAT with the keys \"REASONING\" and \"SCORE\":\n{\"REASONING\": \u003cyour reasoning as bullet points\u003e, \"SCORE\": \u003cyour final score\u003e}\n"}],` +
			`"model":"PatronusAI/Llama-3-Patronus-Lynx-8B-Instruct","stream":false,"temperature":0,"top_logprobs":5}`,
	}
	replies := map[string]string{PresetMiniCheck: "Yes", PresetGranite: "No", PresetGraniteHF: "No", PresetLynx: `{"REASONING": ["fine"], "SCORE": "PASS"}`}
	for _, name := range PresetNames() {
		t.Run(name, func(t *testing.T) {
			f := newRawFake(t, func(w http.ResponseWriter, _ int) { writeReply(w, replies[name], "stop", nil) })
			res, err := openPreset(t, f, name).Score(context.Background(), []scorers.Pair{presetPair})
			require.NoError(t, err)
			require.NoError(t, res[0].Err)
			assert.Equal(t, 1.0, res[0].Score)
			bodies := f.all()
			require.Len(t, bodies, 1)
			assert.Equal(t, want[name], bodies[0])
		})
	}
}

func TestPresetOverridesAndQuestion(t *testing.T) {
	f := newRawFake(t, func(w http.ResponseWriter, _ int) { writeReply(w, `{"SCORE": "PASS"}`, "stop", nil) })
	j := openPreset(t, f, PresetLynx, "model=lynx-70b", "question=Summarize the article.", "logprobs=false", "temperature=0.7")
	_, err := j.Score(context.Background(), []scorers.Pair{presetPair})
	require.NoError(t, err)
	body := f.all()[0]
	assert.Contains(t, body, `"model":"lynx-70b"`)
	assert.Contains(t, body, `(THIS DOES NOT COUNT AS BACKGROUND INFORMATION):\nSummarize the article.\n\n--`)
	assert.NotContains(t, body, "logprobs")
	assert.Contains(t, body, `"temperature":0.7`)
	id := j.Identity()
	assert.Equal(t, "lynx", id.Options["preset"])
	assert.Equal(t, "Summarize the article.", id.Options["question"])
	assert.Equal(t, "0.7", id.Options["temperature"])
	assert.Equal(t, "false", id.Options["structured"])
	assert.True(t, strings.HasPrefix(j.Version(), "lynx:lynx-70b:p"), j.Version())
}

// lps spells text as tokens: the verdict token at its place with its
// alternatives, the rest one token each side of it.
func lps(text, verdictTok string, top map[string]float64) []tokenLP {
	i := strings.Index(text, verdictTok)
	out := []tokenLP{}
	if i > 0 {
		out = append(out, tokenLP{tok: text[:i]})
	}
	out = append(out, tokenLP{tok: verdictTok, lp: -0.1, top: top})
	if rest := text[i+len(verdictTok):]; rest != "" {
		out = append(out, tokenLP{tok: rest})
	}
	return out
}

func TestPresetReplies(t *testing.T) {
	cases := []struct {
		preset, reply string
		lp            []tokenLP
		want          float64
		how           string
	}{
		{PresetMiniCheck, "Yes", nil, 1, "no log-probabilities"},
		{PresetMiniCheck, "No.", nil, 0, "no log-probabilities"},
		{PresetMiniCheck, "No", lps("No", "No", map[string]float64{"No": 0.6, " Yes": 0.2, "yes": 0.1, "Maybe": 0.1}), 0.3 / 0.9, "P(supported)=0.333 from log-probabilities"},
		// Granite: Yes is the risk, so the score is P(No).
		{PresetGranite, "Yes", lps("Yes", "Yes", map[string]float64{"Yes": 0.8, "No": 0.2}), 0.2, "P(supported)=0.200"},
		{PresetGranite, "No", nil, 1, "supported (No), score from the verdict"},
		{PresetGraniteHF, "<score> yes </score>", nil, 0, "unsupported (yes)"},
		{PresetLynx, `{"REASONING": ["The answer states 12 km.", "Nothing is added."], "SCORE": "PASS"}`,
			lps(`{"REASONING": ["The answer states 12 km.", "Nothing is added."], "SCORE": "PASS"}`, "PASS", map[string]float64{"PASS": 0.9, "FAIL": 0.1}),
			0.9, "P(supported)=0.900 from log-probabilities: The answer states 12 km. Nothing is added."},
		// A reasoning model's think block before the answer; the
		// log-probabilities still spell the whole reply.
		{PresetMiniCheck, "<think>the claim says 12 km. No problem.</think>Yes",
			lps("<think>the claim says 12 km. No problem.</think>Yes", "Yes", map[string]float64{"Yes": 0.75, "No": 0.25}), 0.75, "P(supported)=0.750"},
		// The reasoning quotes a score; the SCORE field is the last.
		{PresetLynx, `{"REASONING": ["A wrong answer would get score: FAIL", "this one is faithful"], "SCORE": "PASS"}`, nil, 1, "lynx: supported (PASS)"},
		// Bullet points that are not JSON: the score is still read.
		{PresetLynx, "{\"REASONING\": - the answer adds a date\n- so it is not faithful, \"SCORE\": \"FAIL\"}", nil, 0, "lynx: unsupported (FAIL)"},
	}
	for _, c := range cases {
		t.Run(c.preset+"/"+c.reply, func(t *testing.T) {
			f := newRawFake(t, func(w http.ResponseWriter, _ int) { writeReply(w, c.reply, "stop", c.lp) })
			res, err := openPreset(t, f, c.preset).Score(context.Background(), []scorers.Pair{presetPair})
			require.NoError(t, err)
			require.NoError(t, res[0].Err)
			assert.InDelta(t, c.want, res[0].Score, 1e-9)
			assert.Contains(t, res[0].Explanation, c.how)
		})
	}
}

func TestPresetUnreadableReplyIsAskedAgainUnchanged(t *testing.T) {
	f := newRawFake(t, func(w http.ResponseWriter, n int) {
		if n == 1 {
			writeReply(w, "I think the claim is plausible.", "stop", nil)
			return
		}
		writeReply(w, "Yes", "stop", nil)
	})
	res, err := openPreset(t, f, PresetMiniCheck).Score(context.Background(), []scorers.Pair{presetPair})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	assert.Equal(t, 1.0, res[0].Score)
	bodies := f.all()
	require.Len(t, bodies, 2)
	assert.Equal(t, bodies[0], bodies[1], "a published prompt gets no correction of ours")

	g := newRawFake(t, func(w http.ResponseWriter, _ int) { writeReply(w, "Maybe.", "stop", nil) })
	res, err = openPreset(t, g, PresetGranite, "parse-retries=1").Score(context.Background(), []scorers.Pair{presetPair})
	require.NoError(t, err)
	require.Error(t, res[0].Err)
	assert.Contains(t, res[0].Err.Error(), `reply starts with "Maybe", not Yes or No`)
	assert.Len(t, g.all(), 2)
}

func TestPresetOptionErrors(t *testing.T) {
	for opts, want := range map[string]string{
		"preset=minicheck":                    `unknown preset "minicheck" (known: bespoke-minicheck, granite-guardian, granite-guardian-hf, lynx)`,
		"preset=lynx mode=claims":             "mode=claims does not apply",
		"preset=lynx structured=true":         "structured=true does not apply",
		"preset=granite-guardian question=Q?": "question= applies only to preset=lynx",
		"preset=lynx repeat=0":                "repeat 0: want 1 or more",
		"preset=lynx temperature=hot":         `option temperature="hot"`,
		"preset=lynx temperature=3":           "temperature 3: want a number from 0 to 2",
	} {
		o := scorers.Options{}
		for _, kv := range strings.Fields(opts) {
			k, v, _ := strings.Cut(kv, "=")
			o[k] = v
		}
		_, err := Open(o)
		require.Error(t, err, opts)
		assert.Contains(t, err.Error(), want, opts)
	}
	// A preset supplies endpoint and model.
	j, err := Open(scorers.Options{"preset": PresetMiniCheck})
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:11434/v1", j.Identity().Options["endpoint"])
	assert.Equal(t, "bespoke-minicheck", j.Identity().Options["model"])
	_, hasRepeat := j.Identity().Options["repeat"]
	assert.False(t, hasRepeat, "repeat=1 leaves the identity as it was")
}

func TestMajority(t *testing.T) {
	cases := []struct {
		scores     []float64
		score      float64
		consistent bool
		agree      int
	}{
		{[]float64{0.9, 0.1, 0.7}, 0.8, true, 2},
		{[]float64{0.2, 0.6, 0.0}, 0.1, false, 2},
		{[]float64{1, 0}, 0, false, 1}, // a tie is hallucinated
		{[]float64{0.5, 0.5}, 0.5, true, 2},
		{[]float64{0.3, 0.4, 0.1}, 0.8 / 3, false, 3},
	}
	for _, c := range cases {
		score, consistent, agree := Majority(c.scores)
		assert.InDelta(t, c.score, score, 1e-12, "%v", c.scores)
		assert.Equal(t, c.consistent, consistent, "%v", c.scores)
		assert.Equal(t, c.agree, agree, "%v", c.scores)
	}
}

// alternating answers Yes, No, Yes, ... in the order requests arrive.
func alternating(w http.ResponseWriter, n int) {
	if n%2 == 1 {
		writeReply(w, "Yes", "stop", nil)
	} else {
		writeReply(w, "No", "stop", nil)
	}
}

func TestRepeatKeepsEveryVerdictAndTheMajority(t *testing.T) {
	f := newRawFake(t, alternating)
	j := openPreset(t, f, PresetMiniCheck, "repeat=3", "temperature=1")
	res, err := j.Score(context.Background(), []scorers.Pair{presetPair})
	require.NoError(t, err)
	r := res[0]
	require.NoError(t, r.Err)
	assert.Equal(t, []float64{1, 0, 1}, r.Repeats)
	assert.Equal(t, 1.0, r.Score)
	assert.Contains(t, r.Explanation, "majority consistent, 2 of 3 verdicts (scores 1.000, 0.000, 1.000)")
	assert.Equal(t, &scorers.Usage{PromptTokens: 300, CompletionTokens: 21}, r.Usage, "usage of all three calls")
	assert.Len(t, f.all(), 3)
	assert.Equal(t, "3", j.Identity().Options["repeat"])
	assert.Equal(t, "1", j.Identity().Options["temperature"])

	g := newRawFake(t, alternating)
	res, err = openPreset(t, g, PresetMiniCheck, "repeat=2").Score(context.Background(), []scorers.Pair{presetPair})
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 0}, res[0].Repeats)
	assert.Equal(t, 0.0, res[0].Score, "a tie counts as hallucinated")
	assert.Contains(t, res[0].Explanation, "a tie counts as hallucinated")
}

// sampledFake answers as a server does at a temperature: the sampled
// word (Yes, No, Yes, ...) and, when asked, log-probabilities from the
// untempered distribution, the same each time.
func sampledFake(t *testing.T) *rawFake {
	var f *rawFake
	f = newRawFake(t, func(w http.ResponseWriter, n int) {
		word := "Yes"
		if n%2 == 0 {
			word = "No"
		}
		var lps []tokenLP
		if strings.Contains(f.all()[n-1], `"logprobs":true`) {
			lps = []tokenLP{{tok: word, lp: math.Log(0.8), top: map[string]float64{"Yes": 0.8, "No": 0.2}}}
		}
		writeReply(w, word, "stop", lps)
	})
	return f
}

// Sampled repeats score the sampled verdicts: log-probabilities, which
// would give every repeat the same P(supported), are not asked for unless
// the user does.
func TestSampledRepeatsScoreTheSampledVerdicts(t *testing.T) {
	f := sampledFake(t)
	j := openPreset(t, f, PresetMiniCheck, "repeat=3", "temperature=0.7")
	res, err := j.Score(context.Background(), []scorers.Pair{presetPair})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	assert.Equal(t, []float64{1, 0, 1}, res[0].Repeats)
	for _, b := range f.all() {
		assert.NotContains(t, b, "logprobs")
	}
	assert.Equal(t, "false", j.Identity().Options["logprobs"])

	// Asked for, they are sent, and every repeat scores the same.
	g := sampledFake(t)
	j = openPreset(t, g, PresetMiniCheck, "repeat=3", "temperature=0.7", "logprobs=true")
	res, err = j.Score(context.Background(), []scorers.Pair{presetPair})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	assert.InDeltaSlice(t, []float64{0.8, 0.8, 0.8}, res[0].Repeats, 1e-9)
	assert.Contains(t, g.all()[0], `"logprobs":true`)
	assert.Equal(t, "true", j.Identity().Options["logprobs"])

	// At temperature 0, or judged once, the default stays on.
	for _, extra := range [][]string{{"repeat=3"}, {"temperature=0.7"}} {
		j := openPreset(t, sampledFake(t), PresetMiniCheck, extra...)
		assert.Equal(t, "true", j.Identity().Options["logprobs"], "%v", extra)
	}
}

func TestRepeatFailureFailsThePair(t *testing.T) {
	f := newRawFake(t, func(w http.ResponseWriter, n int) {
		if n == 2 {
			apiError(w, http.StatusBadRequest, "context too long")
			return
		}
		writeReply(w, "Yes", "stop", nil)
	})
	res, err := openPreset(t, f, PresetMiniCheck, "repeat=3").Score(context.Background(), []scorers.Pair{presetPair})
	require.NoError(t, err)
	require.Error(t, res[0].Err)
	assert.Contains(t, res[0].Err.Error(), "repeat 2 of 3")
	assert.Nil(t, res[0].Repeats)
	assert.Equal(t, &scorers.Usage{PromptTokens: 100, CompletionTokens: 7}, res[0].Usage)
}

type oneRecord struct{ rec *results.Record }

func (s *oneRecord) Next() (*results.Record, error) {
	if s.rec == nil {
		return nil, io.EOF
	}
	r := s.rec
	s.rec = nil
	return r, nil
}

// Through eval.Score, repeated verdicts land in the judgment: every score,
// the majority's as the score, and flipped when they disagree.
func TestRepeatInJudgment(t *testing.T) {
	for _, c := range []struct {
		reply   func(http.ResponseWriter, int)
		repeats []float64
		score   float64
		flipped bool
	}{
		{alternating, []float64{1, 0, 1}, 1, true},
		{func(w http.ResponseWriter, _ int) { writeReply(w, "No", "stop", nil) }, []float64{0, 0, 0}, 0, false},
	} {
		f := newRawFake(t, c.reply)
		j := openPreset(t, f, PresetMiniCheck, "repeat=3", "concurrency=1")
		rec := &results.Record{Schema: results.SchemaVersion, DocID: "d1", Model: "m", Source: presetPair.Source, Summary: presetPair.Summary}
		var got []*results.Record
		_, err := eval.Score(context.Background(), &oneRecord{rec}, func(r *results.Record) error { got = append(got, r); return nil },
			eval.ScoreConfig{Scorer: j, Concurrency: 1})
		require.NoError(t, err)
		require.Len(t, got, 1)
		jd := got[0].Judgment
		require.NotNil(t, jd)
		require.Nil(t, jd.Error)
		assert.Equal(t, c.repeats, jd.Repeats)
		assert.Equal(t, c.score, *jd.Score)
		assert.Equal(t, c.flipped, jd.Flipped)
		assert.Equal(t, "3", jd.Options["repeat"])
	}
}
