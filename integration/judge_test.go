package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers/judge"
)

// The judge presets against real Ollama: tiny models answer each
// checker's answer words, with a runner-up whose logit is set so that
// P(yes) is known before the server is asked. What is checked is what a
// fake server cannot show: that Ollama takes each preset's request, that
// its template receives the published messages unchanged, what it does
// with what it does not understand, and that its log-probabilities yield
// the designed P(yes).

// judgeCtx is the judge models' num_ctx: the checkers' prompts are mostly
// byte tokens to the tiny vocabulary, more than the shared 512.
const judgeCtx = 2048

var (
	// Bespoke-MiniCheck: "Yes" (supported), P(Yes) = 0.8.
	judgeMiniCheck = tinyModel{Name: "judge-minicheck", Answer: []string{"Yes"},
		Rival: "No", Margin: math.Log(0.8 / 0.2)}
	// Granite Guardian: "Yes" (the risk is present: not grounded),
	// P(Yes) = 0.7, so P(supported) = 0.3.
	judgeGranite = tinyModel{Name: "judge-granite", Answer: []string{"Yes"},
		Rival: "No", Margin: math.Log(0.7 / 0.3)}
	// Lynx: its JSON with "SCORE": "PASS", P(PASS) = 0.9.
	judgeLynx = tinyModel{Name: "judge-lynx", Answer: []string{
		`{"REASONING":Ġ["`, "TheĠanswerĠrestatesĠtheĠdocument.", `"],Ġ"SCORE":Ġ"`, "PASS", `"}`,
	}, Rival: "FAIL", RivalAt: 3, Margin: math.Log(0.9 / 0.1)}
)

// pYes is the designed probability of a model's answer word against its
// rival.
func pYes(m tinyModel) float64 { return 1 / (1 + math.Exp(-m.Margin)) }

// The design, checked without a server: from any token outside the answer
// the greedy path spells the answer, and at the verdict the two answer
// words share the probability as designed.
func TestJudgeTinyDesign(t *testing.T) {
	for _, m := range []tinyModel{judgeMiniCheck, judgeGranite, judgeLynx} {
		w, err := buildTiny(m, judgeCorpus())
		if err != nil {
			t.Fatal(err)
		}
		cur := w.ids["harbor"]
		var got []string
		for range len(m.Answer) + 1 {
			if len(got) == m.RivalAt {
				l := w.logits(cur)
				ans, riv := l[w.ids[m.Answer[m.RivalAt]]], l[w.ids[m.Rival]]
				if p := 1 / (1 + math.Exp(riv-ans)); math.Abs(p-pYes(m)) > 1e-4 {
					t.Errorf("%s: P(%s) = %.5f at the verdict, want %.5f", m.Name, m.Answer[m.RivalAt], p, pYes(m))
				}
				// After the rival the answer goes on as after the answer word.
				if a, r := w.next(w.ids[m.Answer[m.RivalAt]]), w.next(w.ids[m.Rival]); a != r {
					t.Errorf("%s: after the rival comes %q, after the answer word %q", m.Name, w.tokens[r], w.tokens[a])
				}
			}
			cur = w.next(cur)
			got = append(got, w.tokens[cur])
		}
		want := append(append([]string{}, m.Answer...), "<|im_end|>")
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: greedy output %q, want %q", m.Name, got, want)
		}
	}
}

func judgeCorpus() string { return strings.Join(words, " ") }

// judgeModels creates the judge models on the shared server for the
// test's duration: the other tests count what the server lists.
func judgeModels(t *testing.T) {
	t.Helper()
	for _, m := range []tinyModel{judgeMiniCheck, judgeGranite, judgeLynx} {
		if err := createModel(m, judgeCorpus(), judgeCtx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			rm := exec.Command(env.ollama, "rm", m.Name)
			rm.Env = ollamaEnv()
			if out, err := rm.CombinedOutput(); err != nil {
				t.Errorf("ollama rm %s: %v\n%s", m.Name, err, out)
			}
		})
	}
}

// createModel writes m and creates it on the server with context numCtx.
func createModel(m tinyModel, corpus string, numCtx int) error {
	gguf := filepath.Join(env.dir, m.Name+".gguf")
	if err := writeTinyGGUF(gguf, m, corpus); err != nil {
		return err
	}
	modelfile := filepath.Join(env.dir, m.Name+".Modelfile")
	if err := os.WriteFile(modelfile, fmt.Appendf(nil, "FROM %s\nPARAMETER num_ctx %d\n", gguf, numCtx), 0o644); err != nil {
		return err
	}
	create := exec.Command(env.ollama, "create", m.Name, "-f", modelfile)
	create.Env = ollamaEnv()
	if out, err := create.CombinedOutput(); err != nil {
		return fmt.Errorf("ollama create %s: %v\n%s", m.Name, err, out)
	}
	return nil
}

// judgeGenerations writes n generation records (source and summary) to
// judge, as `hallu generate` writes them.
func judgeGenerations(t *testing.T, n int) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range n {
		r := results.Record{
			Schema: results.SchemaVersion, DocID: fmt.Sprintf("j%02d", i),
			Source: document(uint64(100+i), 30), Model: tinyA.Name,
			Summary: fmt.Sprintf("The council %s the %s bridge yesterday morning.",
				words[25+i%8], words[i%20]),
			FinishReason: "stop",
		}
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "gen.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// exchange is one chat call as it went over the wire.
type exchange struct {
	status    int
	req, resp []byte
}

// recorder forwards to the server and keeps every chat-completion request
// and reply, bytes as sent.
type recorder struct {
	url string
	mu  sync.Mutex
	ex  []exchange
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+env.addr+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		// Our transport then asks for and undoes any compression itself.
		req.Header.Del("Accept-Encoding")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/chat/completions") {
			rec.mu.Lock()
			rec.ex = append(rec.ex, exchange{status: resp.StatusCode, req: body, resp: out})
			rec.mu.Unlock()
		}
		for k, v := range resp.Header {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	rec.url = srv.URL + "/v1"
	return rec
}

func (r *recorder) exchanges() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.ex...)
}

// chatRequest and chatReply are the parts of the wire format checked here.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Temperature        *float64        `json:"temperature"`
	Logprobs           bool            `json:"logprobs"`
	TopLogprobs        int             `json:"top_logprobs"`
	ChatTemplateKwargs json.RawMessage `json:"chat_template_kwargs"`
}

type chatReply struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		Logprobs *struct {
			Content []struct {
				Token       string  `json:"token"`
				Logprob     float64 `json:"logprob"`
				TopLogprobs []struct {
					Token   string  `json:"token"`
					Logprob float64 `json:"logprob"`
				} `json:"top_logprobs"`
			} `json:"content"`
		} `json:"logprobs"`
	} `json:"choices"`
	DebugInfo *struct {
		RenderedTemplate string `json:"rendered_template"`
	} `json:"_debug_info"`
}

func decodeJSON[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// rendered asks the server for the prompt its template makes of body,
// without running the model.
func rendered(t *testing.T, body []byte) string {
	t.Helper()
	m := decodeJSON[map[string]any](t, body)
	m["_debug_render_only"] = true
	b, _ := json.Marshal(m)
	resp, err := http.Post("http://"+env.addr+"/v1/chat/completions", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	r := decodeJSON[chatReply](t, out)
	if resp.StatusCode != http.StatusOK || r.DebugInfo == nil {
		t.Fatalf("render: %s: %s", resp.Status, out)
	}
	return r.DebugInfo.RenderedTemplate
}

// chatML is the prompt Ollama's ChatML template (the tiny models') makes
// of messages: every message, whatever its role, then the assistant's turn.
func chatML(req chatRequest) string {
	var b strings.Builder
	for _, m := range req.Messages {
		fmt.Fprintf(&b, "<|im_start|>%s\n%s<|im_end|>\n", m.Role, m.Content)
	}
	return b.String() + "<|im_start|>assistant\n"
}

// scoreWith runs hallu score with the judge scorer and opts on gen, through
// a recorder, and returns the judged records and the chat calls.
func scoreWith(t *testing.T, gen string, opts ...string) ([]results.Record, []exchange) {
	t.Helper()
	rec := newRecorder(t)
	out := filepath.Join(t.TempDir(), "judged.jsonl")
	args := []string{"score", "--scorer", "judge", "--in", gen, "--out", out, "--scorer-opt", "endpoint=" + rec.url}
	for _, o := range opts {
		args = append(args, "--scorer-opt", o)
	}
	if r := hallu(t, args...); r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	return readRecords(t, out), rec.exchanges()
}

func TestJudgePresets(t *testing.T) {
	needServer(t)
	judgeModels(t)
	const docs = 3
	gen := judgeGenerations(t, docs)
	cases := []struct {
		preset    string
		model     tinyModel
		supported bool    // the verdict the model's answer means
		score     float64 // P(supported) by design
	}{
		{judge.PresetMiniCheck, judgeMiniCheck, true, pYes(judgeMiniCheck)},
		{judge.PresetGranite, judgeGranite, false, 1 - pYes(judgeGranite)},
		{judge.PresetGraniteHF, judgeGranite, false, 1 - pYes(judgeGranite)},
		{judge.PresetLynx, judgeLynx, true, pYes(judgeLynx)},
	}
	for _, c := range cases {
		t.Run(c.preset, func(t *testing.T) {
			verdict := "unsupported"
			if c.supported {
				verdict = "supported"
			}
			word := c.model.Answer[c.model.RivalAt]
			t.Run("logprobs", func(t *testing.T) {
				recs, calls := scoreWith(t, gen, "preset="+c.preset, "model="+c.model.Name)
				checkJudged(t, recs, docs, 1, func(t *testing.T, j *results.Judgment) {
					if math.Abs(*j.Score-c.score) > 1e-3 {
						t.Errorf("score %.5f, want P(supported) %.5f", *j.Score, c.score)
					}
					if want := fmt.Sprintf("%s: %s (%s), P(supported)=%.3f from log-probabilities", c.preset, verdict, word, c.score); !strings.HasPrefix(j.Explanation, want) {
						t.Errorf("explanation %q, want it to start %q", j.Explanation, want)
					}
				})
				checkCalls(t, c.preset, c.model, calls, docs, true)
			})
			t.Run("nologprobs", func(t *testing.T) {
				recs, calls := scoreWith(t, gen, "preset="+c.preset, "model="+c.model.Name, "logprobs=false")
				want := 0.0
				if c.supported {
					want = 1
				}
				checkJudged(t, recs, docs, 1, func(t *testing.T, j *results.Judgment) {
					if *j.Score != want || !strings.Contains(j.Explanation, "score from the verdict (no log-probabilities)") {
						t.Errorf("score %v (%s), want %v from the verdict", *j.Score, j.Explanation, want)
					}
				})
				checkCalls(t, c.preset, c.model, calls, docs, false)
			})
		})
	}
}

// checkJudged asserts one scored judgment per document, no scorer error,
// and the prompt of each of its calls within the model's context; check
// looks at each.
func checkJudged(t *testing.T, recs []results.Record, docs, calls int, check func(*testing.T, *results.Judgment)) {
	t.Helper()
	if len(recs) != docs {
		t.Fatalf("%d records, want %d", len(recs), docs)
	}
	for _, r := range recs {
		j := r.Judgment
		switch {
		case j == nil:
			t.Errorf("document %s: not judged", r.DocID)
			continue
		case j.Error != nil:
			t.Errorf("document %s: scorer error %s: %s", r.DocID, j.Error.Class, j.Error.Message)
			continue
		case j.Score == nil:
			t.Errorf("document %s: no score", r.DocID)
			continue
		}
		// The usage sums the calls, each with the same prompt.
		if j.Usage == nil || j.Usage.PromptTokens <= 0 || j.Usage.PromptTokens%calls != 0 || j.Usage.PromptTokens/calls >= judgeCtx {
			t.Errorf("document %s: usage %+v for %d calls, want each call's prompt within the context %d", r.DocID, j.Usage, calls, judgeCtx)
		}
		t.Logf("document %s: score %.5f, %s", r.DocID, *j.Score, j.Explanation)
		check(t, j)
	}
}

// checkCalls asserts that every chat call was answered with the model's
// designed reply and, when asked, its log-probabilities; and that Ollama's
// template received the preset's messages unchanged.
func checkCalls(t *testing.T, preset string, m tinyModel, calls []exchange, docs int, logprobs bool) {
	t.Helper()
	if len(calls) != docs {
		t.Errorf("%d chat calls for %d documents, want one each (an unreadable reply is asked again)", len(calls), docs)
	}
	for i, c := range calls {
		req := decodeJSON[chatRequest](t, c.req)
		if c.status != http.StatusOK {
			t.Errorf("call %d: status %d: %s", i, c.status, c.resp)
			continue
		}
		if req.Logprobs != logprobs {
			t.Errorf("call %d: logprobs %v sent, want %v", i, req.Logprobs, logprobs)
		}
		reply := decodeJSON[chatReply](t, c.resp)
		if len(reply.Choices) != 1 {
			t.Fatalf("call %d: %d choices", i, len(reply.Choices))
		}
		ch := reply.Choices[0]
		if ch.Message.Content != m.answerText() {
			t.Errorf("call %d: reply %q, want %q", i, ch.Message.Content, m.answerText())
		}
		if !logprobs {
			if ch.Logprobs != nil {
				t.Errorf("call %d: log-probabilities returned though not asked for", i)
			}
			continue
		}
		if ch.Logprobs == nil || len(ch.Logprobs.Content) != len(m.Answer) {
			t.Errorf("call %d: logprobs %+v, want one entry per answer token (%d)", i, ch.Logprobs, len(m.Answer))
			continue
		}
		at := ch.Logprobs.Content[m.RivalAt]
		var rival *float64
		for _, alt := range at.TopLogprobs {
			if alt.Token == m.Rival {
				rival = &alt.Logprob
			}
		}
		if i == 0 {
			t.Logf("%s: verdict token %q logprob %.5f, top_logprobs %+v", preset, at.Token, at.Logprob, at.TopLogprobs)
		}
		if at.Token != m.Answer[m.RivalAt] || rival == nil || len(at.TopLogprobs) != req.TopLogprobs {
			t.Errorf("call %d: verdict token %q with %d alternatives %+v, want %q with %q among %d", i, at.Token,
				len(at.TopLogprobs), at.TopLogprobs, m.Answer[m.RivalAt], m.Rival, req.TopLogprobs)
		} else if p := math.Exp(at.Logprob) / (math.Exp(at.Logprob) + math.Exp(*rival)); math.Abs(p-pYes(m)) > 1e-3 {
			t.Errorf("call %d: P(%s) from the server's log-probabilities %.5f, want %.5f", i, at.Token, p, pYes(m))
		}
	}
	if len(calls) == 0 {
		return
	}
	// The template's view of the first request: every message with its
	// role and bytes as the preset sent them.
	req := decodeJSON[chatRequest](t, calls[0].req)
	got := rendered(t, calls[0].req)
	if want := chatML(req); got != want {
		t.Errorf("the template received other messages than were sent:\n got %q\nwant %q", got, want)
	}
	if preset == judge.PresetGraniteHF {
		// Sent, but Ollama's request type has no such field and its
		// templates are Go templates: the risk name never reaches the
		// model.
		if !bytes.Contains(req.ChatTemplateKwargs, []byte(`"groundedness"`)) {
			t.Errorf("chat_template_kwargs %s sent, want the groundedness risk", req.ChatTemplateKwargs)
		}
		if strings.Contains(got, "groundedness") {
			t.Errorf("Ollama rendered the risk name from chat_template_kwargs; update docs/scorers.md:\n%s", got)
		}
	}
}

// checkAsked asserts whether every call asked for log-probabilities.
func checkAsked(t *testing.T, calls []exchange, logprobs bool) {
	t.Helper()
	for i, c := range calls {
		if req := decodeJSON[chatRequest](t, c.req); req.Logprobs != logprobs {
			t.Fatalf("call %d: logprobs %v sent, want %v", i, req.Logprobs, logprobs)
		}
	}
}

// judgeWords is the share of chat replies per answer word.
func judgeWords(t *testing.T, calls []exchange) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, c := range calls {
		r := decodeJSON[chatReply](t, c.resp)
		if len(r.Choices) > 0 {
			n[r.Choices[0].Message.Content]++
		}
	}
	return n
}

// repeat=k on Ollama: at temperature 0 the k verdicts agree; at
// temperature 1 the sampled answer words vary, but the log-probabilities
// are the model's own, before temperature, so with them (logprobs=true)
// every repeat scores the same P(yes); by default sampled repeats do
// without them and score the sampled verdicts, which flip.
func TestJudgeRepeat(t *testing.T) {
	needServer(t)
	judgeModels(t)
	m := judgeMiniCheck
	p := pYes(m)
	base := []string{"preset=" + judge.PresetMiniCheck, "model=" + m.Name}

	t.Run("temperature0", func(t *testing.T) {
		const docs, k = 3, 3
		recs, calls := scoreWith(t, judgeGenerations(t, docs), slices.Concat(base, []string{"repeat=3"})...)
		checkJudged(t, recs, docs, k, func(t *testing.T, j *results.Judgment) {
			if len(j.Repeats) != k || j.Flipped {
				t.Errorf("repeats %v flipped %v, want %d agreeing", j.Repeats, j.Flipped, k)
			}
			for _, s := range j.Repeats {
				if math.Abs(s-p) > 1e-3 {
					t.Errorf("repeat score %.5f, want %.5f", s, p)
				}
			}
		})
		if words := judgeWords(t, calls); words[m.answerText()] != docs*k {
			t.Errorf("replies %v, want %q from all %d calls", words, m.answerText(), docs*k)
		}
	})

	// P(yes) = 0.8 and 7 repeats: a document's verdicts all agree with
	// probability 0.8^7 + 0.2^7 ≈ 0.21, so none of 10 flipping has odds
	// of about 1 in 6 million.
	const docs, k = 10, 7
	gen := judgeGenerations(t, docs)
	hot := slices.Concat(base, []string{"repeat=7", "temperature=1"})

	t.Run("temperature1-logprobs", func(t *testing.T) {
		recs, calls := scoreWith(t, gen, slices.Concat(hot, []string{"logprobs=true"})...)
		checkJudged(t, recs, docs, k, func(t *testing.T, j *results.Judgment) {
			if len(j.Repeats) != k || j.Flipped {
				t.Errorf("repeats %v flipped %v, want %d equal scores", j.Repeats, j.Flipped, k)
			}
			for _, s := range j.Repeats {
				if math.Abs(s-p) > 1e-3 {
					t.Errorf("repeat score %.5f, want P(yes) %.5f whichever word was sampled", s, p)
				}
			}
		})
		checkAsked(t, calls, true)
		words := judgeWords(t, calls)
		t.Logf("temperature 1 with logprobs: replies %v of %d calls", words, docs*k)
		if words["No"] == 0 || words["Yes"] == 0 {
			t.Errorf("replies %v: temperature 1 with log-probabilities should sample both words", words)
		}
	})

	t.Run("temperature1-default", func(t *testing.T) {
		recs, calls := scoreWith(t, gen, hot...)
		flipped, yes := 0, 0
		checkJudged(t, recs, docs, k, func(t *testing.T, j *results.Judgment) {
			if len(j.Repeats) != k {
				t.Errorf("repeats %v, want %d", j.Repeats, k)
			}
			n := 0
			for _, s := range j.Repeats {
				if s != 0 && s != 1 {
					t.Errorf("repeat score %v, want 1 or 0 without log-probabilities", s)
				}
				if s == 1 {
					n++
				}
			}
			yes += n
			if j.Flipped != (n != 0 && n != k) {
				t.Errorf("flipped %v for repeats %v", j.Flipped, j.Repeats)
			}
			if j.Flipped {
				flipped++
			}
		})
		checkAsked(t, calls, false)
		t.Logf("temperature 1, logprobs by default off: %d of %d verdicts Yes (design %.2f), %d of %d documents flipped; replies %v",
			yes, docs*k, p, flipped, docs, judgeWords(t, calls))
		if flipped == 0 {
			t.Errorf("no document flipped in %d repeats at temperature 1 with P(yes) %.2f", k, p)
		}
		if 2*yes < docs*k {
			t.Errorf("%d of %d verdicts Yes, want about %.0f%%", yes, docs*k, 100*p)
		}
	})
}
